"""Working calendars at their edges: daylight saving, holidays, night shifts, a zone of their own.

The clock is hours since the scenario's start at 00:00 in the scenario's time zone; each
assertion is an exact clock time worked out by hand in the comment beside it.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from pydantic import ValidationError

from funnelsim import theory
from funnelsim.capacity import offered_load
from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import ScenarioError, load_scenario
from funnelsim.scenario.schema import Calendar

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def build(start: str, clock_zone: str, horizon_hours: float = 24 * 14, **spec: object) -> WorkCalendar:
    return WorkCalendar.build(Calendar(**spec), dt.date.fromisoformat(start), clock_zone, horizon_hours)


# --- daylight saving ----------------------------------------------------------------------------


def test_a_shift_over_the_spring_forward_night_in_berlin_is_an_hour_short():
    # clock zero: Sat 2026-03-28 00:00 CET = 03-27 23:00 UTC. Sunday 03-29 01:00 CET is 25 h later;
    # at 02:00 the clocks jump to 03:00 CEST, so 04:00 CEST (02:00 UTC) is only 27 h after zero.
    cal = build("2026-03-28", "Europe/Berlin", days=EVERY_DAY, hours="01:00-04:00")
    assert cal.open_span(1.5) == (1.0, 4.0)  # Saturday, before the change: three hours
    assert cal.open_span(25.5) == (25.0, 27.0)
    assert cal.open_hours(24.0, 48.0) == 2.0
    # Monday 01:00 CEST = Sunday 23:00 UTC = 48 h after zero
    assert cal.next_open(27.0) == 48.0
    assert cal.open_span(48.0) == (48.0, 51.0)


def test_an_opening_inside_the_skipped_spring_hour_reads_as_standard_time():
    # 02:30 does not exist on 2026-03-29 in Berlin; it is taken with the offset before the jump
    # (CET, UTC+1): 01:30 UTC, 26.5 h after zero, which the wall clock shows as 03:30 CEST.
    cal = build("2026-03-28", "Europe/Berlin", days=["sun"], hours="02:30-05:00")
    assert cal.next_open(0.0) == 26.5
    assert cal.open_span(26.5) == (26.5, 27.0 + 1.0)  # 05:00 CEST = 03:00 UTC = 28 h after zero


def test_a_shift_over_the_fall_back_night_in_berlin_is_an_hour_long():
    # clock zero: Sat 2026-10-24 00:00 CEST = 10-23 22:00 UTC. Sunday 10-25 01:00 CEST = 23:00 UTC,
    # 25 h after zero; at 03:00 CEST the clocks go back to 02:00 CET, so 04:00 CET (03:00 UTC) is 29 h.
    cal = build("2026-10-24", "Europe/Berlin", days=EVERY_DAY, hours="01:00-04:00")
    assert cal.open_span(25.0) == (25.0, 29.0)
    assert cal.open_hours(24.0, 48.0) == 4.0
    assert cal.next_open(29.0) == 50.0  # Monday 01:00 CET = 00:00 UTC: Sunday had 25 hours


def test_an_opening_in_the_repeated_autumn_hour_is_its_first_occurrence():
    # 02:30 happens twice on 2026-10-25 in Berlin; the calendar opens at the first (CEST, 00:30 UTC)
    cal = build("2026-10-24", "Europe/Berlin", days=["sun"], hours="02:30-03:30")
    assert cal.open_span(26.5) == (26.5, 28.5)  # and closes at 03:30 CET = 02:30 UTC


def test_new_york_falls_back_a_week_after_berlin_so_the_gap_between_offices_changes_twice():
    # clock in Berlin from Mon 2026-10-19 (CEST, zero = 10-18 22:00 UTC); a New York office 09:00-17:00.
    # Mon 10-19: 09:00 EDT = 13:00 UTC = 15 h. Mon 10-26 (Berlin on CET, New York still on EDT):
    # Berlin midnight = 10-25 23:00 UTC = 169 h; 13:00 UTC is 183 h. Mon 11-02 (both on standard
    # time): Berlin midnight = 11-01 23:00 UTC = 337 h; 09:00 EST = 14:00 UTC = 352 h.
    cal = build("2026-10-19", "Europe/Berlin", 24 * 21, days=["mon"], hours="09:00-17:00", timezone="America/New_York")
    assert cal.next_open(0.0) == 15.0
    assert cal.next_open(24.0) == 183.0
    assert cal.next_open(184.0 + 8.0) == 352.0
    assert cal.open_span(352.0) == (352.0, 360.0)


# --- holidays -----------------------------------------------------------------------------------


def test_holidays_close_whole_days_and_the_next_open_hour_skips_them():
    # Mon 2026-12-21 in UTC; Thursday 24 and Friday 25 are holidays
    cal = build(
        "2026-12-21", "UTC", days=["mon", "tue", "wed", "thu", "fri"], hours="09:00-17:00",
        holidays=["2026-12-24", "2026-12-25"],
    )  # fmt: skip
    assert cal.open_span(2 * 24 + 16.5) == (57.0, 65.0)  # Wednesday 23, open
    assert cal.open_span(3 * 24 + 10.0) is None  # Thursday 24, a holiday
    assert cal.next_open(2 * 24 + 17.0) == 7 * 24 + 9.0  # Wednesday's close -> Monday 28 09:00
    assert cal.open_hours(0.0, 7 * 24.0) == 3 * 8.0


def test_a_holiday_on_a_day_off_changes_nothing():
    plain = build("2026-12-21", "UTC", hours="09:00-17:00")
    with_sunday_holiday = build("2026-12-21", "UTC", hours="09:00-17:00", holidays=["2026-12-27"])
    assert plain.opens == with_sunday_holiday.opens and plain.closes == with_sunday_holiday.closes


# --- shifts across midnight -------------------------------------------------------------------


def test_a_night_shift_written_as_two_ranges_that_meet_at_midnight_still_works():
    # 22:00-06:00 on weeknights: 22:00-24:00 of one workday and 00:00-06:00 of the next
    cal = build("2026-01-05", "UTC", days=["mon", "tue", "wed", "thu", "fri"], hours=["22:00-24:00", "00:00-06:00"])
    assert cal.open_span(0.5) == (0.0, 6.0)  # Monday 00:30
    assert cal.open_span(23.5) == (22.0, 24.0)  # Monday 23:30
    assert cal.next_open(24.0) == 24.0  # Tuesday 00:00: the shift goes on past midnight
    assert cal.open_span(24.0) == (24.0, 30.0)
    assert cal.next_open(6.0) == 22.0
    # Friday's night ends at midnight (Saturday is no workday); Monday 00:00 opens next
    assert cal.next_open(4 * 24 + 24.0) == 7 * 24.0
    assert cal.open_hours(0.0, 7 * 24.0) == 5 * 8.0


WEEKNIGHTS = {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "22:00-06:00"}


def test_a_range_that_wraps_past_midnight_is_one_shift_into_the_next_morning():
    # clock from Mon 2026-01-05 00:00 UTC: Monday 22:00 = 22 h, Tuesday 06:00 = 30 h
    cal = build("2026-01-05", "UTC", **WEEKNIGHTS)
    assert cal.open_span(0.5) is None  # Monday 00:30: Sunday night is no shift
    assert cal.next_open(0.5) == 22.0
    assert cal.open_span(23.0) == (22.0, 30.0)  # one span, not two that meet at midnight
    assert cal.open_span(24.0 + 5.5) == (22.0, 30.0)  # Tuesday 05:30 is still Monday's shift
    assert cal.next_open(30.0) == 24.0 + 22.0
    assert cal.open_hours(0.0, 7 * 24.0) == 40.0  # five nights of eight hours
    assert cal.open_hours(7 * 24.0, 14 * 24.0) == 40.0


def test_fridays_night_shift_ends_on_saturday_morning():
    cal = build("2026-01-05", "UTC", **WEEKNIGHTS)
    # Friday 22:00 = 4 * 24 + 22 = 118 h; Saturday 06:00 = 126 h, though Saturday is not in `days`
    assert cal.open_span(5 * 24 + 3.0) == (118.0, 126.0)  # Saturday 03:00
    assert cal.open_span(5 * 24 + 6.0) is None
    assert cal.next_open(126.0) == 7 * 24 + 22.0  # next Monday 22:00


def test_the_night_before_the_clock_starts_is_on_the_calendar():
    # clock from Tue 2026-01-06: Monday's shift opened 2 h before zero and closes at 06:00
    cal = build("2026-01-06", "UTC", **WEEKNIGHTS)
    assert cal.open_span(1.0) == (-2.0, 6.0)
    assert cal.open_hours(0.0, 24.0) == 6.0 + 2.0


def test_a_holiday_on_the_start_day_removes_that_nights_whole_shift():
    # Wednesday 2026-01-07 is a holiday: no shift from Wed 22:00 to Thu 06:00; Tuesday's night,
    # which runs into the holiday's morning, is worked in full
    cal = build("2026-01-05", "UTC", holidays=["2026-01-07"], **WEEKNIGHTS)
    assert cal.open_span(2 * 24 + 3.0) == (46.0, 54.0)  # Wednesday 03:00, Tuesday's shift
    assert cal.open_span(2 * 24 + 23.0) is None  # Wednesday 23:00
    assert cal.next_open(54.0) == 3 * 24 + 22.0  # Thursday 22:00
    assert cal.open_hours(0.0, 7 * 24.0) == 32.0


def test_a_night_shift_over_the_spring_forward_night_is_an_hour_short():
    # clock zero: Sat 2026-03-28 00:00 CET = 03-27 23:00 UTC. Saturday 22:00 CET = 21:00 UTC = 22 h;
    # the clocks jump at 02:00 on Sunday, so Sunday 06:00 CEST = 04:00 UTC = 29 h: seven hours' work
    cal = build("2026-03-28", "Europe/Berlin", days=["sat"], hours="22:00-06:00")
    assert cal.open_span(23.0) == (22.0, 29.0)
    assert cal.open_hours(0.0, 7 * 24.0) == 7.0


def test_a_night_shift_over_the_fall_back_night_is_an_hour_long():
    # clock zero: Sat 2026-10-24 00:00 CEST = 10-23 22:00 UTC. Saturday 22:00 CEST = 20:00 UTC = 22 h;
    # the clocks go back at 03:00 on Sunday, so Sunday 06:00 CET = 05:00 UTC = 31 h: nine hours' work
    cal = build("2026-10-24", "Europe/Berlin", days=["sat"], hours="22:00-06:00")
    assert cal.open_span(23.0) == (22.0, 31.0)
    assert cal.open_hours(0.0, 7 * 24.0) == 9.0


def test_a_wrapping_range_is_held_as_hours_after_its_start_days_midnight_and_written_back_as_given():
    night = Calendar(hours="22:00-06:00")
    assert night.hours == [(22.0, 30.0)]
    assert night.model_dump(mode="json")["hours"] == ["22:00-06:00"]
    late = Calendar(hours=["08:00-12:00", "22:30-00:00"])  # closing at midnight is no wrap
    assert late.hours == [(8.0, 12.0), (22.5, 24.0)]
    assert late.model_dump(mode="json")["hours"] == ["08:00-12:00", "22:30-24:00"]
    assert Calendar.model_validate(night.model_dump(mode="json")) == night


def test_a_night_calendar_loads_from_a_scenario_file_override():
    scenario = load_scenario("baseline", ['calendars.night={"hours": "22:00-06:00"}', "sales.sdr.calendar=night"])
    assert scenario.calendars["night"].hours == [(22.0, 30.0)]
    cal = WorkCalendar.build(scenario.calendar("night"), scenario.start, scenario.timezone, scenario.horizon)
    assert cal.open_hours(0.0, 7 * 24.0) == 40.0


NIGHT_DESK = [
    'calendars.night={"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "22:00-06:00"}',
    "sales.sdr.calendar=night",
    "horizon=4w",
    "warmup=0",
]


def test_the_closed_forms_read_a_night_shift_as_the_calendar_does():
    # weeknights 22:00-06:00: closed 06:00-22:00 on Tuesday to Friday (16 h) and Saturday 06:00 to
    # Monday 22:00 (64 h), the office week shifted by 13 hours
    week = theory.office_week(range(5), Calendar(**WEEKNIGHTS).hours)
    assert sum(b - a for a, b in week) == 40.0
    assert theory.weekly_closed_gaps(week) == [16.0, 16.0, 16.0, 16.0, 64.0]
    assert theory.calendar_mean_delay(week) == pytest.approx((4 * 16**2 + 64**2) / 2 / 168)
    # Sunday's night runs past the week's end (166-174 h): closed Monday 06:00 until Sunday 22:00
    sunday = theory.office_week([6], Calendar(hours="22:00-06:00").hours)
    assert sunday == [(166.0, 174.0)]
    assert theory.weekly_closed_gaps(sunday) == [160.0]


def test_the_desk_and_its_capacity_figures_work_the_night_shift():
    scenario = load_scenario("baseline", NIGHT_DESK)
    assert offered_load(scenario).desk.open_hours_per_week == 40.0
    records = simulate(scenario, 1)
    assert records.sdr_open_hours == 4 * 40.0
    calendar = WorkCalendar.build(scenario.calendar("night"), scenario.start, scenario.timezone, scenario.horizon)
    starts = np.asarray(records.attempt_start)
    assert all(calendar.open_span(t) is not None for t in starts)
    # clock zero is Monday 00:00 in the scenario zone: Saturday before 06:00 is Friday's shift
    saturday_morning = ((starts % 168) >= 5 * 24) & ((starts % 168) < 5 * 24 + 6)
    assert saturday_morning.sum() > 0


def test_a_range_that_opens_and_closes_at_once_or_runs_into_the_next_days_hours_is_refused():
    with pytest.raises(ValidationError, match="expected opening and closing at different times, got '09:00-09:00'"):
        Calendar(hours="09:00-09:00")
    with pytest.raises(ValidationError, match=r"opening before 24:00.*'24:00-06:00'"):
        Calendar(hours="24:00-06:00")
    with pytest.raises(ValidationError, match="a night shift runs into the next day's hours"):
        Calendar(hours=["05:00-09:00", "22:00-06:00"])
    Calendar(hours=["06:00-09:00", "22:00-06:00"])  # meeting at 06:00 is no overlap
    with pytest.raises(ScenarioError, match=r"calendars\.night\.hours: .*'09:00-09:00'"):
        load_scenario("baseline", ['calendars.night={"hours": "09:00-09:00"}'])


def test_overlapping_ranges_are_refused():
    with pytest.raises(ValidationError, match="office hours overlap"):
        Calendar(hours=["09:00-13:00", "12:00-17:00"])


# --- a calendar with its own time zone -----------------------------------------------------------


def test_two_calendars_in_their_own_zones_share_one_clock():
    # clock in Europe/Berlin from Mon 2026-01-05 (zero = 01-04 23:00 UTC)
    berlin = build("2026-01-05", "Europe/Berlin", hours="09:00-17:00")
    new_york = build("2026-01-05", "Europe/Berlin", hours="09:00-17:00", timezone="America/New_York")
    assert berlin.open_span(9.0) == (9.0, 17.0)  # the clock's own zone
    assert new_york.open_span(15.0) == (15.0, 23.0)  # 09:00 EST = 14:00 UTC = 15:00 Berlin
    assert new_york.next_open(9.0) == 15.0
    assert berlin.next_open(17.0) == 24.0 + 9.0
    # Mon 03-09: New York is on EDT since 03-08, Berlin still on CET, so the gap is five hours
    assert new_york.next_open(63 * 24.0) == 63 * 24.0 + 14.0
    assert berlin.next_open(63 * 24.0) == 63 * 24.0 + 9.0


def test_a_calendar_without_a_zone_follows_the_scenario_zone():
    own = build("2026-01-05", "Asia/Tokyo", hours="09:00-17:00")
    tokyo = build("2026-01-05", "Asia/Tokyo", hours="09:00-17:00", timezone="Asia/Tokyo")
    assert own.opens == tokyo.opens and own.opens[:2] == [9.0, 33.0]


def test_the_always_calendar_is_open_at_every_instant():
    cal = WorkCalendar.always()
    assert cal.open_span(123.4) == (-math.inf, math.inf)
    assert cal.next_open(123.4) == 123.4
    assert cal.open_hours(10.0, 34.5) == 24.5


def test_past_the_last_known_shift_there_is_no_next_opening():
    cal = build("2026-01-05", "UTC", 24.0, hours="09:00-17:00")
    assert cal.next_open(cal.closes[-1]) == math.inf
