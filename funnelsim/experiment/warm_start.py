"""The planner's warm start: Erlang A/C for the SDR desk and an occupancy bound for the AE pipeline.

From a pilot run's rates and the calendar's open hours, it picks the headcount the search tries first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from funnelsim import theory
from funnelsim.experiment.targets import SPEED_METRICS, Target
from funnelsim.experiment.teams import Team
from funnelsim.model.calendar import WorkCalendar
from funnelsim.scenario.schema import WEEKDAYS, Scenario
from funnelsim.scenario.units import HOURS_PER_WEEK

WARM_UTILISATION = 0.85  # the load per head the warm start aims under when no target says otherwise


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
