"""The scenario schema: every quantity of the funnel as a validated, immutable field.

Durations are parsed into hours and distributions into `Distribution` objects here, so the
model reads numbers in model units and never parses text. The field types live in `fields.py`
and the sales section in `sales_schema.py`; this module re-exports both.
"""

from __future__ import annotations

import datetime as dt
import re
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import Field, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError

from funnelsim.scenario.distributions import constant
from funnelsim.scenario.fields import (
    ALWAYS,
    WEEKDAYS,
    AmountDist,
    Cadence,
    DurationDist,
    Factor,
    FractionDist,
    Headcount,
    Hours,
    Money,
    NonNegative,
    PositiveHours,
    Probability,
    Strict,
    Weekday,
    check_timezone,
)
from funnelsim.scenario.names import component_problem
from funnelsim.scenario.sales_schema import (
    QUEUE_DISCIPLINES,
    AePool,
    AutoTouch,
    Decay,
    FastDecay,
    FitChance,
    Routing,
    Sales,
    SdrPool,
    SlowDecay,
)
from funnelsim.scenario.units import HOURS_PER_WEEK

__all__ = [
    "ALWAYS", "BUILTIN_CALENDARS", "BUILTIN_PROFILES", "QUEUE_DISCIPLINES", "WEEKDAYS", "AePool", "AmountDist",
    "AutoTouch", "Burst", "Cadence", "Calendar", "Channel", "Costs", "Decay", "DurationDist", "Factor", "FastDecay",
    "FitChance", "FractionDist", "Headcount", "Hours", "Money", "MqlRule", "NonNegative", "Nurture", "PositiveHours",
    "Probability", "Profile", "Retention", "Routing", "Sales", "Scenario", "SdrPool", "SelfServe", "SlowDecay",
    "Strict", "Weekday", "format_hour_range", "parse_hour_range",
]  # fmt: skip

_HOUR_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def parse_hour_range(text: str) -> tuple[float, float]:
    """'09:00-17:00' -> (9.0, 17.0) in local hours after the day's midnight.

    A range that closes at or before it opens runs across midnight into the next morning, so
    '22:00-06:00' -> (22.0, 30.0): the closing hour is counted on from the day the shift starts.
    """
    match = _HOUR_RANGE.match(text.strip())
    if not match:
        raise ValueError(f"expected office hours like '09:00-17:00', got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens, closes = h1 + m1 / 60, h2 + m2 / 60
    if not (0 <= opens < 24 and 0 <= closes <= 24) or m1 > 59 or m2 > 59:
        raise ValueError(f"expected times of day from 00:00 to 24:00 (opening before 24:00), got {text!r}")
    if closes == opens:
        raise ValueError(f"expected opening and closing at different times, got {text!r}")
    if closes < opens:  # a night shift: it closes the next morning
        closes += 24
    return opens, closes


def format_hour_range(opens: float, closes: float) -> str:
    """(22.0, 30.0) -> '22:00-06:00': a range as the scenario file writes it."""
    return f"{_hhmm(opens)}-{_hhmm(closes - 24 if closes > 24 else closes)}"


def _hhmm(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


WORKWEEK: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class Calendar(Strict):
    """When a pool of reps works: weekdays, office hours, time zone and holidays.

    Each range of `hours` is worked on each of the `days`. A range that closes at or before it
    opens (`22:00-06:00`) runs across midnight: it belongs to the day it starts, so a Friday
    22:00-06:00 shift ends on Saturday at 06:00 even though Saturday is not in `days`, and a
    holiday on a start day removes that night's whole shift (a holiday on the morning after
    leaves it alone). Such a range is held as (22.0, 30.0), hours after the start day's midnight,
    so whatever reads the calendar needs no rule of its own for it.
    """

    days: list[Weekday] = Field(default_factory=lambda: list(WORKWEEK), min_length=1)
    hours: list[tuple[float, float]] = Field(default_factory=lambda: [(9.0, 17.0)])
    timezone: str | None = None
    holidays: list[dt.date] = Field(default_factory=list)

    @field_validator("hours", mode="before")
    @classmethod
    def _parse_hours(cls, value: Any) -> Any:
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ValueError(f"expected office hours like '09:00-17:00' or a list of them, got {value!r}")
        if not texts:
            raise ValueError("expected at least one range of office hours, e.g. '09:00-17:00'")
        ranges = sorted(parse_hour_range(t) for t in texts)
        for (_, end), (start, _) in pairwise(ranges):
            if start < end:
                raise ValueError(f"office hours overlap: {texts!r}")
        if ranges[-1][1] - 24 > ranges[0][0]:  # the night shift runs into the next day's first range
            raise ValueError(f"office hours overlap: {texts!r} (a night shift runs into the next day's hours)")
        return ranges

    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))

    @field_serializer("hours")
    def _hours_text(self, hours: list[tuple[float, float]]) -> list[str]:
        return [format_hour_range(a, b) for a, b in hours]


EARLIEST, LATEST = dt.datetime(1900, 1, 1), dt.datetime(2300, 1, 1)


def _dated(value: dt.datetime) -> dt.datetime:
    """A moment the calendars can handle (and the clock, with a century of horizon after it)."""
    if not EARLIEST <= value.replace(tzinfo=None) < LATEST:
        raise ValueError(f"expected a date from {EARLIEST:%Y} to {LATEST.year - 1}, got {value:%Y-%m-%d}")
    return value


BUILTIN_CALENDARS = {ALWAYS: None}  # None marks the 24/7 calendar


Weight = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]


class Profile(Strict):
    """Relative arrival intensity by local hour of day and day of week (normalised to mean 1)."""

    hours: list[Weight] = Field(default_factory=lambda: [1.0] * 24, min_length=24, max_length=24)
    days: list[Weight] = Field(default_factory=lambda: [1.0] * 7, min_length=7, max_length=7)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Profile:
        if sum(self.hours) <= 0 or sum(self.days) <= 0:
            raise ValueError("a profile needs some positive weight in hours and in days")
        return self


# Web leads cluster in working hours: roughly 3/4 of B2B form fills arrive Monday to Friday
# between 08:00 and 18:00 (a common shape in marketing-automation reports); this profile
# puts 73% of the week's leads there.
BUILTIN_PROFILES: dict[str, Profile] = {
    "flat": Profile(),
    "office_peak": Profile(
        hours=[0.2] * 7 + [0.6] + [1.6] * 10 + [0.8, 0.6, 0.5, 0.4, 0.3, 0.2],
        days=[1.2, 1.2, 1.2, 1.1, 1.0, 0.35, 0.3],
    ),
}


class Burst(Strict):
    """A dated campaign: extra leads spread evenly over a window."""

    at: dt.datetime
    extra_leads: float = Field(ge=0, le=1e9, allow_inf_nan=False)
    over: PositiveHours = 24.0

    @field_validator("at", mode="before")
    @classmethod
    def _date_is_midnight(cls, value: Any) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time())
        return value

    @field_validator("at")
    @classmethod
    def _in_calendar_range(cls, value: dt.datetime) -> dt.datetime:
        return _dated(value)


class Channel(Strict):
    """A demand-generation channel: its lead rate, profile, lead attributes and cost."""

    leads_per_week: float = Field(ge=0, le=1e8, allow_inf_nan=False)
    profile: str = "flat"
    fit: FractionDist = Field(default_factory=lambda: constant(0.5, "fraction"))
    # buying intent in [0, 1]: each nurture touch engages with chance nurture.engage x intent
    intent: FractionDist = Field(default_factory=lambda: constant(1.0, "fraction"))
    deal_mrr: AmountDist | None = None
    cost_per_lead: Money = 0.0
    bursts: list[Burst] = Field(default_factory=list)


class MqlRule(Strict):
    """A lead is marketing-qualified when both thresholds are met."""

    fit_min: Probability = 0.0
    engagement_min: int = Field(1, ge=0, le=1000)


class Nurture(Strict):
    """The cadence of automated touches from capture to MQL."""

    touches: Cadence = Field(default_factory=lambda: [0.0, 48.0, 120.0, 216.0, 336.0, 504.0, 720.0], max_length=1000)
    engage: Probability = 0.25
    opt_out: Probability = 0.02
    max_length: Hours | None = None
    mql: MqlRule = Field(default_factory=MqlRule)


class SelfServe(Strict):
    """Bottom of funnel with no rep: trials that convert on their own."""

    trial: Probability = 0.0
    convert: Probability = 0.0
    trial_length: Hours = 14 * 24.0
    reps_work_trials: bool = False


class Retention(Strict):
    """Customers pay monthly until they churn; poor fit churns faster; loyal ones expand."""

    monthly_churn: Probability = 0.02
    poor_fit_below: Probability = 0.4
    poor_fit_churn_factor: Factor = 1.0
    expansion_per_year: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)  # up to +200% a year
    cohort_months: int = Field(12, ge=1, le=600)
    """Cohort revenue counts each new customer's billing over its first this many months."""
    ltv_horizon: PositiveHours = 5 * 8766.0  # LTV counts at most this long after the sale (5 years)
    discount_rate: float = Field(0.0, ge=0, le=1, allow_inf_nan=False)  # annual rate at which LTV discounts


class Costs(Strict):
    """Costs for CAC and payback: team, fixed (managers, tools); cost per lead lives on each
    channel and the cost of an option on the option (e.g. `sales.auto_touch.cost_per_month`)."""

    sdr_per_month: Money = 0.0
    ae_per_month: Money = 0.0
    fixed_per_month: Money = 0.0
    gross_margin: Probability = 0.8


class Scenario(Strict):
    """One validated, immutable scenario: the whole funnel and its time frame."""

    name: str = Field(min_length=1)
    description: str = ""
    start: dt.date
    horizon: PositiveHours
    warmup: Hours = 0.0
    follow_up: Hours | Literal["auto"] = "auto"
    """After the horizon no lead arrives, and the model runs on this long so that the window's
    leads reach their outcome; `auto` derives it from the funnel (see `follow_up_hours`)."""
    timezone: str = "UTC"
    currency: str = "USD"
    calendars: dict[str, Calendar] = Field(default_factory=dict)
    profiles: dict[str, Profile] = Field(default_factory=dict)
    channels: dict[str, Channel] = Field(min_length=1)
    nurture: Nurture = Field(default_factory=Nurture)
    self_serve: SelfServe = Field(default_factory=SelfServe)
    sales: Sales = Field(default_factory=Sales)
    retention: Retention = Field(default_factory=Retention)
    costs: Costs = Field(default_factory=Costs)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"expected a 3-letter ISO 4217 currency code in capitals, e.g. USD or EUR, got {value!r}")
        return value

    @field_validator("start")
    @classmethod
    def _start_in_range(cls, value: dt.date) -> dt.date:
        return _dated(dt.datetime.combine(value, dt.time())).date()

    @field_validator("name")
    @classmethod
    def _one_folder_name(cls, name: str) -> str:
        problem = component_problem(name)
        if problem:
            raise ValueError(f"the name is used as the results folder name: {problem}")
        return name

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        """Checks across fields, all reported at once, each at its own field path."""
        problems: list[tuple[tuple, str]] = []
        if self.warmup >= self.horizon:
            problems.append(
                (("warmup",), f"expected a warm-up shorter than the horizon ({self.warmup:g} h >= {self.horizon:g} h)")
            )
        known_profiles = set(BUILTIN_PROFILES) | set(self.profiles)
        for name, channel in self.channels.items():
            if channel.profile not in known_profiles:
                problems.append(
                    (
                        ("channels", name, "profile"),
                        f"unknown profile {channel.profile!r}; expected one of {', '.join(sorted(known_profiles))}",
                    )
                )
        known_calendars = set(BUILTIN_CALENDARS) | set(self.calendars)
        for pool, calendar in (("sdr", self.sales.sdr.calendar), ("ae", self.sales.ae.calendar)):
            if calendar not in known_calendars:
                problems.append(
                    (
                        ("sales", pool, "calendar"),
                        f"unknown calendar {calendar!r}; expected one of {', '.join(sorted(known_calendars))}",
                    )
                )
        nurture = self.nurture
        touches = [t for t in nurture.touches if nurture.max_length is None or t <= nurture.max_length]
        if nurture.mql.engagement_min > len(touches):
            problems.append(
                (
                    ("nurture", "mql", "engagement_min"),
                    f"expected at most the number of nurture touches ({len(touches)}), got "
                    f"{nurture.mql.engagement_min}: no lead could ever become an MQL",
                )
            )
        if problems:
            summary = "; ".join(f"{'.'.join(map(str, path))}: {message}" for path, message in problems)
            raise PydanticCustomError("cross_field", "{summary}", {"summary": summary, "problems": problems})
        return self

    @property
    def follow_up_hours(self) -> float:
        """How long the model runs on after the horizon. `auto`: the longest a lead can take
        from arrival to its outcome at the 99th percentile: nurture, then a week in the SAL queue,
        the cadence (each follow-up at least `min_gap` apart), patience, the trial and the sales
        cycle (each at its 99th percentile), then a week's slack for the AE calendar."""
        if self.follow_up != "auto":
            return float(self.follow_up)
        week = HOURS_PER_WEEK
        nurture = self.nurture.max_length or (self.nurture.touches[-1] if self.nurture.touches else 0.0)
        sdr = self.sales.sdr
        cadence = sdr.attempts[-1] + len(sdr.attempts) * sdr.min_gap
        if self.sales.patience is not None:
            cadence = min(cadence, self.sales.patience.quantile(0.99))
        trial = self.self_serve.trial_length if self.self_serve.trial > 0 else 0.0
        cycle = self.sales.ae.cycle.quantile(0.99)
        return nurture + week + max(cadence, trial) + cycle + week

    def profile(self, name: str) -> Profile:
        return self.profiles.get(name) or BUILTIN_PROFILES[name]

    def calendar(self, name: str) -> Calendar | None:
        """The named calendar, or None for the 24/7 calendar."""
        return None if name == ALWAYS else self.calendars[name]

    def expected_leads(self) -> float:
        """Leads one replication is expected to create (for the size guard); bursts count inside the horizon."""
        weeks = self.horizon / HOURS_PER_WEEK
        zero = dt.datetime.combine(self.start, dt.time())
        total = 0.0
        for channel in self.channels.values():
            total += channel.leads_per_week * weeks
            for burst in channel.bursts:
                begin = (burst.at.replace(tzinfo=None) - zero).total_seconds() / 3600
                inside = max(0.0, min(begin + burst.over, self.horizon) - max(begin, 0.0))
                total += burst.extra_leads * inside / burst.over
        return total
