"""The staffing planner: the cheapest team that meets every target, found by simulation.

An Erlang A/C warm start per resource (from a pilot run's rates and the calendar's open hours)
picks where to look first; a bisection per headcount, which relies on every target improving
with headcount, then confirms the answer by simulation instead of running the whole grid.
"Meets" is judged on the conservative end of the 95% interval.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from funnelsim import metrics
from funnelsim.experiment.grid import Axis, load_point
from funnelsim.experiment.points import ExecutorOptions, PointStore, run_points
from funnelsim.experiment.precision import run_points_to_precision
from funnelsim.experiment.runner import DEFAULT_SEED, RunResult
from funnelsim.experiment.targets import (
    DERIVED,
    HEADCOUNTS,
    SPEED_METRICS,
    Objective,
    PlanError,
    Target,
    parse_bounds,
    parse_objective,
    parse_target,
)
from funnelsim.experiment.teams import Team, derived_summary, figure_of, objective_key, team_cost, team_label
from funnelsim.experiment.warm_start import WarmStart, warm_start
from funnelsim.scenario.schema import Scenario, format_hour_range

__all__ = [
    "DERIVED",
    "HEADCOUNTS",
    "Objective",
    "PlanError",
    "PlanResult",
    "Target",
    "Team",
    "Unreachable",
    "parse_bounds",
    "parse_objective",
    "parse_target",
    "plan",
]

DEFAULT_PLAN_REPS = 10


@dataclass
class Unreachable:
    """A target no team within the bounds meets: the best reached, what bounds it, what would lift it."""

    target: Target
    best: Team
    reason: str


@dataclass
class PlanResult:
    """The chosen team (or none), the teams simulated, the binding targets and any unreachable ones."""

    scenario: Scenario
    targets: list[Target]
    objective: Objective
    bounds: dict[str, tuple[int, int]]
    teams: list[Team]
    warm: WarmStart
    plan: Team | None
    binding: list[str]
    unreachable: list[Unreachable]
    computed: int = 0
    reused: int = 0

    @property
    def grid_size(self) -> int:
        return math.prod(high - low + 1 for low, high in self.bounds.values())

    @property
    def runners_up(self) -> list[Team]:
        """Other teams that meet every target, best first, then the cheapest near miss."""
        feasible = [t for t in self.teams if t.feasible and t is not self.plan]
        feasible.sort(key=lambda t: objective_key(t, self.objective))
        below = [t for t in self.teams if not t.feasible]
        below.sort(key=lambda t: -t.cost_per_month)
        near = [t for t in below if self.plan is None or t.cost_per_month <= self.plan.cost_per_month][:1]
        return feasible[:3] + near

    def table(self) -> pd.DataFrame:
        """One row per team simulated: counts, cost, each target metric with its interval, meets."""
        rows = []
        for team in sorted(self.teams, key=lambda t: (t.cost_per_month, t.label)):
            row: dict[str, Any] = dict(team.counts)
            row["cost_per_month"] = team.cost_per_month
            for name in dict.fromkeys([*(t.metric for t in self.targets), self.objective.metric]):
                row[name], row[f"{name} ci_low"], row[f"{name} ci_high"] = team.figure(name)
            row["reps"] = len(team.result.replications)
            row["meets_all"] = team.feasible
            row["plan"] = team is self.plan
            rows.append(row)
        return pd.DataFrame(rows)


def plan(
    source: str | Path | Mapping[str, Any] | None,
    targets: Sequence[str | Target],
    vary: Sequence[str | Axis] | Mapping[str, Sequence[int]],
    objective: str | Objective | None = None,
    reps: int = DEFAULT_PLAN_REPS,
    seed: int = DEFAULT_SEED,
    overrides: Sequence[str] = (),
    *,
    store: PointStore | Path | str | None = None,
    executor: str = "processes",
    workers: int | None = None,
    dask_address: str | None = None,
    precision: float | None = None,
    max_reps: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> PlanResult:
    """The cheapest team (or the best by `objective`) within the bounds that meets every target."""
    parsed = [t if isinstance(t, Target) else parse_target(t) for t in targets]
    if not parsed:
        raise PlanError("plan needs at least one --target, e.g. --target 'answered_within_1h>=0.8'")
    goal = objective if isinstance(objective, Objective) else parse_objective(objective)
    bounds = parse_bounds(vary)
    base = load_point(source, list(overrides), {})
    points = store if isinstance(store, PointStore) else PointStore(None if store is None else Path(store))
    before = (points.computed, points.reused)
    options = ExecutorOptions(executor, workers, dask_address)  # type: ignore[arg-type]
    teams: dict[tuple[int, ...], Team] = {}
    keys = list(bounds)

    def evaluate(settings: Sequence[Mapping[str, int]]) -> list[Team]:
        wanted = [{k: s[k] for k in keys} for s in settings if tuple(s[k] for k in keys) not in teams]
        wanted = list({tuple(s[k] for k in keys): s for s in wanted}.values())
        if wanted:
            scenarios = [load_point(source, list(overrides), s) for s in wanted]
            results = _run(scenarios, reps, seed, points, options, progress, precision, max_reps, parsed)
            for setting, result in zip(wanted, results):
                cost = team_cost(base, setting)
                summary = derived_summary(result, cost)
                meets = {t.text: t.meets(*figure_of(summary, t.metric)) for t in parsed}
                teams[tuple(setting[k] for k in keys)] = Team(setting, cost, result, summary, meets)
        return [teams[tuple(s[k] for k in keys)] for s in settings]

    pilot_counts = {k: _clamp(_own_count(base, k), *bounds[k]) for k in keys}
    pilot = evaluate([pilot_counts])[0]
    warm = warm_start(pilot, parsed, bounds)
    chosen = _search(keys, bounds, warm.counts, evaluate, goal, base)
    result = PlanResult(base, parsed, goal, bounds, list(teams.values()), warm, chosen, [], [])
    if chosen is not None:
        result.binding = _binding(chosen, keys, bounds, evaluate)
    else:
        result.unreachable = _unreachable(source, overrides, parsed, keys, bounds, list(teams.values()), reps, seed,
                                          points, options)  # fmt: skip
    result.teams = list(teams.values())
    result.computed, result.reused = points.computed - before[0], points.reused - before[1]
    return result


def _run(
    scenarios: Sequence[Scenario],
    reps: int,
    seed: int,
    store: PointStore,
    options: ExecutorOptions,
    progress: Callable[[int], None] | None,
    precision: float | None,
    max_reps: int | None,
    targets: Sequence[Target],
) -> list[RunResult]:
    if precision is None:
        return run_points(scenarios, reps, seed, store, options, progress)
    names = [t.metric for t in targets if t.metric in metrics.FIGURES]
    outcome = run_points_to_precision(scenarios, reps, seed, precision, max_reps, store, options, progress, names)
    return outcome.results


def _own_count(scenario: Scenario, key: str) -> int:
    count = scenario.sales.sdr.count if key == "sales.sdr.count" else scenario.sales.ae.count
    return count if isinstance(count, int) else 10**6


def _clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


Evaluate = Callable[[Sequence[Mapping[str, int]]], list[Team]]


def _smallest_meeting(
    key: str, low: int, high: int, start: int, others: Mapping[str, int], evaluate: Evaluate
) -> Team | None:
    """The smallest count of `key` in [low, high] meeting every target, by bisection from `start`.

    Relies on monotonicity: a team that meets the targets still meets them with one more head.
    """
    probe: int | None = _clamp(start, low, high)
    found: Team | None = None
    while low <= high:
        mid = probe if probe is not None else (low + high) // 2
        probe = None
        team = evaluate([{**others, key: mid}])[0]
        if team.feasible:
            found, high = team, mid - 1
        else:
            low = mid + 1
    return found


def _search(
    keys: Sequence[str],
    bounds: Mapping[str, tuple[int, int]],
    start: Mapping[str, int],
    evaluate: Evaluate,
    objective: Objective,
    base: Scenario,
) -> Team | None:
    """Bisection on the first headcount for each setting of the others, best by objective.

    The other headcounts are walked upwards; with one of them, the smallest feasible first count
    can only fall as it grows (monotonicity), and a setting whose cheapest team already costs
    more than the best plan found is skipped.
    """
    first, rest = keys[0], list(keys[1:])
    low, high = bounds[first]
    settings = [
        dict(zip(rest, combo)) for combo in itertools.product(*(range(a, b + 1) for a, b in (bounds[k] for k in rest)))
    ]
    frontier: list[Team] = []
    best_cost = math.inf
    ceiling = high
    for others in settings:
        if objective.metric == "team_cost_per_month" and team_cost(base, {**others, first: low}) > best_cost:
            continue
        team = _smallest_meeting(first, low, ceiling, start[first], others, evaluate)
        if team is None:
            continue
        frontier.append(team)
        best_cost = min(best_cost, team.cost_per_month)
        if len(rest) == 1:
            ceiling = team.counts[first]
    if not frontier:
        return None
    if objective.metric != "team_cost_per_month":
        frontier = _climb(frontier, first, high, evaluate, objective)
    return min(frontier, key=lambda t: objective_key(t, objective))


def _climb(frontier: list[Team], key: str, high: int, evaluate: Evaluate, objective: Objective) -> list[Team]:
    """From each smallest feasible team, add heads of `key` while the objective improves."""
    found = list(frontier)
    for team in frontier:
        current = team
        while current.counts[key] < high:
            more = evaluate([{**current.counts, key: current.counts[key] + 1}])[0]
            if not more.feasible or objective_key(more, objective) >= objective_key(current, objective):
                break
            found.append(more)
            current = more
    return found


def _binding(
    plan_team: Team, keys: Sequence[str], bounds: Mapping[str, tuple[int, int]], evaluate: Evaluate
) -> list[str]:
    """Targets missed by the team with one head fewer in any varied pool (what stops a cheaper plan)."""
    binding: dict[str, None] = {}
    for key in keys:
        if plan_team.counts[key] <= bounds[key][0]:
            continue
        fewer = evaluate([{**plan_team.counts, key: plan_team.counts[key] - 1}])[0]
        for target, met in fewer.meets.items():
            if not met:
                binding[target] = None
    return list(binding)


def _unreachable(
    source: str | Path | Mapping[str, Any] | None,
    overrides: Sequence[str],
    targets: Sequence[Target],
    keys: Sequence[str],
    bounds: Mapping[str, tuple[int, int]],
    teams: Sequence[Team],
    reps: int,
    seed: int,
    store: PointStore,
    options: ExecutorOptions,
) -> list[Unreachable]:
    """For each target no team met: the best reached, and whether headcount or the calendar bounds it."""
    found = []
    top = {k: bounds[k][1] for k in keys}
    unlimited = {k: "unlimited" for k in keys}
    scenario = load_point(source, list(overrides), top)
    probes = [load_point(source, list(overrides), unlimited)]
    calendar = scenario.sales.sdr.calendar
    if scenario.calendar(calendar) is not None:
        probes.append(load_point(source, [*overrides, "sales.sdr.calendar=always"], top))
    probe_results = run_points(probes, reps, seed, store, options)
    for target in targets:
        if any(t.meets[target.text] for t in teams):
            continue
        sign = 1 if target.at_least else -1
        best = max(teams, key=lambda t: sign * t.figure(target.metric)[0])
        found.append(Unreachable(target, best, _bound_reason(target, scenario, top, probe_results)))
    return found


def _bound_reason(target: Target, scenario: Scenario, top: Mapping[str, int], probes: Sequence[RunResult]) -> str:
    def reached(result: RunResult) -> str:
        return format_figure(target.metric, *_summary_figure(result, target.metric))

    unlimited = probes[0]
    mean, low, high = _summary_figure(unlimited, target.metric)
    if target.meets(mean, low, high):
        return (
            f"headcount within the bounds: unlimited staff would reach {reached(unlimited)}; "
            f"raise the upper bound of --vary ({', '.join(f'{k}={v}' for k, v in top.items())} is the top)"
        )
    reason = f"not headcount: even unlimited staff reach only {reached(unlimited)}"
    calendar = scenario.sales.sdr.calendar
    spec = scenario.calendar(calendar)
    if spec is not None:
        hours = ", ".join(format_hour_range(a, b) for a, b in spec.hours)
        always = f" (with the desk open 24/7 and {team_label(top)}: {reached(probes[1])})" if len(probes) > 1 else ""
        if target.metric in SPEED_METRICS or target.metric.startswith("response_delay"):
            reason += (
                f". It is bounded by the calendar: the SDR desk ('{calendar}': {', '.join(spec.days)} {hours}) is "
                f"closed nights and weekends, and leads that become SALs while it is closed wait for the next opening, "
                f"so they cannot be answered within the window. What would lift it: longer or 24/7 hours{always}, "
                "or an automated first touch (sales.auto_touch), which slows the decay of waiting leads but is not a "
                "contact attempt, so it raises conversion rather than this figure"
            )
        else:
            reason += (
                f". Headcount is not what limits it; the desk's calendar ('{calendar}': "
                f"{', '.join(spec.days)} {hours}) and the leads' patience and reach do{always}. What would lift "
                "it: longer hours, an automated first touch (sales.auto_touch), more patient leads, or a better reach"
            )
    return reason


def format_figure(name: str, mean: float, low: float, high: float) -> str:
    """A figure and its 95% interval as plain text (shares in percent)."""
    figure = metrics.FIGURES.get(name) or DERIVED.get(name)
    if figure is not None and figure.unit == "%":
        return f"{100 * mean:.1f}% [{100 * low:.1f}%, {100 * high:.1f}%]"
    return f"{mean:,.4g} [{low:,.4g}, {high:,.4g}]"


def _summary_figure(result: RunResult, name: str) -> tuple[float, float, float]:
    if name not in set(result.summary["metric"]):
        return math.nan, math.nan, math.nan
    return result.figure(name)
