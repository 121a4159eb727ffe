"""Many replications of a scenario, comparisons with common random numbers, and sweeps.

Replication i of a run with seed S uses child i of SeedSequence(S); two scenarios run with
the same seed therefore share their arrivals, which makes paired differences tight. The result
classes are in experiment/results.py and the size guard in experiment/size.py (both re-exported).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from funnelsim import metrics
from funnelsim.capacity import overload_warnings
from funnelsim.chart_tables import TABLES, chart_tables
from funnelsim.experiment.executors import ExecutorName, Lost, check_executor, one_pool, run_tasks
from funnelsim.experiment.results import CompareResult, ReplicationOutput, RunResult, SweepResult
from funnelsim.experiment.size import TooMuchWork, WorkEstimate, check_size, check_sizes, estimate_work
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario

__all__ = [
    "DEFAULT_REPS",
    "DEFAULT_SEED",
    "CompareResult",
    "ReplicationOutput",
    "RunResult",
    "SweepResult",
    "TooMuchWork",
    "WorkEstimate",
    "check_size",
    "check_sizes",
    "compare",
    "estimate_work",
    "replication_seeds",
    "replication_table",
    "result_from_outputs",
    "run",
    "run_replication",
    "run_scenario",
    "sweep",
]

DEFAULT_REPS = 20
DEFAULT_SEED = 20260105
SUMMARY_COLUMNS = ("metric", "mean", "ci_low", "ci_high", "std", "n")


def replication_seeds(seed: int, reps: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(seed).spawn(reps)


def run_replication(
    scenario: Scenario,
    seed: np.random.SeedSequence,
    index: int,
    keep_leads: bool = False,
    timeseries_step_hours: float | None = 1.0,
) -> ReplicationOutput:
    """Simulate one replication and reduce it to figures (records are dropped unless kept)."""
    started = time.perf_counter()
    try:
        records = simulate(scenario, seed)
        figures = metrics.figures(records, scenario)
        series = None
        if timeseries_step_hours:
            series = metrics.timeseries(records, timeseries_step_hours)
            series.insert(0, "replication", np.int32(index))
        leads = records.leads_frame(index) if keep_leads else None
        tables = chart_tables(records, scenario, index)
        return ReplicationOutput(
            index, figures, time.perf_counter() - started, records.events, series, leads, tables=tables
        )
    except Exception:  # a failed replication is recorded, not a lost batch
        return ReplicationOutput(index, {}, time.perf_counter() - started, 0, error=traceback.format_exc(limit=8))


def run_scenario(
    scenario: Scenario | str | Path | Mapping[str, Any] | None, overrides: Iterable[str] | Mapping[str, Any] = ()
) -> Scenario:
    """The scenario a run is given, loaded with its overrides if it is not loaded yet."""
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, overrides)
    if overrides:
        raise ValueError("overrides apply to a scenario file or mapping, not to a loaded Scenario")
    return scenario


def run(
    scenario: Scenario | str | Path | Mapping[str, Any] | None = None,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    *,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    workers: int | None = None,
    executor: ExecutorName = "processes",
    dask_address: str | None = None,
    keep_leads: bool = False,
    timeseries_step_hours: float | None = 1.0,
    allow_large: bool = False,
    progress: Callable[[int], None] | None = None,
    size_checked: bool = False,
) -> RunResult:
    """Run `reps` replications and summarise every figure with a 95% confidence interval.

    `size_checked`: the caller has already run `check_size` for its whole command (the CLI does,
    before it claims the output folder), so it is not run again here."""
    scenario = run_scenario(scenario, overrides)
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    if not size_checked:
        check_size(scenario, reps, allow_large)
    check_executor(getattr(executor, "value", executor), dask_address)
    started = time.perf_counter()
    seeds = replication_seeds(seed, reps)
    arguments = [(scenario, seeds[i], i, keep_leads, timeseries_step_hours) for i in range(reps)]
    outputs: list[ReplicationOutput | None] = [None] * reps
    notes: list[str] = []
    for index, output in run_tasks(run_replication, arguments, executor, workers, dask_address, notes):
        outputs[index] = (
            ReplicationOutput(index, {}, 0.0, 0, error=output.reason) if isinstance(output, Lost) else output
        )
        if progress is not None:
            progress(1)
    done = [o for o in outputs if o is not None]
    result = result_from_outputs(scenario, seed, done, notes)
    result.timings["wall_seconds"] = time.perf_counter() - started
    return result


def result_from_outputs(
    scenario: Scenario, seed: int, outputs: Sequence[ReplicationOutput], notes: Sequence[str] = ()
) -> RunResult:
    """The result of finished replications: figures, summary, and the capacity warnings (a run
    whose replications all failed has an empty summary and still gets its result)."""
    replications = replication_table(outputs, seed)
    succeeded = replications[replications["error"].isna()]
    summary = metrics.summarise(succeeded) if len(succeeded) else pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=replications,
        summary=summary,
        overloads=overload_warnings(scenario, summary) if len(succeeded) else [],
        notes=list(notes),
        timeseries=_concat([o.timeseries for o in outputs]),
        leads=_concat([o.leads for o in outputs]),
        tables={name: t for name in TABLES if (t := _concat([o.tables.get(name) for o in outputs])) is not None},
        timings={"replication_seconds_total": float(sum(o.seconds for o in outputs))},
    )


def replication_table(outputs: Sequence[ReplicationOutput], seed: int) -> pd.DataFrame:
    """The table of replications: one row each (in replication order), figures plus bookkeeping columns."""
    rows = []
    for o in sorted(outputs, key=lambda o: o.index):
        row: dict[str, Any] = {"replication": o.index, "seed": seed}
        row.update(o.figures)
        row.update({"events": o.events, "seconds": o.seconds, "error": o.error})
        rows.append(row)
    table = pd.DataFrame(rows)
    table["error"] = table["error"].astype(object)
    return table


def _concat(frames: Sequence[pd.DataFrame | None]) -> pd.DataFrame | None:
    present = [f for f in frames if f is not None]
    return pd.concat(present, ignore_index=True) if present else None


def compare(
    scenarios: Sequence[Scenario | str | Path | Mapping[str, Any]],
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    **options: Any,
) -> CompareResult:
    """Run each scenario with the same seeds (common random numbers) and pair the differences.

    The size guard counts the replications of all of them together."""
    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios")
    overrides = options.pop("overrides", ())
    loaded = [run_scenario(s, overrides) for s in scenarios]
    if not options.pop("size_checked", False):
        check_sizes(loaded, reps, options.get("allow_large", False))
    with one_pool(
        options.get("executor", "processes"), options.get("workers"), options.get("dask_address")
    ):  # one pool for every scenario
        results = [run(s, reps, seed, size_checked=True, **options) for s in loaded]
    _unique_names(results)
    base = results[0]
    differences = {
        r.scenario.name: metrics.paired_difference(
            base.replications[base.replications["error"].isna()], r.replications[r.replications["error"].isna()]
        )
        for r in results[1:]
    }
    return CompareResult(results, differences)


def _unique_names(results: Sequence[RunResult]) -> None:
    seen: dict[str, int] = {}
    for r in results:
        name = r.scenario.name
        if name in seen:
            seen[name] += 1
            r.scenario = r.scenario.model_copy(update={"name": f"{name}#{seen[name]}"})
        else:
            seen[name] = 1


def sweep(
    source: str | Path | Mapping[str, Any] | None,
    key: str,
    values: Sequence[Any],
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    **options: Any,
) -> SweepResult:
    """Run the scenario once per value of the dotted `key`, all with the same seeds."""
    if not values:
        raise ValueError("sweep needs at least one value")
    base = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides)
    results = []
    for value in values:
        if isinstance(overrides, Mapping):
            these: Any = dict(overrides) | {key: value}
        else:
            these = [*base, f"{key}={value}"]
        results.append(run(load_scenario(source, these), reps, seed, **options))
    return SweepResult(key, list(values), results)
