"""Cohort accounting and realistic cadences: the answers a planner acts on.

- the window's leads are followed past the horizon to their outcome, so late arrivals convert
  like early ones and nothing open is silently counted as lost;
- a cadence runs from the first call, and attempts on a lead are never closer than min_gap;
- answering faster never wins fewer deals once nothing is overloaded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from funnelsim import compare, load_scenario, simulate
from funnelsim.model.records import CUSTOMER, IN_PROGRESS, OUTCOME_OF_REASON
from tests.conftest import MINIMAL, deep_merge

SEED = 20260105

# A Friday-evening enquiry is first called on Monday at 09:00; its follow-ups must then follow
# the cadence from that call, not redial at 09:00 + handle time because 1 h and 4 h after the
# Friday SAL have long passed.
CADENCE = {
    "calendars": {"office": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"}},
    "channels": {"web": {"leads_per_week": 150}},
    "sales": {
        "sdr": {"count": 2, "calendar": "office", "attempts": ["0h", "1h", "4h", "1d", "3d"], "reach": 0.3,
                "handle_time": {"lognormal": {"median": "8min", "p90": "20min"}}, "min_gap": "45min"},
    },
}  # fmt: skip


def scenario_from(data: dict, *overrides: str):
    return load_scenario(deep_merge(MINIMAL, data), list(overrides))


def attempts_by_lead(records) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    order = np.lexsort((records.attempt_start, records.attempt_lead))
    lead, start, end = records.attempt_lead[order], records.attempt_start[order], records.attempt_end[order]
    bounds = np.flatnonzero(np.diff(lead)) + 1
    return {
        int(ls[0]): (s, e)
        for ls, s, e in zip(np.split(lead, bounds), np.split(start, bounds), np.split(end, bounds), strict=True)
    }


def test_attempts_on_a_lead_are_never_closer_than_the_minimum_gap_and_follow_the_cadence():
    scenario = scenario_from(CADENCE)
    records = simulate(scenario, SEED)
    offsets = scenario.sales.sdr.attempts
    min_gap = scenario.sales.sdr.min_gap
    by_lead = attempts_by_lead(records)
    followed_up = [lead for lead, (start, _) in by_lead.items() if len(start) > 1]
    assert len(followed_up) > 200
    for lead in followed_up:
        start, end = by_lead[lead]
        assert start[0] == records.leads["first_contact_at"][lead]
        gaps = start[1:] - end[:-1]
        assert gaps.min() >= min_gap - 1e-9, lead
        # follow-up k is never called before its offset from the first call
        assert np.all(start[1:] >= start[0] + np.asarray(offsets[1 : len(start)]) - 1e-9), lead


def test_a_weekend_enquiry_gets_its_follow_ups_spread_as_the_cadence_says_not_back_to_back():
    scenario = scenario_from(CADENCE)
    records = simulate(scenario, SEED)
    leads = records.leads
    by_lead = attempts_by_lead(records)
    # leads accepted on Friday after 17:00 (clock day 4 is the first Friday), first called on Monday
    friday_evening = np.flatnonzero((leads["sal_at"] % 168 >= 4 * 24 + 17) & (leads["sal_at"] % 168 < 5 * 24))
    weekend = [lead for lead in friday_evening if lead in by_lead and len(by_lead[lead][0]) >= 2]
    assert len(weekend) >= 10
    for lead in weekend:
        start, _ = by_lead[lead]
        monday_nine = (leads["sal_at"][lead] // 168 + 1) * 168 + 9
        assert start[0] >= monday_nine  # waited for the shift
        assert start[1] - start[0] >= 1.0 - 1e-9  # the 1 h follow-up is an hour after the first call


def test_with_unlimited_reps_around_the_clock_each_follow_up_starts_exactly_when_due():
    scenario = scenario_from(CADENCE, "sales.sdr.count=unlimited", "sales.sdr.calendar=always", "sales.sdr.reach=0")
    records = simulate(scenario, SEED)
    offsets, min_gap = scenario.sales.sdr.attempts, scenario.sales.sdr.min_gap
    by_lead = attempts_by_lead(records)
    checked = 0
    for start, end in by_lead.values():
        for k in range(1, len(start)):
            assert start[k] == max(start[0] + offsets[k], end[k - 1] + min_gap)
            checked += 1
    assert checked > 1000


def test_the_window_is_followed_past_the_horizon_so_late_arrivals_convert_like_early_ones():
    scenario = load_scenario("baseline")
    records = simulate(scenario, SEED)
    leads = records.leads
    lo, hi = records.warmup_hours, records.horizon_hours
    assert records.until_hours == hi + scenario.follow_up_hours > hi + 30 * 24
    in_window = (leads["arrival_at"] >= lo) & (leads["arrival_at"] < hi)
    outcome = OUTCOME_OF_REASON[leads["reason"]]
    # nothing of the window is left open (censored) beyond a trace
    assert np.count_nonzero(in_window & (outcome == IN_PROGRESS)) / np.count_nonzero(in_window) < 0.01
    customer = outcome == CUSTOMER
    late = in_window & (leads["arrival_at"] >= hi - 60 * 24)
    early = in_window & ~late
    p_late, p_early = customer[late].mean(), customer[early].mean()
    se = math.sqrt(p_early * (1 - p_early) / late.sum() + p_early * (1 - p_early) / early.sum())
    assert abs(p_late - p_early) < 3 * se  # before cohort accounting p_late was a fraction of p_early
    # MQLs of the window reached after the horizon are routed to sales, not left hanging
    after = in_window & (leads["mql_at"] >= hi)
    assert after.any()
    assert np.all(~np.isnan(leads["sal_at"][after]) | leads["trial"][after] | (outcome[after] != IN_PROGRESS))


def test_customers_won_after_the_horizon_bill_nothing_by_it_but_count_for_the_cohort():
    records = simulate(load_scenario("baseline"), SEED)
    leads = records.leads
    late = ~np.isnan(leads["customer_at"]) & (leads["customer_at"] >= records.horizon_hours)
    assert late.sum() > 5
    assert np.all(leads["months_billed"][late] == 0)
    assert np.all(leads["revenue"][late] == 0)
    assert np.all(leads["mrr_at_horizon"][late] == 0)
    assert np.all(leads["cohort_revenue"][late] >= leads["deal_mrr"][late])


def test_answering_faster_never_wins_fewer_deals_when_nothing_is_overloaded():
    common = ["sales.ae.count=4", "horizon=180d"]
    slow = load_scenario("baseline", [*common, "name=slow", "sales.sdr.count=1"])
    fast = load_scenario("baseline", [*common, "name=fast", "sales.sdr.count=4", "sales.sdr.calendar=always"])
    result = compare([slow, fast], reps=6, seed=SEED, executor="serial")
    table = result.differences["fast"].set_index("metric")
    assert table.loc["answered_within_1h", "difference"] > 0.3
    assert table.loc["ae_utilisation", "mean_b"] < 0.9  # the AE pipeline keeps up
    assert table.loc["deals_won", "ci_low"] > 0
    assert table.loc["customers", "ci_low"] > 0


def test_a_follow_up_too_short_for_the_sales_cycle_censors_leads_and_says_so(tmp_path):
    from typer.testing import CliRunner

    from funnelsim.cli import app

    args = ["run", "baseline", "-n", "2", "--executor", "serial", "--set", "horizon=120d", "--no-charts"]
    short = CliRunner().invoke(app, [*args, "--set", "follow_up=1d", "--out", str(tmp_path / "short")])
    assert short.exit_code == 0, short.output
    assert "still open when the follow-up ended (1 days after the horizon)" in " ".join(short.output.split())
    manifest = (tmp_path / "short" / "manifest.json").read_text()
    assert "censored" in manifest
    full = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "full")])
    assert full.exit_code == 0, full.output
    assert "still open when the follow-up ended" not in " ".join(full.output.split())


def test_a_cohort_leads_time_in_the_sal_queue_runs_to_its_own_first_call_even_after_the_horizon():
    from funnelsim import metrics

    scenario = load_scenario("baseline", ["horizon=120d"])
    records = simulate(scenario, SEED)
    leads = records.leads
    late = ~np.isnan(leads["sal_at"]) & (leads["sal_at"] >= records.horizon_hours) & (leads["arrival_at"] < 120 * 24)
    assert late.any()  # window leads accepted by sales during the follow-up
    wait = metrics.figures(records, scenario)["sal_wait_mean_hours"]
    assert 0 < wait < 7 * 24  # before the fix, waits ran to the horizon and the mean was negative


def test_counts_are_also_shown_per_year_of_window(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from funnelsim.cli import app

    args = ["run", "baseline", "-n", "2", "--executor", "serial", "--set", "horizon=120d", "--set", "warmup=30d"]
    result = CliRunner().invoke(app, [*args, "--no-charts", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "Per year of window" in result.output
    summary = pd.read_csv(tmp_path / "r" / "summary.csv").set_index("metric")
    # a 90-day window: a year of it is 8766 / 2160 times the window's count
    assert summary.loc["customers", "per_year_of_window"] == pytest.approx(
        summary.loc["customers", "mean"] * 8766 / 2160
    )
    assert np.isnan(summary.loc["answered_within_1h", "per_year_of_window"])  # a share is not scaled
    assert np.isnan(summary.loc["customers_at_horizon", "per_year_of_window"])  # nor a stock
