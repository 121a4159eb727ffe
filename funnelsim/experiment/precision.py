"""Runs to a stated precision: add replications until the headline figures' 95% intervals are narrow enough.

Replication i always uses child i of the run's SeedSequence, so the replications added later
leave the first ones bit-identical; a precise run is a longer run, never a different one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from funnelsim import metrics
from funnelsim.experiment.points import ExecutorOptions, Job, PointStore, merge, point_key, run_jobs
from funnelsim.experiment.runner import DEFAULT_SEED, CompareResult, RunResult
from funnelsim.scenario.loader import ScenarioError
from funnelsim.scenario.schema import Scenario

DEFAULT_MAX_REPS = 400
RATE_HALF_WIDTH = 0.005  # half a percentage point, for figures that are shares


class PrecisionError(ScenarioError):
    """A precision request that cannot be honoured (out of range, or a cap below the start)."""


def check_precision(precision: float | None, reps: int = 2, max_reps: int | None = None) -> None:
    if precision is None:
        return
    if not (0 < precision <= 1) or math.isnan(precision):
        raise PrecisionError(
            f"--precision {precision:g}: expected a relative half-width above 0 and at most 1, e.g. 0.02 for ±2%"
        )
    if max_reps is not None and max_reps < max(reps, 2):
        raise PrecisionError(f"--max-reps {max_reps}: must be at least --reps ({reps}) and at least 2")


def headline_metrics() -> list[str]:
    """The figures the registry marks as headline."""
    return list(metrics.HEADLINE)


def tolerance(metric: str, mean: float, precision: float) -> float:
    """Allowed 95% half-width: `precision` of the mean, or half a percentage point for a share."""
    figure = metrics.FIGURES.get(metric)
    if figure is not None and figure.unit == "%":
        return RATE_HALF_WIDTH
    return precision * abs(mean)


@dataclass
class FigurePrecision:
    metric: str
    mean: float
    half_width: float
    tolerance: float

    @property
    def met(self) -> bool:
        return self.half_width <= self.tolerance


@dataclass
class PrecisionReport:
    """How precise one point became: replications used, each figure's half-width, the cap."""

    reps: int
    max_reps: int
    figures: list[FigurePrecision] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(f.met for f in self.figures)

    @property
    def cap_reached(self) -> bool:
        return not self.met and self.reps >= self.max_reps

    @property
    def unmet(self) -> list[FigurePrecision]:
        return [f for f in self.figures if not f.met]

    def describe(self) -> str:
        if self.met:
            return f"precision reached with {self.reps} replications"
        worst = ", ".join(f"{f.metric} ±{f.half_width:.4g} (wanted ±{f.tolerance:.4g})" for f in self.unmet[:3])
        return f"precision NOT reached: cap of {self.max_reps} replications hit; widest: {worst}"


def measure(result: RunResult, precision: float, names: Sequence[str], max_reps: int) -> PrecisionReport:
    summary = result.summary.set_index("metric")
    report = PrecisionReport(len(result.replications), max_reps)
    for name in names:
        if name not in summary.index or not math.isfinite(summary["mean"][name]):
            continue  # a figure undefined in this scenario (no SDRs, no customers) has no interval to narrow
        mean, low, high = (float(summary[c][name]) for c in ("mean", "ci_low", "ci_high"))
        half = (high - low) / 2 if math.isfinite(low) else math.inf
        report.figures.append(FigurePrecision(name, mean, half, tolerance(name, mean, precision)))
    return report


def next_reps(report: PrecisionReport) -> int:
    """Replications that should reach the precision (half-width falls as 1/sqrt(n)), within the cap."""
    n = report.reps
    wanted = n
    for f in report.unmet:
        ratio = f.half_width / f.tolerance if f.tolerance > 0 and math.isfinite(f.half_width) else 4.0
        wanted = max(wanted, math.ceil(1.15 * n * min(ratio, 4.0) ** 2))
    return min(report.max_reps, max(wanted, n + 2))


@dataclass
class PrecisionOutcome:
    results: list[RunResult]
    reports: list[PrecisionReport]
    keys: list[str]


def run_points_to_precision(
    scenarios: Sequence[Scenario],
    reps: int,
    seed: int,
    precision: float,
    max_reps: int | None = None,
    store: PointStore | None = None,
    options: ExecutorOptions | None = None,
    progress: Callable[[int], None] | None = None,
    names: Sequence[str] | None = None,
    timeseries_step_hours: float | None = None,
) -> PrecisionOutcome:
    """Run each scenario from `reps` replications up until `precision` holds for `names` (or the cap)."""
    started = time.perf_counter()
    cap = max_reps or max(DEFAULT_MAX_REPS, reps)
    check_precision(precision, reps, cap)
    names = list(names or headline_metrics())
    store = store if store is not None else PointStore(None)
    extra = {"precision": precision, "max_reps": cap, "metrics": names}
    keys = [point_key(s, seed, reps, extra) for s in scenarios]
    results: list[RunResult | None] = [store.load(k, s, seed) for k, s in zip(keys, scenarios)]
    store.reused += sum(r is not None for r in results)
    fresh = [i for i, r in enumerate(results) if r is None]
    step = timeseries_step_hours
    first = run_jobs([Job(scenarios[i], seed, max(reps, 2), 0, step) for i in fresh], options, progress)
    for i, result in zip(fresh, first):
        results[i] = result
    current = [r for r in results if r is not None]
    while True:
        reports = [measure(r, precision, names, cap) for r in current]
        todo = [i for i in fresh if not reports[i].met and reports[i].reps < cap]
        if not todo:
            break
        jobs = [Job(scenarios[i], seed, next_reps(reports[i]) - reports[i].reps, reports[i].reps, step) for i in todo]
        for i, more in zip(todo, run_jobs(jobs, options, progress)):
            current[i] = merge(current[i], more)
    wall = time.perf_counter() - started
    for result in current:
        result.timings = {
            "wall_seconds": wall,
            "replication_seconds_total": float(result.replications["seconds"].sum()),
        }
    for i in fresh:
        if not len(current[i].failed):
            store.save(keys[i], current[i])
        store.computed += 1
    return PrecisionOutcome(current, reports, keys)


def run_to_precision(
    scenario: Scenario,
    precision: float,
    reps: int = 10,
    seed: int = DEFAULT_SEED,
    max_reps: int | None = None,
    names: Sequence[str] | None = None,
    *,
    executor: str = "processes",
    workers: int | None = None,
    dask_address: str | None = None,
    timeseries_step_hours: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[RunResult, PrecisionReport]:
    """One scenario run until its headline figures are within `precision` (the public API form)."""
    options = ExecutorOptions(executor, workers, dask_address)  # type: ignore[arg-type]
    outcome = run_points_to_precision(
        [scenario], reps, seed, precision, max_reps, None, options, progress, names, timeseries_step_hours
    )
    return outcome.results[0], outcome.reports[0]


def compare_to_precision(
    scenarios: Sequence[Scenario],
    precision: float,
    reps: int = 10,
    seed: int = DEFAULT_SEED,
    max_reps: int | None = None,
    names: Sequence[str] | None = None,
    options: ExecutorOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[CompareResult, list[PrecisionReport]]:
    """Each scenario run to `precision`, then all extended to the same replications and paired."""
    outcome = run_points_to_precision(scenarios, reps, seed, precision, max_reps, None, options, progress, names)
    results = list(outcome.results)
    longest = max(len(r.replications) for r in results)
    short = [i for i, r in enumerate(results) if len(r.replications) < longest]
    jobs = [
        Job(scenarios[i], seed, longest - len(results[i].replications), len(results[i].replications)) for i in short
    ]
    for i, more in zip(short, run_jobs(jobs, options, progress)):
        results[i] = merge(results[i], more)
    seen: dict[str, int] = {}
    for r in results:
        seen[r.scenario.name] = seen.get(r.scenario.name, 0) + 1
        if seen[r.scenario.name] > 1:
            r.scenario = r.scenario.model_copy(update={"name": f"{r.scenario.name}#{seen[r.scenario.name]}"})
    base = results[0].replications[results[0].replications["error"].isna()]
    differences = {
        r.scenario.name: metrics.paired_difference(base, r.replications[r.replications["error"].isna()])
        for r in results[1:]
    }
    reports = [measure(r, precision, names or headline_metrics(), max_reps or DEFAULT_MAX_REPS) for r in results]
    return CompareResult(results, differences), reports
