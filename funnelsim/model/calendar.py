"""Working calendars on the model clock: when reps are on shift.

The clock is a float number of hours since the scenario's `start` date at 00:00 in the
scenario time zone. A calendar is precomputed once into sorted open intervals on that clock,
with each calendar's own time zone, daylight saving and holidays applied. A night shift
(`22:00-06:00`, held by the schema as 22-30 h after its start day's midnight) is one interval
that ends on the next morning's wall clock, so a change of clocks overnight lengthens or shortens it.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from funnelsim.scenario.schema import WEEKDAYS, Calendar

UTC = dt.UTC
SPARE_DAYS_AFTER_HORIZON = 60


def clock_zero(start: dt.date, timezone: str) -> dt.datetime:
    """The instant (UTC) at which the clock reads 0."""
    return dt.datetime.combine(start, dt.time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def to_clock_hours(moment: dt.datetime, start: dt.date, timezone: str) -> float:
    """A naive local datetime (scenario zone) or an aware one, as clock hours."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return (moment.astimezone(UTC) - clock_zero(start, timezone)).total_seconds() / 3600


class WorkCalendar:
    """Open intervals [opens[i], closes[i]) on the clock; `None` spec means open around the clock."""

    def __init__(self, opens: Sequence[float], closes: Sequence[float], always_open: bool = False) -> None:
        self.opens = list(opens)
        self.closes = list(closes)
        self.always_open = always_open

    @classmethod
    def always(cls) -> WorkCalendar:
        return cls([], [], always_open=True)

    @classmethod
    def build(cls, spec: Calendar | None, start: dt.date, clock_timezone: str, horizon_hours: float) -> WorkCalendar:
        """The calendar `spec` on the clock that starts at `start` in `clock_timezone`, to the horizon
        and some spare days. Built once per calendar and clock: every replication shares the intervals."""
        if spec is None:
            return cls.always()
        shape = (tuple(spec.days), tuple(spec.hours), spec.timezone, tuple(spec.holidays))
        opens, closes = _open_intervals(shape, start, clock_timezone, horizon_hours)
        return cls(opens, closes)

    def open_span(self, t: float) -> tuple[float, float] | None:
        """The open interval [opens, closes) that contains t, or None if closed at t."""
        if self.always_open:
            return (-math.inf, math.inf)
        i = bisect_right(self.opens, t) - 1
        if i >= 0 and t < self.closes[i]:
            return (self.opens[i], self.closes[i])
        return None

    def next_open(self, t: float) -> float:
        """The earliest time >= t at which the calendar is open (inf if none is known)."""
        if self.always_open:
            return t
        i = bisect_right(self.opens, t) - 1
        if i >= 0 and t < self.closes[i]:
            return t
        return self.opens[i + 1] if i + 1 < len(self.opens) else math.inf

    def open_hours(self, begin: float, end: float) -> float:
        """Hours the calendar is open within [begin, end)."""
        if end <= begin:
            return 0.0
        if self.always_open:
            return end - begin
        opens, closes = np.asarray(self.opens), np.asarray(self.closes)
        return float(np.clip(np.minimum(closes, end) - np.maximum(opens, begin), 0, None).sum())


CalendarShape = tuple[tuple[str, ...], tuple[tuple[float, float], ...], str | None, tuple[dt.date, ...]]
"""A calendar spec as a hashable key: its days, office hours, time zone and holidays."""


@lru_cache(maxsize=64)
def _open_intervals(
    shape: CalendarShape, start: dt.date, clock_timezone: str, horizon_hours: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The open intervals of a calendar on the clock, as (opens, closes), each in time order."""
    days, hours, timezone, holiday_list = shape
    zone = ZoneInfo(timezone or clock_timezone)
    zero = clock_zero(start, clock_timezone)
    workdays = {WEEKDAYS.index(d) for d in days}
    holidays = set(holiday_list)
    opens: list[float] = []
    closes: list[float] = []
    first = start - dt.timedelta(days=2)
    last_day = int(horizon_hours // 24) + SPARE_DAYS_AFTER_HORIZON
    for offset in range(last_day + 4):
        day = first + dt.timedelta(days=offset)
        if day.weekday() not in workdays or day in holidays:
            continue
        midnight = dt.datetime.combine(day, dt.time())
        for open_hour, close_hour in hours:
            opens.append(_clock(midnight + dt.timedelta(hours=open_hour), zone, zero))
            closes.append(_clock(midnight + dt.timedelta(hours=close_hour), zone, zero))
    return tuple(opens), tuple(closes)


def _clock(local: dt.datetime, zone: ZoneInfo, zero: dt.datetime) -> float:
    return (local.replace(tzinfo=zone).astimezone(UTC) - zero).total_seconds() / 3600
