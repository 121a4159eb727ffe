"""Calibrate a scenario from a CRM export, and backtest it against what happened next.

`calibrate(...)` reads a lead table, fits every figure it can (each with its source and
interval) and returns a scenario as data; `backtest(...)` runs a scenario over a later period.
"""
