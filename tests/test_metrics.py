"""Figures from records: what each one counts, on cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from funnelsim import metrics
from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.simulate import simulate
from funnelsim.report.formatting import better
from funnelsim.scenario.loader import load_scenario

from .conftest import make_scenario


def test_open_hours_within_counts_only_office_time():
    office = WorkCalendar([9.0, 33.0], [17.0, 41.0])  # two days, 09:00-17:00
    begin = np.array([8.0, 16.0, 20.0, 10.0])
    end = np.array([10.0, 18.0, 35.0, 40.0])
    assert metrics.open_hours_within(office, begin, end, 0.0, 100.0) == 1 + 1 + 2 + 14
    assert metrics.open_hours_within(office, begin, end, 0.0, 34.0) == 1 + 1 + 1 + 7 + 1


def test_utilisation_never_exceeds_one_and_overtime_is_reported():
    scenario = load_scenario("understaffed", ["horizon=120d", "warmup=10d"])
    f = metrics.figures(simulate(scenario, 3), scenario)
    assert 0.9 < f["sdr_utilisation"] <= 1.0
    assert f["sdr_overtime_hours"] > 0


def test_cohort_figures_count_only_leads_after_the_warmup():
    scenario = make_scenario(horizon="60d", warmup="20d")
    records = simulate(scenario, 1)
    f = metrics.figures(records, scenario)
    arrivals = records.leads["arrival_at"]
    assert f["leads"] == np.count_nonzero(arrivals >= 20 * 24)
    assert f["leads"] < len(arrivals)


def test_trials_split_into_self_serve_and_rep_assisted_customers():
    scenario = make_scenario(
        channels={"web": {"leads_per_week": 500}},
        self_serve={"trial": 1.0, "convert": 0.1, "trial_length": "7d", "reps_work_trials": True},
        sales={"sdr": {"count": "unlimited"}, "assisted_uplift": 3.0},
    )
    f = metrics.figures(simulate(scenario, 2), scenario)
    assert f["self_serve_customers"] == 0  # every trial was reached by a rep in time
    assert f["assisted_trial_customers"] == f["customers"] > 0


def test_sal_queue_average_is_the_waiting_time_integral_over_the_window():
    scenario = make_scenario(
        horizon="30d", sales={"sdr": {"count": 1, "handle_time": {"exponential": {"mean": "1.5h"}}}}
    )
    records = simulate(scenario, 4)
    leads = records.leads
    end = metrics.sal_wait_end(leads, scenario.horizon)
    waited = np.nansum(end - leads["sal_at"])
    f = metrics.figures(records, scenario)
    assert f["sal_queue_mean"] == pytest.approx(waited / scenario.horizon)
    series = metrics.timeseries(records, step_hours=0.25)
    assert series["sal_queue"].mean() == pytest.approx(f["sal_queue_mean"], rel=0.05)


def test_the_registrys_named_sets_name_its_figures_and_each_figure_says_which_way_is_better():
    sets = {"HEADLINE": metrics.HEADLINE, "SWEEP_DEFAULT": metrics.SWEEP_DEFAULT, "ONE_LINE": metrics.ONE_LINE,
            "SPEED_SHARES": metrics.SPEED_SHARES, "FUNNEL_STAGES": metrics.FUNNEL_STAGES,
            **{f"PAGE_SECTIONS[{k}]": v for k, v in metrics.PAGE_SECTIONS.items()}}  # fmt: skip
    unknown = {key: [n for n in names if n not in metrics.FIGURES] for key, names in sets.items()}
    assert unknown == {key: [] for key in sets}
    assert tuple(n for n in metrics.FIGURES if n in metrics.FUNNEL_STAGES) == metrics.FUNNEL_STAGES  # funnel order
    directions = {name: figure.better for name, figure in metrics.FIGURES.items()}
    neither = {"sdr_utilisation", "ae_utilisation", "sdr_offered_load", "ae_offered_load", "ae_load_if_prompt"}
    assert {n for n, d in directions.items() if d is None} == neither  # busier is neither better nor worse
    costs = [n for n, f in metrics.FIGURES.items() if f.section == "Cost" and n.endswith(("_cost", "_spend"))]
    assert costs and all(directions[n] == "lower" for n in costs)
    assert directions["ae_waiting_mean"] == directions["sal_backlog_growth_per_week"] == "lower"
    assert directions["cac"] == directions["abandon_rate"] == directions["response_delay_median_hours"] == "lower"
    assert directions["customers"] == directions["ltv_to_cac"] == directions["answered_within_1h"] == "higher"


def test_a_metric_the_registry_does_not_know_reads_better_higher_or_lower_in_hours():
    assert better("channel.web.leads") == "higher"
    assert better("some_new_figure") == "higher"
    assert better("channel.web.cost_per_customer") == "lower"
    assert better("some_new_figure_hours") == better("channel.web.wait_hours") == "lower"
