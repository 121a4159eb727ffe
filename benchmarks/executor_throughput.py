"""Replications per second of the baseline (365 d) on each executor: serial, processes, Dask.

    python benchmarks/executor_throughput.py            # 20 and 200 replications
    FUNNELSIM_THROUGHPUT_2000=1 python benchmarks/...    # also 2,000 (about 10 minutes on 2 cores)

"dask (new cluster)" starts a LocalCluster inside the run, as `--executor dask` does without an
address; "dask (running cluster)" submits to one started beforehand (`--dask-address`).
"""

from __future__ import annotations

import os
import time

import funnelsim
from funnelsim.experiment.executors import default_workers


def measure(reps: int, executor: str, address: str | None = None) -> float:
    scenario = funnelsim.load_scenario("baseline")
    started = time.perf_counter()
    funnelsim.run(scenario, reps=reps, executor=executor, dask_address=address, timeseries_step_hours=None)
    return reps / (time.perf_counter() - started)


def main() -> None:
    from dask.distributed import Client, LocalCluster

    sizes = [20, 200] + ([2000] if os.environ.get("FUNNELSIM_THROUGHPUT_2000") else [])
    workers = default_workers()
    print(f"baseline, 365 d horizon; {workers} cores; replications per second (higher is better)\n")
    print("| replications | serial | processes | dask (new cluster) | dask (running cluster) |")
    print("|---:|---:|---:|---:|---:|")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True) as cluster, Client(cluster):
        for reps in sizes:
            row = [
                measure(reps, "serial"),
                measure(reps, "processes"),
                measure(reps, "dask"),
                measure(reps, "dask", cluster.scheduler_address),
            ]
            print(f"| {reps:,} | " + " | ".join(f"{r:.1f}" for r in row) + " |", flush=True)


if __name__ == "__main__":
    main()
