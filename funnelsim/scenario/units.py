"""Durations with explicit units: parsing `90s`, `5min`, `2h`, `3d`, `2w` into hours.

Every duration crossing a module boundary is a float number of hours.
"""

from __future__ import annotations

import re

HOURS_PER_UNIT: dict[str, float] = {
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "min": 1 / 60,
    "m": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "d": 24.0,
    "w": 168.0,
    "mo": 730.5,  # a mean Gregorian month: 365.25 d / 12
    "y": 8766.0,
}
HOURS_PER_MONTH = HOURS_PER_UNIT["mo"]
HOURS_PER_WEEK = HOURS_PER_UNIT["w"]

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]+)\s*$")

MAX_DURATION_HOURS = 100 * 8766.0  # a century: every duration (horizon included) stays below it
UNIT_HINT = "a duration with a unit (s, min, h, d, w, mo), e.g. '5min' or '3d'"


def parse_duration_hours(value: object) -> float:
    """Parse a duration such as '5min' into hours; a bare 0 is the only unitless value allowed."""
    if isinstance(value, bool):
        raise ValueError(f"expected {UNIT_HINT}, got {value!r}")
    if isinstance(value, (int, float)):
        if value == 0:
            return 0.0
        raise ValueError(f"expected {UNIT_HINT}, got the bare number {value!r} (which unit?)")
    if not isinstance(value, str):
        raise ValueError(f"expected {UNIT_HINT}, got {value!r}")
    match = _DURATION.match(value.lower())
    if not match or match.group(2) not in HOURS_PER_UNIT:
        raise ValueError(f"expected {UNIT_HINT}, got {value!r}")
    hours = float(match.group(1)) * HOURS_PER_UNIT[match.group(2)]
    if not hours <= MAX_DURATION_HOURS:  # also catches inf and nan
        raise ValueError(f"expected a duration of at most 100 years, got {value[:40]!r}")
    return hours


def format_hours(hours: float) -> str:
    """Render hours in the largest unit that keeps the number readable."""
    if hours != hours:  # NaN
        return "n/a"
    magnitude = abs(hours)
    if magnitude >= 48:
        return f"{hours / 24:.1f} d"
    if magnitude >= 1:
        return f"{hours:.1f} h"
    if magnitude >= 1 / 60:
        return f"{hours * 60:.1f} min"
    return f"{hours * 3600:.0f} s"
