"""What the staffing planner is asked: targets, the objective and the headcount bounds, parsed.

A target is met on the conservative end of the 95% interval; bad input is a `PlanError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from funnelsim import metrics
from funnelsim.experiment.grid import Axis, GridError, check_metrics, parse_axes

# Headcount fields the planner may vary, and the cost field that prices one head per month.
HEADCOUNTS: dict[str, str] = {"sales.sdr.count": "sdr_per_month", "sales.ae.count": "ae_per_month"}
# Figures the planner derives per replication on top of the metric registry.
DERIVED: dict[str, metrics.Figure] = {
    "profit": metrics.Figure("Profit in the horizon (margin - marketing - team)", "money", "Cost"),
    "team_cost_per_month": metrics.Figure("Sales team cost per month", "money", "Cost"),
}
SPEED_METRICS = metrics.SPEED_SHARES


class PlanError(GridError):
    """A plan that cannot be set up (bad target, objective or bounds)."""


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
