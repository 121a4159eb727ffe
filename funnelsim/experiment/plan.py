"""The staffing planner: the cheapest team that meets every target, found by simulation.

An Erlang A/C warm start per resource (from a pilot run's rates and the calendar's open hours)
picks where to look first; a bisection per headcount, which relies on every target improving
with headcount, then confirms the answer by simulation instead of running the whole grid.
"Meets" is judged on the conservative end of the 95% interval.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from funnelsim import metrics, theory
from funnelsim.experiment.grid import Axis, GridError, check_metrics, load_point, parse_axes
from funnelsim.experiment.points import ExecutorOptions, PointStore, run_points
from funnelsim.experiment.precision import run_points_to_precision
from funnelsim.experiment.runner import DEFAULT_SEED, RunResult
from funnelsim.model.calendar import WorkCalendar
from funnelsim.scenario.schema import WEEKDAYS, Scenario
from funnelsim.scenario.units import HOURS_PER_WEEK

DEFAULT_PLAN_REPS = 10
# Headcount fields the planner may vary, and the cost field that prices one head per month.
HEADCOUNTS: dict[str, str] = {"sales.sdr.count": "sdr_per_month", "sales.ae.count": "ae_per_month"}
# Figures the planner derives per replication on top of the metric registry.
DERIVED: dict[str, metrics.Figure] = {
    "profit": metrics.Figure("Profit in the horizon (margin - marketing - team)", "money", "Cost"),
    "team_cost_per_month": metrics.Figure("Sales team cost per month", "money", "Cost"),
}
SPEED_METRICS = metrics.SPEED_SHARES
WARM_UTILISATION = 0.85  # the load per head the warm start aims under when no target says otherwise


class PlanError(GridError):
    """A plan that cannot be set up (bad target, objective or bounds)."""


# --- targets and objectives --------------------------------------------------------------------

_TARGET = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(>=|<=|=>|=<|==|=|>|<|!=)?\s*(.*?)\s*$")


@dataclass(frozen=True)
class Target:
    """`metric >= value` or `metric <= value`, met when the whole 95% interval is on the right side."""

    metric: str
    at_least: bool
    value: float

    @property
    def text(self) -> str:
        return f"{self.metric}{'>=' if self.at_least else '<='}{self.value:g}"

    def meets(self, mean: float, low: float, high: float) -> bool:
        edge = low if self.at_least else high
        return bool(np.isfinite(edge)) and (edge >= self.value if self.at_least else edge <= self.value)

    def conservative(self, low: float, high: float) -> float:
        return low if self.at_least else high


def parse_target(text: str) -> Target:
    """`answered_within_1h>=0.8`, `abandon_rate<=5%`; an unknown metric or operator is a PlanError."""
    match = _TARGET.match(text)
    if not match or match.group(2) not in (">=", "<="):
        operator = match.group(2) if match and match.group(2) else "none"
        raise PlanError(
            f"--target {text!r}: expected METRIC>=VALUE or METRIC<=VALUE (operator: {operator}), "
            "e.g. --target 'answered_within_1h>=0.8'"
        )
    name, operator, value_text = match.groups()
    check_metrics([name], DERIVED)
    try:
        value = float(value_text[:-1]) / 100 if value_text.endswith("%") else float(value_text)
    except ValueError:
        raise PlanError(f"--target {text!r}: expected a number after {operator}, got {value_text!r}") from None
    if not math.isfinite(value):
        raise PlanError(f"--target {text!r}: expected a finite number")
    return Target(name, operator == ">=", value)


@dataclass(frozen=True)
class Objective:
    """What to optimise among teams that meet every target (default: the lowest team cost)."""

    metric: str = "team_cost_per_month"
    maximise: bool = False

    @property
    def text(self) -> str:
        return f"{'max' if self.maximise else 'min'}:{self.metric}"


def parse_objective(text: str | None) -> Objective:
    if not text:
        return Objective()
    sense, sep, name = text.partition(":")
    if not sep or sense not in ("max", "min") or not name:
        raise PlanError(f"--objective {text!r}: expected max:METRIC or min:METRIC, e.g. max:profit or min:cac")
    aliases = {"cost": "team_cost_per_month"}
    name = aliases.get(name, name)
    check_metrics([name], DERIVED)
    return Objective(name, sense == "max")


# --- evaluated teams ---------------------------------------------------------------------------


@dataclass
class Team:
    """One staffing simulated: its headcounts, monthly cost, figures and which targets it meets."""

    counts: dict[str, int]
    cost_per_month: float
    result: RunResult
    summary: pd.DataFrame  # metric-indexed: mean, ci_low, ci_high (derived figures included)
    meets: dict[str, bool]

    @property
    def feasible(self) -> bool:
        return all(self.meets.values())

    @property
    def label(self) -> str:
        return team_label(self.counts)

    def figure(self, name: str) -> tuple[float, float, float]:
        if name not in self.summary.index:
            return math.nan, math.nan, math.nan
        return _figure(self.summary, name)


def team_label(counts: Mapping[str, int]) -> str:
    names = {"sales.sdr.count": "SDR", "sales.ae.count": "AE"}
    return ", ".join(f"{v} {names.get(k, k)}" for k, v in counts.items())


def team_cost(scenario: Scenario, counts: Mapping[str, int]) -> float:
    """Monthly cost of the sales team (SDRs and AEs at their scenario prices, plus any fixed cost)."""
    costs = scenario.costs
    heads = {"sales.sdr.count": scenario.sales.sdr.count, "sales.ae.count": scenario.sales.ae.count}
    heads.update(counts)
    total = float(getattr(costs, "fixed_per_month", 0.0) or 0.0)
    for key, price in HEADCOUNTS.items():
        count = heads[key]
        total += (count if isinstance(count, int) else 0) * getattr(costs, price)
    return total


def derived_summary(result: RunResult, cost_per_month: float) -> pd.DataFrame:
    """The run's summary plus profit and team cost per month, indexed by metric."""
    table = result.replications[result.replications["error"].isna()]
    margin = result.scenario.costs.gross_margin
    extra = pd.DataFrame(
        {
            "profit": table["revenue"] * margin - table["marketing_spend"] - table["team_cost"],
            "team_cost_per_month": np.full(len(table), cost_per_month),
        }
    )
    return pd.concat([result.summary, metrics.summarise(extra)], ignore_index=True).set_index("metric")


# --- warm start --------------------------------------------------------------------------------


@dataclass
class WarmStart:
    """Where the search starts, per varied headcount, and the queueing figures behind it."""

    counts: dict[str, int]
    notes: dict[str, str] = field(default_factory=dict)


def _open_hours(scenario: Scenario, calendar_name: str) -> float:
    calendar = WorkCalendar.build(scenario.calendar(calendar_name), scenario.start, scenario.timezone, scenario.horizon)
    return calendar.open_hours(scenario.warmup, scenario.horizon)


def warm_start(pilot: Team, targets: Sequence[Target], bounds: Mapping[str, tuple[int, int]]) -> WarmStart:
    """Erlang A for the SDR desk and an occupancy bound for the AE pipeline, from the pilot's rates."""
    scenario = pilot.result.scenario
    start = WarmStart({})
    for key, (low, high) in bounds.items():
        if key == "sales.sdr.count":
            start.counts[key], start.notes[key] = _sdr_warm_start(scenario, pilot, targets, low, high)
        else:
            start.counts[key], start.notes[key] = _ae_warm_start(scenario, pilot, low, high)
    return start


def _sdr_warm_start(scenario: Scenario, pilot: Team, targets: Sequence[Target], low: int, high: int) -> tuple[int, str]:
    heads = pilot.counts.get("sales.sdr.count", scenario.sales.sdr.count)
    sals, utilisation = pilot.figure("sals")[0], pilot.figure("sdr_utilisation")[0]
    open_hours = _open_hours(scenario, scenario.sales.sdr.calendar)
    if not (isinstance(heads, int) and sals > 0 and open_hours > 0 and math.isfinite(utilisation)):
        return low, "no pilot rates: search starts at the lower bound"
    arrivals = sals / open_hours  # SALs per open hour: leads that arrive closed wait for the next opening
    load = utilisation * heads  # rep-hours of work per open hour (a lower bound when the desk is saturated)
    if utilisation > 0.95:
        load = max(load, heads + 0.5)
    service = arrivals / load
    patience = scenario.sales.patience
    abandon = 1.0 / patience.mean() if patience is not None and patience.mean() > 0 else 0.0
    spec = scenario.calendar(scenario.sales.sdr.calendar)
    week = theory.office_week([WEEKDAYS.index(d) for d in spec.days], spec.hours) if spec else [(0.0, HOURS_PER_WEEK)]
    arrivals_per_hour = arrivals * open_hours / (scenario.horizon - scenario.warmup)  # over the whole week

    def predicted_ok(c: int) -> bool:
        if load / c >= 1 or load / c > WARM_UTILISATION:
            return False
        for target in targets:
            if target.metric == "abandon_rate" and abandon > 0:
                if theory.erlang_a(c, arrivals, service, abandon).abandon_probability > target.value:
                    return False
            elif target.metric in SPEED_METRICS and target.at_least:
                # A fluid model of the calendar: each opening starts with the backlog that built
                # up while the desk was closed; leads arriving after it clears are answered at
                # once. Scaled to the pilot's measured share, which carries what it leaves out.
                measured = pilot.figure(target.metric)[0]
                reference = fluid_answered_share(week, heads, arrivals_per_hour, service)
                if math.isfinite(measured) and reference > 0:
                    predicted = measured * fluid_answered_share(week, c, arrivals_per_hour, service) / reference
                    if predicted < target.value:
                        return False
            elif target.metric == "sdr_utilisation" and not target.at_least and load / c > target.value:
                return False
        return True

    chosen = next((c for c in range(max(low, 1), high + 1) if predicted_ok(c)), high)
    note = (
        f"Erlang A from the pilot ({heads} SDRs): {arrivals:.2f} SALs per open hour, offered load "
        f"{load:.2f} SDRs, mean patience {1 / abandon:.0f} h -> start at {chosen}"
        if abandon
        else f"Erlang C from the pilot: offered load {load:.2f} SDRs -> start at {chosen}"
    )
    return chosen, note


def fluid_answered_share(
    week: list[tuple[float, float]], servers: int, arrivals_per_hour: float, service: float
) -> float:
    """Share of a week's leads answered at once when each opening first clears the closed-hours backlog."""
    answered = 0.0
    stretches = sorted(week)
    for i, (opens, closes) in enumerate(stretches):
        previous_close = stretches[i - 1][1] - (HOURS_PER_WEEK if i == 0 else 0.0)
        backlog = arrivals_per_hour * max(opens - previous_close, 0.0)
        spare = servers * service - arrivals_per_hour
        clearing = backlog / spare if spare > 0 else math.inf
        answered += max(closes - opens - clearing, 0.0)
    return answered / HOURS_PER_WEEK


def _ae_warm_start(scenario: Scenario, pilot: Team, low: int, high: int) -> tuple[int, str]:
    heads = pilot.counts.get("sales.ae.count", scenario.sales.ae.count)
    occupancy = pilot.figure("ae_utilisation")[0]
    if not (isinstance(heads, int) and math.isfinite(occupancy)):
        return low, "no pilot rates: search starts at the lower bound"
    open_deals = occupancy * heads * scenario.sales.ae.capacity  # Little's law: deals in the pipeline at once
    chosen = next(
        (c for c in range(max(low, 1), high + 1) if open_deals / (c * scenario.sales.ae.capacity) <= WARM_UTILISATION),
        high,
    )
    return chosen, f"pilot pipeline holds {open_deals:.0f} deals at once -> start at {chosen} AEs"


# --- the search ------------------------------------------------------------------------------


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
        feasible.sort(key=lambda t: _objective_key(t, self.objective))
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


def _objective_key(team: Team, objective: Objective) -> tuple[float, float]:
    value = team.figure(objective.metric)[0]
    return (-value if objective.maximise else value, team.cost_per_month)


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
                meets = {t.text: t.meets(*_figure(summary, t.metric)) for t in parsed}
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


def _figure(summary: pd.DataFrame, name: str) -> tuple[float, float, float]:
    if name not in summary.index:
        return math.nan, math.nan, math.nan
    return float(summary["mean"][name]), float(summary["ci_low"][name]), float(summary["ci_high"][name])


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


def parse_bounds(vary: Sequence[str | Axis] | Mapping[str, Sequence[int]]) -> dict[str, tuple[int, int]]:
    """Each varied headcount's (low, high); only headcounts, as whole-number ranges without gaps."""
    if isinstance(vary, Mapping):
        axes = [Axis(k, tuple(v)) for k, v in vary.items()]
    else:
        axes = [a for a in vary if isinstance(a, Axis)] + parse_axes([a for a in vary if isinstance(a, str)])
    if not axes:
        raise PlanError("plan needs at least one --vary over a headcount, e.g. --vary sales.sdr.count=1..8")
    bounds = {}
    for axis in axes:
        if axis.key not in HEADCOUNTS:
            raise PlanError(
                f"--vary {axis.key}: the planner varies headcounts ({', '.join(HEADCOUNTS)}), whose cost it knows"
            )
        values = sorted(axis.values)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
            raise PlanError(f"--vary {axis.key}: expected whole numbers of people, at least 1, e.g. 1..8")
        if values != list(range(values[0], values[-1] + 1)):
            raise PlanError(f"--vary {axis.key}: expected a range without gaps, e.g. {values[0]}..{values[-1]}")
        bounds[axis.key] = (values[0], values[-1])
    return bounds


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
    return min(frontier, key=lambda t: _objective_key(t, objective))


def _climb(frontier: list[Team], key: str, high: int, evaluate: Evaluate, objective: Objective) -> list[Team]:
    """From each smallest feasible team, add heads of `key` while the objective improves."""
    found = list(frontier)
    for team in frontier:
        current = team
        while current.counts[key] < high:
            more = evaluate([{**current.counts, key: current.counts[key] + 1}])[0]
            if not more.feasible or _objective_key(more, objective) >= _objective_key(current, objective):
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
        hours = ", ".join(
            f"{int(a):02d}:{round(a % 1 * 60):02d}-{int(b):02d}:{round(b % 1 * 60):02d}" for a, b in spec.hours
        )
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
