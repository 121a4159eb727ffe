"""Field types shared by the scenario schema's sections: durations in hours, chances, money,
distributions, headcounts, cadences, and the strict base model (unknown keys are errors).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from funnelsim.scenario.distributions import Distribution, parse_distribution
from funnelsim.scenario.units import parse_duration_hours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "always"  # the name of the 24/7 calendar


def _duration(value: Any) -> float:
    return parse_duration_hours(value)


_as_hours = PlainSerializer(lambda hours: f"{float(hours)!r}h", return_type=str)
_as_spec = PlainSerializer(lambda dist: dist.to_spec())
Hours = Annotated[float, BeforeValidator(_duration), Field(ge=0), _as_hours]
PositiveHours = Annotated[float, BeforeValidator(_duration), Field(gt=0), _as_hours]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]  # per lead or per month
Factor = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
DurationDist = Annotated[Distribution, BeforeValidator(lambda v: parse_distribution(v, "duration")), _as_spec]
AmountDist = Annotated[Distribution, BeforeValidator(lambda v: parse_distribution(v, "amount")), _as_spec]
FractionDist = Annotated[Distribution, BeforeValidator(lambda v: parse_distribution(v, "fraction")), _as_spec]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _increasing(offsets: list[float]) -> list[float]:
    if any(b < a for a, b in pairwise(offsets)):
        raise ValueError("expected offsets in increasing order")
    return offsets


Cadence = Annotated[list[Hours], AfterValidator(_increasing)]  # offsets from a start, in order


MAX_HEADCOUNT = 10_000  # more reps than this is a typo; use 'unlimited' for no bottleneck


def _headcount(value: Any) -> int | str:
    """A number of people (at least 1), or 'unlimited' (never a bottleneck)."""
    if value == "unlimited":
        return value
    shown = repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a whole number of people (at least 1) or 'unlimited', got {shown}")
    if value > MAX_HEADCOUNT:
        raise ValueError(f"expected at most {MAX_HEADCOUNT:,} people (or 'unlimited'), got {shown}")
    return value


Headcount = Annotated[int | str, BeforeValidator(_headcount)]


class Strict(BaseModel):
    """Unknown keys are errors and a loaded scenario never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def check_timezone(name: str | None) -> str | None:
    if name is None:
        return None
    shown = name if len(name) <= 60 else name[:57] + "..."
    try:
        if len(name) > 100 or "\0" in name:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):  # a folder such as 'Europe' is an OSError
        raise ValueError(f"expected an IANA time zone such as 'Europe/Berlin', got {shown!r}") from None
    return name
