"""The funnel model, stage by stage: each test pins a value a broken model would get wrong."""

from __future__ import annotations

import numpy as np
import pytest

from funnelsim.metrics import interval
from funnelsim.model.records import Reason
from funnelsim.model.simulate import simulate

from .conftest import make_scenario

MONDAY_0900 = 7 * 24 + 9.0  # clock hours from Monday 2026-01-05 00:00 to Monday 12 Jan 09:00
OFFICE = {"office": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"}}
FRIDAY_EVENING_BURST = {"leads_per_week": 0, "bursts": [{"at": "2026-01-09T18:00", "extra_leads": 20, "over": "1min"}]}


def rates_over_seeds(scenario, measure, seeds=range(12)):
    """Mean and 95% interval of a per-replication measurement."""
    values = np.array([measure(simulate(scenario, seed)) for seed in seeds], dtype=float)
    mean, low, high, _ = interval(values)
    return mean, low, high


# --- calendar -------------------------------------------------------------------------------


def first_contacts(**override):
    records = simulate(make_scenario(**override), 5)
    contacted = records.leads["first_contact_at"]
    return contacted[~np.isnan(contacted)], records


def test_friday_evening_lead_waits_for_monday_opening():
    contacts, records = first_contacts(
        calendars=OFFICE, channels={"web": FRIDAY_EVENING_BURST}, sales={"sdr": {"count": 2, "calendar": "office"}}
    )
    assert records.n_leads > 10
    assert contacts.min() == MONDAY_0900
    assert np.count_nonzero(contacts == MONDAY_0900) == 2  # both reps start on the dot


def test_a_holiday_monday_moves_first_contact_to_tuesday():
    office = {"office": OFFICE["office"] | {"holidays": ["2026-01-12"]}}
    contacts, _ = first_contacts(
        calendars=office, channels={"web": FRIDAY_EVENING_BURST}, sales={"sdr": {"count": 2, "calendar": "office"}}
    )
    assert contacts.min() == MONDAY_0900 + 24


def test_calendar_time_zone_shifts_office_hours():
    new_york = {"office": OFFICE["office"] | {"timezone": "America/New_York"}}
    at_six_pm = {"web": FRIDAY_EVENING_BURST}  # 18:00 in Berlin is noon in New York: answered at once
    contacts, _ = first_contacts(
        calendars=new_york, channels=at_six_pm, sales={"sdr": {"count": 2, "calendar": "office"}}
    )
    assert 4 * 24 + 18 <= contacts.min() < 4 * 24 + 18.01
    late = {"web": FRIDAY_EVENING_BURST | {"bursts": [{"at": "2026-01-09T23:30", "extra_leads": 20, "over": "1min"}]}}
    contacts, _ = first_contacts(calendars=new_york, channels=late, sales={"sdr": {"count": 2, "calendar": "office"}})
    assert contacts.min() == MONDAY_0900 + 6  # 09:00 in New York is 15:00 in Berlin in January


def test_daylight_saving_moves_the_clock_hour_of_opening():
    # Berlin moves to summer time on 2026-03-29: 09:00 local is then one clock hour earlier
    # relative to a clock that started at winter midnight.
    march_30 = (31 + 28 + 29 - 4) * 24.0  # Monday 2026-03-30 00:00 winter-clock hours since Jan 5
    burst = {"leads_per_week": 0, "bursts": [{"at": "2026-03-28T12:00", "extra_leads": 10, "over": "1min"}]}
    contacts, _ = first_contacts(
        horizon="90d", calendars=OFFICE, channels={"web": burst}, sales={"sdr": {"count": 1, "calendar": "office"}}
    )
    assert contacts.min() == march_30 + 9 - 1


def test_no_contact_attempt_starts_outside_office_hours():
    contacts, _ = first_contacts(horizon="35d", calendars=OFFICE, sales={"sdr": {"count": 1, "calendar": "office"}})
    local_hour = contacts % 24
    weekday = (contacts // 24) % 7
    assert len(contacts) > 300
    assert np.all((local_hour >= 9) & (local_hour < 17))
    assert np.all(weekday < 5)


# --- stage probabilities -------------------------------------------------------------------

PRODUCT = {
    "horizon": "56d",
    "channels": {"good_fit": {"leads_per_week": 300, "fit": 1.0}, "half_fit": {"leads_per_week": 300, "fit": 0.5}},
    "nurture": {"touches": ["0h"], "engage": 0.6, "opt_out": 0.0, "mql": {"engagement_min": 1, "fit_min": 0}},
    "sales": {
        "accept": 0.8,
        "sdr": {"count": "unlimited"},
        "qualify": {"chance": 0.5, "fit_weight": 1.0},
        "ae": {"count": "unlimited", "cycle": "1d", "win": 0.4},
    },
}


@pytest.mark.parametrize(("channel", "expected"), [(0, 0.6 * 0.8 * 0.5 * 0.4), (1, 0.6 * 0.8 * 0.25 * 0.4)])
def test_unlimited_reps_convert_at_the_product_of_stage_probabilities(channel, expected):
    scenario = make_scenario(**PRODUCT)

    def converted(records):
        leads = records.leads
        mine = (leads["channel"] == channel) & (leads["arrival_at"] < scenario.horizon - 48)
        return np.count_nonzero(mine & (leads["reason"] == Reason.ASSISTED)) / np.count_nonzero(mine)

    _, low, high = rates_over_seeds(scenario, converted)
    assert low <= expected <= high
    assert high - low < 0.15 * expected  # the interval is tight enough to catch a wrong factor


def test_nurture_mql_chance_is_the_binomial_tail_times_fit_share():
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 2000, "fit": {"uniform": {"low": 0, "high": 1}}}},
        nurture={
            "touches": ["0h", "1d", "2d"],
            "engage": 0.5,
            "opt_out": 0.0,
            "mql": {"engagement_min": 2, "fit_min": 0.3},
        },
        sales={"sdr": {"count": "unlimited"}},
    )
    records = simulate(scenario, 1)
    leads = records.leads
    settled = leads["arrival_at"] < scenario.horizon - 72
    share = np.count_nonzero(settled & ~np.isnan(leads["mql_at"])) / np.count_nonzero(settled)
    expected = 0.5 * 0.7  # P(Binomial(3, 0.5) >= 2) x P(fit >= 0.3)
    assert share == pytest.approx(expected, abs=3 * np.sqrt(expected * (1 - expected) / settled.sum()))
    offsets = (leads["mql_at"] - leads["arrival_at"])[~np.isnan(leads["mql_at"])]
    assert set(np.round(offsets, 9)) == {24.0, 48.0}  # MQL at the touch that crosses the threshold


def test_channel_intent_scales_the_engagement_chance():
    scenario = make_scenario(
        channels={"keen": {"leads_per_week": 1500, "intent": 1.0}, "browsing": {"leads_per_week": 1500, "intent": 0.5}},
        nurture={"touches": ["0h"], "engage": 0.6, "opt_out": 0.0, "mql": {"engagement_min": 1}},
        sales={"sdr": {"count": "unlimited"}},
    )
    leads = simulate(scenario, 5).leads
    for code, expected in ((0, 0.6), (1, 0.3)):
        mine = leads["channel"] == code
        share = np.count_nonzero(mine & ~np.isnan(leads["mql_at"])) / np.count_nonzero(mine)
        assert share == pytest.approx(expected, abs=3 * np.sqrt(expected * (1 - expected) / mine.sum()))


def test_opt_out_ends_nurture_with_its_reason():
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 2000}},
        nurture={"touches": ["0h", "1d", "2d"], "engage": 0.0, "opt_out": 0.1, "mql": {"engagement_min": 1}},
    )
    leads = simulate(scenario, 1).leads
    settled = leads["arrival_at"] < scenario.horizon - 72
    opted = np.count_nonzero(settled & (leads["reason"] == Reason.OPTED_OUT)) / np.count_nonzero(settled)
    assert opted == pytest.approx(1 - 0.9**3, abs=0.015)
    assert np.all(leads["reason"][settled & (leads["reason"] != Reason.OPTED_OUT)] == Reason.NOT_ENGAGED)


# --- speed to lead -------------------------------------------------------------------------


@pytest.mark.parametrize(("auto_touch", "expected"), [(False, 0.25 * 0.25), (True, 0.5 * 0.5)])
def test_decay_lowers_reach_and_qualification_and_auto_touch_slows_it(auto_touch, expected):
    # every lead is first contacted exactly 2 h after MQL; half-life 1 h gives interest 0.25
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 1000}},
        sales={
            "sdr": {"count": "unlimited", "attempts": ["2h"]},
            "decay": {"half_life": "1h"},
            "auto_touch": {"enabled": auto_touch, "decay_slowdown": 2},
            "qualify": 1.0,
        },
    )

    def sql_rate(records):
        leads = records.leads
        settled = leads["sal_at"] < scenario.horizon - 3
        return np.count_nonzero(settled & ~np.isnan(leads["sql_at"])) / np.count_nonzero(settled)

    _, low, high = rates_over_seeds(scenario, sql_rate, range(8))
    assert low <= expected <= high


def test_decay_table_is_interpolated_linearly():
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 1000}},
        sales={"sdr": {"count": "unlimited", "attempts": ["30min"]}, "decay": {"table": [["0h", 1.0], ["1h", 0.2]]}},
    )
    leads = simulate(scenario, 3).leads
    settled = leads["sal_at"] < scenario.horizon - 3
    reached = np.count_nonzero(settled & ~np.isnan(leads["reached_at"])) / np.count_nonzero(settled)
    assert reached == pytest.approx(0.6, abs=0.03)  # halfway between 1.0 and 0.2


def test_patience_runs_out_at_the_drawn_time():
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 500}},
        sales={"sdr": {"handle_time": "1000h"}, "patience": {"exponential": {"mean": "5h"}}},
    )
    leads = simulate(scenario, 4).leads
    gave_up = leads["reason"] == Reason.ABANDONED
    assert np.count_nonzero(gave_up) > 1500
    waited = leads["ended_at"][gave_up] - leads["sal_at"][gave_up]
    _, low, high, _ = interval(waited)
    assert low <= 5.0 <= high


def test_follow_up_attempts_follow_the_cadence_until_exhausted():
    scenario = make_scenario(sales={"sdr": {"count": "unlimited", "reach": 0.0, "attempts": ["0h", "1h", "1d"]}})
    leads = simulate(scenario, 1).leads
    done = leads["sal_at"] < scenario.horizon - 25
    assert np.all(leads["attempts"][done] == 3)
    assert np.all(leads["reason"][done] == Reason.UNREACHED)
    assert np.allclose(leads["ended_at"][done] - leads["sal_at"][done], 24 + 10 / 60)


def test_ae_pipeline_never_holds_more_deals_than_its_slots():
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 200}},
        sales={
            "sdr": {"count": "unlimited"},
            "qualify": 1.0,
            "ae": {"count": 1, "capacity": 3, "cycle": "2d", "win": 0.5},
        },
    )
    leads = simulate(scenario, 1).leads
    opened = leads["opportunity_at"][~np.isnan(leads["opportunity_at"])]
    closes = leads["closed_at"][~np.isnan(leads["opportunity_at"])]
    closes = np.where(np.isnan(closes), np.inf, closes)
    events = sorted([(t, 1) for t in opened] + [(t, -1) for t in closes if np.isfinite(t)], key=lambda e: (e[0], e[1]))
    open_now = np.cumsum([d for _, d in events])
    assert open_now.max() == 3
    wait = leads["opportunity_at"] - leads["sql_at"]
    assert np.nanmax(wait) > 24  # SQLs queued for a free slot


# --- self-serve and retention --------------------------------------------------------------


@pytest.mark.parametrize(("reps_work_trials", "expected"), [(False, 0.1), (True, 0.3)])
def test_rep_assisted_trials_convert_at_the_uplift(reps_work_trials, expected):
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 1000}},
        self_serve={"trial": 1.0, "convert": 0.1, "trial_length": "7d", "reps_work_trials": reps_work_trials},
        sales={"sdr": {"count": "unlimited"}, "assisted_uplift": 3.0},
    )
    leads = simulate(scenario, 6).leads
    settled = leads["mql_at"] < scenario.horizon - 7 * 24
    converted = np.count_nonzero(settled & np.isin(leads["reason"], (Reason.SELF_SERVE, Reason.ASSISTED_TRIAL)))
    share = converted / np.count_nonzero(settled)
    assert share == pytest.approx(expected, abs=3 * np.sqrt(expected * (1 - expected) / settled.sum()))


def test_poor_fit_customers_churn_faster_by_the_configured_factor():
    scenario = make_scenario(
        horizon="730d",
        channels={"web": {"leads_per_week": 150, "fit": {"uniform": {"low": 0, "high": 1}}}},
        self_serve={"trial": 1.0, "convert": 1.0, "trial_length": 0},
        retention={"monthly_churn": 0.05, "poor_fit_below": 0.5, "poor_fit_churn_factor": 3},
    )

    def hazards(records):
        leads = records.leads
        customer = ~np.isnan(leads["customer_at"])
        poor = customer & (leads["fit"] < 0.5)
        good = customer & (leads["fit"] >= 0.5)
        churned = ~np.isnan(leads["churned_at"])
        # churn chances taken: every month-end passed (an active customer's current month is not over)
        exposure = leads["months_billed"] - ~churned
        return [np.count_nonzero(churned & c) / exposure[c].sum() for c in (good, poor)]

    rates = np.array([hazards(simulate(scenario, seed)) for seed in range(8)])
    good = interval(rates[:, 0])
    poor = interval(rates[:, 1])
    ratio = interval(rates[:, 1] / rates[:, 0])
    assert good[1] <= 0.05 <= good[2]
    assert poor[1] <= 0.15 <= poor[2]
    assert ratio[1] <= 3.0 <= ratio[2]
    assert ratio[2] - ratio[1] < 0.6


def test_revenue_is_mrr_times_months_billed_without_expansion():
    scenario = make_scenario(
        horizon="365d",
        self_serve={"trial": 1.0, "convert": 1.0, "trial_length": 0},
        sales={"deal_mrr": 100},
        retention={"monthly_churn": 0.1},
    )
    leads = simulate(scenario, 2).leads
    customer = ~np.isnan(leads["customer_at"])
    assert np.allclose(leads["revenue"][customer], 100 * leads["months_billed"][customer])
    active = customer & np.isnan(leads["churned_at"])
    assert np.all(leads["mrr_at_horizon"][active] == 100)


# --- arrivals ------------------------------------------------------------------------------


def test_office_peak_profile_puts_the_expected_share_in_weekday_office_hours():
    from funnelsim.scenario.schema import BUILTIN_PROFILES

    profile = BUILTIN_PROFILES["office_peak"]
    hours, days = np.array(profile.hours), np.array(profile.days)
    expected = days[:5].sum() * hours[8:18].sum() / (days.sum() * hours.sum())
    scenario = make_scenario(horizon="56d", channels={"web": {"leads_per_week": 3000, "profile": "office_peak"}})
    arrivals = simulate(scenario, 8).leads["arrival_at"]  # January-February: no daylight saving change
    in_office = ((arrivals % 24) >= 8) & ((arrivals % 24) < 18) & (((arrivals // 24) % 7) < 5)
    share = in_office.mean()
    assert share == pytest.approx(expected, abs=3 * np.sqrt(expected * (1 - expected) / len(arrivals)))
    assert len(arrivals) == pytest.approx(3000 * 8, rel=0.03)


def test_a_burst_adds_its_leads_inside_its_window():
    burst = {"leads_per_week": 0, "bursts": [{"at": "2026-01-07T10:00", "extra_leads": 500, "over": "2d"}]}
    arrivals = simulate(make_scenario(channels={"web": burst}), 3).leads["arrival_at"]
    assert len(arrivals) == pytest.approx(500, abs=70)
    assert arrivals.min() >= 58.0
    assert arrivals.max() <= 58.0 + 48


# --- reproducibility -----------------------------------------------------------------------


def test_same_seed_gives_identical_lead_tables_and_another_seed_does_not():
    from funnelsim.scenario.loader import load_scenario

    scenario = load_scenario("baseline")
    first, again, other = (simulate(scenario, s).leads_frame() for s in (42, 42, 43))
    assert first.equals(again)
    assert not first.equals(other)
