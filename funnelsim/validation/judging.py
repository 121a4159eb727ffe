"""What a validation case is, and the pass rule that judges each of its checks.

Pass rule of a check: the 95% half-width is at most the tolerance (the case is powered to judge
it; a case with too few replications fails instead of passing by luck), and
|mean - reference| <= tolerance; for a reference that is a lower bound ("over 60 times"), the
whole interval must lie at or above it. `--quick` runs fewer or shorter replications and judges
them against tolerances QUICK_TOLERANCE_FACTOR times as wide.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from funnelsim import metrics
from funnelsim.model.records import Records
from funnelsim.scenario.schema import Scenario

QUICK_TOLERANCE_FACTOR = 2.0

Measure = Callable[[Records, Scenario], dict[str, float]]


@dataclass(frozen=True)
class Check:
    """One quantity compared with its reference, within a stated tolerance."""

    key: str  # the measurement it reads
    quantity: str
    reference: float
    source: str
    tolerance: float  # in the quantity's unit, or a fraction of the reference when `relative`
    unit: str = ""  # "%" (a share, shown x100), "h", "x" (a ratio) or "" (a plain number)
    relative: bool = False
    at_least: bool = False  # the reference is a lower bound: the interval must lie at or above it

    def absolute_tolerance(self, factor: float = 1.0) -> float:
        return factor * self.tolerance * (abs(self.reference) if self.relative else 1.0)

    def describe_tolerance(self, factor: float = 1.0) -> str:
        tol = self.tolerance * factor
        if self.relative:
            text = f"±{100 * tol:g}% of ref"
        elif self.unit == "%":
            text = f"±{100 * tol:g} pp"
        else:
            text = f"±{format_quantity(tol, self.unit)}"
        return f"half-width ≤ {text.removeprefix('±')}" if self.at_least else text


@dataclass(frozen=True)
class Case:
    """A validation case: a bundled scenario, its measurement and its checks."""

    name: str
    scenario: str  # bundled name, e.g. "validation/erlang-c-c1-load50"
    measure: Measure
    checks: Callable[[Scenario], list[Check]]  # references are derived from the scenario itself
    reps: int
    quick_reps: int
    quick_horizon: str | None = None  # a shorter horizon for --quick
    about: str = ""


@dataclass
class CheckResult:
    """The verdict on one check."""

    case: str
    scenario: str
    check: Check
    mean: float
    ci_low: float
    ci_high: float
    n: int
    tolerance: float  # the absolute tolerance applied (quick runs: widened)
    passed: bool
    note: str = ""

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2

    @property
    def relative_error(self) -> float:
        ref = self.check.reference
        return (self.mean - ref) / abs(ref) if ref else math.nan


def judge(case: Case, check: Check, values: np.ndarray, factor: float, error: str | None = None) -> CheckResult:
    """Apply the pass rule to one check's per-replication values."""
    mean, low, high, n = metrics.interval(values)
    tolerance = check.absolute_tolerance(factor)
    half = (high - low) / 2
    note = ""
    if error is not None:
        passed, note = False, "a replication failed: " + error.strip().splitlines()[-1]
    elif n < len(values):
        passed, note = False, f"{len(values) - n} replications gave no value"
    elif not math.isfinite(half):
        passed, note = False, "no interval (too few replications)"
    elif half > tolerance:
        shown = format_quantity(half, check.unit)
        passed, note = False, f"interval half-width {shown} exceeds the tolerance: add replications"
    elif check.at_least:
        passed = low >= check.reference
        note = "" if passed else "interval reaches below the reference"
    else:
        passed = abs(mean - check.reference) <= tolerance
        note = "" if passed else "mean outside reference ± tolerance"
    return CheckResult(case.name, case.scenario, check, mean, low, high, n, tolerance, passed, note)


def format_quantity(value: float, unit: str) -> str:
    """A value in its check's unit: "%" a share shown x100, "h" hours, "x" a ratio, "" a plain number."""
    if value is None or not math.isfinite(value):
        return "–"
    if unit == "%":
        return f"{100 * value:.2f}%"
    if unit == "h":
        return f"{value:.4f} h" if abs(value) < 10 else f"{value:.2f} h"
    if unit == "x":
        return f"{value:.2f}×" if abs(value) < 10 else f"{value:.1f}×"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.4g}"
