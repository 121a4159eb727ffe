"""Many replications of a scenario, comparisons with common random numbers, and sweeps.

Replication i of a run with seed S uses child i of SeedSequence(S); two scenarios run with
the same seed therefore share their arrivals, which makes paired differences tight.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from funnelsim import metrics
from funnelsim.capacity import Overload, overload_warnings
from funnelsim.chart_tables import TABLES, chart_tables
from funnelsim.experiment.display import display_of, text_of
from funnelsim.experiment.executors import ExecutorName, Lost, check_executor, one_pool, run_tasks
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario

DEFAULT_REPS = 20
DEFAULT_SEED = 20260105
MAX_LEADS_WITHOUT_FLAG = 50_000_000
SUMMARY_COLUMNS = ("metric", "mean", "ci_low", "ci_high", "std", "n")


class TooMuchWork(ValueError):
    """A run would simulate more leads than is sensible without asking for it explicitly."""


@dataclass
class ReplicationOutput:
    """What one replication sends back to the parent process."""

    index: int
    figures: dict[str, float]
    seconds: float
    events: int
    timeseries: pd.DataFrame | None = None
    leads: pd.DataFrame | None = None
    error: str | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class RunResult:
    """The outcome of `run`: one row per replication, a summary, and optional tables."""

    scenario: Scenario
    seed: int
    replications: pd.DataFrame
    summary: pd.DataFrame
    timeseries: pd.DataFrame | None = None
    leads: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)
    overloads: list[Overload] = field(default_factory=list)  # resources that cannot keep up

    @property
    def warnings(self) -> list[str]:
        """One sentence per resource that cannot keep up (its load and what would make it stable),
        and one if more than 1% of the window's leads are censored."""
        censored = metrics.censoring_warning(self.summary, self.scenario.follow_up_hours)
        return [o.message for o in self.overloads] + ([censored] if censored else [])

    @property
    def overloaded(self) -> list[str]:
        """Names of the resources that cannot keep up ("SDR desk", "AE pipeline")."""
        return [o.resource for o in self.overloads if o.overloaded]

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # chart_tables.TABLES, with a replication column
    notes: list[str] = field(default_factory=list)  # e.g. replications rerun after a worker died

    @property
    def failed(self) -> pd.DataFrame:
        return self.replications[self.replications["error"].notna()]

    def figure(self, name: str) -> tuple[float, float, float]:
        """(mean, ci_low, ci_high) of one metric."""
        table = self.summary.set_index("metric")
        return float(table["mean"][name]), float(table["ci_low"][name]), float(table["ci_high"][name])

    # Notebook display, charts and saving are the report layer's (report/notebook.py; see experiment/display.py).
    def __repr__(self) -> str:
        return text_of(self)

    def _repr_html_(self) -> str:
        return display_of(self).html(self)

    def plot(self, kind: str = "funnel") -> Any:
        """A run chart as a matplotlib Figure: funnel, speed_to_lead, conversion_by_delay, capacity_*, revenue."""
        return display_of(self).plot(self, kind)

    def save(self, folder: str | Path, charts: bool = True) -> Path:
        """Write the results folder (as `funnelsim run` does)."""
        return display_of(self).save(self, folder, charts)


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


BYTES_PER_LEAD = 400  # measured ~340 at 1M leads (docs/performance.md), with headroom
BYTES_PER_HORIZON_HOUR = 64  # arrival bins: local hour, weekday, offset, rates, counts
BYTES_PER_CHANNEL_HOUR = 24
BYTES_PER_CALENDAR_DAY = 200  # open intervals as Python floats, per calendar
MAX_MEMORY_MB_WITHOUT_FLAG = 4_000  # per replication (each runs in one worker)


@dataclass(frozen=True)
class WorkEstimate:
    """What a run is expected to cost: leads, contact attempts (at most), memory, replications."""

    leads_per_replication: float
    attempts_per_replication: float
    horizon_hours: float
    memory_mb_per_replication: float
    reps: int

    @property
    def leads(self) -> float:
        return self.leads_per_replication * self.reps

    def describe(self) -> str:
        return (
            f"about {self.leads:,.0f} leads in all ({self.leads_per_replication:,.0f} per replication x "
            f"{self.reps} replications), up to {self.attempts_per_replication:,.0f} contact attempts and about "
            f"{self.memory_mb_per_replication:,.0f} MB per replication over a {self.horizon_hours:,.0f} h horizon"
        )


def estimate_work(scenario: Scenario, reps: int) -> WorkEstimate:
    """The size guard's estimate (bursts count only inside the horizon)."""
    leads = scenario.expected_leads()
    hours = scenario.horizon
    memory = (
        leads * BYTES_PER_LEAD
        + hours * (BYTES_PER_HORIZON_HOUR + BYTES_PER_CHANNEL_HOUR * len(scenario.channels))
        + 2 * (hours / 24 + 64) * BYTES_PER_CALENDAR_DAY
    )
    return WorkEstimate(leads, leads * len(scenario.sales.sdr.attempts), hours, memory / 1e6, reps)


def check_size(scenario: Scenario, reps: int, allow_large: bool = False) -> float:
    """Refuse runs over MAX_LEADS_WITHOUT_FLAG leads in all, or MAX_MEMORY_MB_WITHOUT_FLAG per
    replication, unless `allow_large`; an estimate that is not a finite number is always refused.
    Returns the estimated number of leads."""
    work = estimate_work(scenario, reps)
    figures = (work.leads, work.memory_mb_per_replication, work.attempts_per_replication)
    if not all(math.isfinite(f) for f in figures):
        raise TooMuchWork(f"{scenario.name}: the size of this run cannot be estimated ({work.describe()})")
    too_big = work.leads > MAX_LEADS_WITHOUT_FLAG or work.memory_mb_per_replication > MAX_MEMORY_MB_WITHOUT_FLAG
    if too_big and not allow_large:
        raise TooMuchWork(
            f"{scenario.name}: this run would simulate {work.describe()}; the limits without --allow-large are "
            f"{MAX_LEADS_WITHOUT_FLAG:,} leads in all and {MAX_MEMORY_MB_WITHOUT_FLAG:,} MB per replication; "
            "pass --allow-large (allow_large=True) if you mean it"
        )
    return work.leads


def check_sizes(scenarios: Sequence[Scenario], reps: int, allow_large: bool = False) -> None:
    """The size guard over the scenarios of one command, each counted with all their replications."""
    for scenario in scenarios:
        check_size(scenario, reps * len(scenarios), allow_large)


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


@dataclass
class CompareResult:
    """Several scenarios run with the same seeds; differences are paired against the first."""

    results: list[RunResult]
    differences: dict[str, pd.DataFrame]  # scenario name -> paired difference vs the first

    def __repr__(self) -> str:
        return text_of(self)

    def _repr_html_(self) -> str:
        return display_of(self).html(self)

    def plot(self, kind: str = "comparison", metrics: Sequence[str] | None = None) -> Any:
        """Each variant's paired difference from the first, per metric (default: the headline set)."""
        return display_of(self).plot(self, kind, metrics)

    def save(self, folder: str | Path, metrics: Sequence[str] | None = None) -> Path:
        """Write the comparison folder (as `funnelsim compare` does)."""
        return display_of(self).save(self, folder, metrics)

    @property
    def names(self) -> list[str]:
        return [r.scenario.name for r in self.results]

    def table(self, metrics: Sequence[str]) -> pd.DataFrame:
        """comparison.csv: one row a metric; the reference's mean, then per variant its mean, the
        paired difference from the reference (`<variant> - <reference>`) and its 95% interval."""
        reference = self.results[0].scenario.name
        base_means = self.results[0].summary.set_index("metric")["mean"]
        differences = {name: d.set_index("metric") for name, d in self.differences.items()}
        rows = []
        for name in metrics:
            row: dict[str, Any] = {"metric": name, reference: base_means.get(name, math.nan)}
            for variant in self.names[1:]:
                if name not in differences[variant].index:
                    continue
                entry = differences[variant].loc[name]
                row[variant] = entry["mean_b"]
                row[f"{variant} - {reference}"] = entry["difference"]
                row[f"{variant} ci_low"], row[f"{variant} ci_high"] = entry["ci_low"], entry["ci_high"]
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def incremental(self) -> pd.DataFrame:
        """Per variant against the first: extra customers, ARR and spend (paired means with 95%
        intervals) and the spend per extra customer (ratio of the paired means, delta-method
        interval; see `metrics.paired_ratio`)."""
        base = _succeeded(self.results[0])
        rows = []
        for result in self.results[1:]:
            row: dict[str, Any] = {"scenario": result.scenario.name}
            differences = self.differences[result.scenario.name].set_index("metric")
            for figure, name in INCREMENTAL_FIGURES.items():
                for column in ("difference", "ci_low", "ci_high"):
                    value = differences[column][figure] if figure in differences.index else math.nan
                    row[f"{name}_{column}" if column != "difference" else name] = float(value)
            ratio, low, high, n = metrics.paired_ratio(base, _succeeded(result), "total_spend", "customers")
            row.update(cost_per_extra_customer=ratio, cost_per_extra_customer_ci_low=low)
            row.update(cost_per_extra_customer_ci_high=high, n=n)
            rows.append(row)
        return pd.DataFrame(rows)


# figure -> name of its paired difference in CompareResult.incremental
INCREMENTAL_FIGURES = {"customers": "extra_customers", "bookings_arr": "extra_arr", "total_spend": "extra_spend"}


def _succeeded(result: RunResult) -> pd.DataFrame:
    return result.replications[result.replications["error"].isna()]


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
    with one_pool(options.get("executor", "processes"), options.get("workers")):  # one pool for every scenario
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


@dataclass
class SweepResult:
    """One run per value of a parameter; `table` has one row per (value, metric)."""

    key: str
    values: list[Any]
    results: list[RunResult]

    @property
    def table(self) -> pd.DataFrame:
        frames = []
        for value, result in zip(self.values, self.results):
            frame = result.summary.copy()
            frame.insert(0, self.key, str(value))
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def metric(self, name: str) -> pd.DataFrame:
        """mean, ci_low, ci_high of one metric per swept value."""
        rows = [
            dict(zip(("mean", "ci_low", "ci_high"), r.figure(name)), value=v) for v, r in zip(self.values, self.results)
        ]
        return pd.DataFrame(rows)[["value", "mean", "ci_low", "ci_high"]]

    def __repr__(self) -> str:
        return text_of(self)

    def _repr_html_(self) -> str:
        return display_of(self).html(self)

    def plot(self, kind: str = "customers") -> Any:
        """The response curve of one metric (`kind` is its name) with its band and best point."""
        return display_of(self).plot(self, kind)

    def save(self, folder: str | Path, metrics: Sequence[str] | None = None) -> Path:
        """Write the sweep folder (as `funnelsim sweep` does)."""
        return display_of(self).save(self, folder, metrics)


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
