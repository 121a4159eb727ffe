"""Points of a decision run (a scenario at one setting), computed in one batch and stored for resuming.

A point is a resolved scenario, a seed and a number of replications; its key hashes those and
the funnelsim version, so the same point is never simulated twice across commands.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from funnelsim import metrics
from funnelsim._version import __version__
from funnelsim.capacity import overload_warnings
from funnelsim.experiment.executors import ExecutorName, run_tasks
from funnelsim.experiment.runner import (
    ReplicationOutput,
    RunResult,
    replication_seeds,
    replication_table,
    run_replication,
)
from funnelsim.scenario.schema import Scenario

DEFAULT_STORE = Path("results") / "points"


def point_key(scenario: Scenario, seed: int, reps: int, extra: Mapping[str, Any] | None = None) -> str:
    """A short hash of the resolved scenario, seed, replications and funnelsim version."""
    payload = {
        "scenario": scenario.model_dump(mode="json"),
        "seed": seed,
        "reps": reps,
        "version": __version__,
        "extra": dict(extra or {}),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class Job:
    """Replications first..first+reps-1 of one scenario with one seed."""

    scenario: Scenario
    seed: int
    reps: int
    first: int = 0
    timeseries_step_hours: float | None = None


def result_from_table(scenario: Scenario, seed: int, replications: pd.DataFrame) -> RunResult:
    """A point's result from its replications, with the capacity warnings a run would carry."""
    ok = replications[replications["error"].isna()]
    summary = metrics.summarise(ok)
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=replications,
        summary=summary,
        overloads=overload_warnings(scenario, summary),
    )


@dataclass
class ExecutorOptions:
    """Where the replications of a command run (one pool for the whole batch)."""

    executor: ExecutorName = "processes"
    workers: int | None = None
    dask_address: str | None = None


def run_jobs(
    jobs: Sequence[Job],
    options: ExecutorOptions | None = None,
    progress: Callable[[int], None] | None = None,
    on_done: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Run every replication of every job through one executor; `on_done(j, result)` as each job completes.

    A job's result holds only its own replications (first..first+reps-1).
    """
    options = options or ExecutorOptions()
    if not jobs:
        return []
    arguments: list[tuple] = []
    owner: list[int] = []
    for j, job in enumerate(jobs):
        seeds = replication_seeds(job.seed, job.first + job.reps)
        for i in range(job.first, job.first + job.reps):
            arguments.append((job.scenario, seeds[i], i, False, job.timeseries_step_hours))
            owner.append(j)
    outputs: list[list[ReplicationOutput]] = [[] for _ in jobs]
    results: list[RunResult | None] = [None] * len(jobs)
    for index, output in run_tasks(run_replication, arguments, options.executor, options.workers, options.dask_address):
        j = owner[index]
        outputs[j].append(output)
        if len(outputs[j]) == jobs[j].reps:
            job = jobs[j]
            finished = result_from_table(job.scenario, job.seed, replication_table(outputs[j], job.seed))
            series = [o.timeseries for o in sorted(outputs[j], key=lambda o: o.index) if o.timeseries is not None]
            finished.timeseries = pd.concat(series, ignore_index=True) if series else None
            results[j] = finished
            if on_done is not None:
                on_done(j, finished)
        if progress is not None:
            progress(1)
    return [r for r in results if r is not None]


def merge(first: RunResult, more: RunResult) -> RunResult:
    """One result from two runs of the same scenario and seed over disjoint replications."""
    table = pd.concat([first.replications, more.replications], ignore_index=True).sort_values("replication")
    merged = result_from_table(first.scenario, first.seed, table.reset_index(drop=True))
    series = [r.timeseries for r in (first, more) if r.timeseries is not None]
    merged.timeseries = pd.concat(series, ignore_index=True) if series else None
    return merged


@dataclass
class PointStore:
    """Finished points on disk, one parquet file of replications per key; written atomically."""

    folder: Path | None = DEFAULT_STORE
    computed: int = 0
    reused: int = 0
    keys: list[str] = field(default_factory=list)

    def path(self, key: str) -> Path | None:
        return None if self.folder is None else Path(self.folder) / f"{key}.parquet"

    def load(self, key: str, scenario: Scenario, seed: int) -> RunResult | None:
        path = self.path(key)
        if path is None or not path.is_file():
            return None
        try:
            table = pd.read_parquet(path)
        except Exception:  # a damaged file is recomputed, not trusted
            return None
        table["error"] = table["error"].astype(object)
        return result_from_table(scenario, seed, table)

    def save(self, key: str, result: RunResult) -> None:
        path = self.path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".partial", dir=path.parent)
        os.close(handle)
        try:
            result.replications.to_parquet(tmp, index=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def run_points(
    scenarios: Sequence[Scenario],
    reps: int,
    seed: int,
    store: PointStore | None = None,
    options: ExecutorOptions | None = None,
    progress: Callable[[int], None] | None = None,
    key_extra: Mapping[str, Any] | None = None,
) -> list[RunResult]:
    """Each scenario at `reps` replications: stored points are read back, the rest run in one batch.

    Each point is saved the moment its last replication finishes, so an interrupted batch keeps
    every point it completed.
    """
    store = store if store is not None else PointStore(None)
    keys = [point_key(s, seed, reps, key_extra) for s in scenarios]
    results: list[RunResult | None] = [store.load(k, s, seed) for k, s in zip(keys, scenarios)]
    missing = [i for i, r in enumerate(results) if r is None]
    store.reused += len(scenarios) - len(missing)
    if progress is not None and len(scenarios) > len(missing):
        progress((len(scenarios) - len(missing)) * reps)

    def done(j: int, result: RunResult) -> None:
        i = missing[j]
        results[i] = result
        if not len(result.failed):  # a point with failed replications is not worth resuming from
            store.save(keys[i], result)
        store.computed += 1

    run_jobs([Job(scenarios[i], seed, reps) for i in missing], options, progress, done)
    store.keys.extend(keys)
    return [r for r in results if r is not None]
