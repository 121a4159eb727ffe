"""Replications, common random numbers, comparisons, sweeps and executors."""
