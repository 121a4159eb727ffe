"""What a planner counts (all spend, capped LTV, cost per extra customer) and how figures print."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from funnelsim import metrics
from funnelsim.metrics import SWEEP_DEFAULT
from funnelsim.model.simulate import simulate
from funnelsim.report.formatting import (
    format_difference,
    format_difference_interval,
    format_interval,
    format_value,
)
from funnelsim.scenario.loader import ScenarioError, load_scenario
from funnelsim.scenario.units import HOURS_PER_MONTH

from .conftest import make_scenario


def test_cac_counts_every_sales_and_marketing_cost():
    scenario = make_scenario(
        horizon="61d",
        warmup="0d",
        channels={"web": {"leads_per_week": 100, "cost_per_lead": 2}},
        sales={
            "qualify": 1.0,
            "ae": {"win": 1.0, "cycle": "1d"},
            "auto_touch": {"enabled": True, "cost_per_month": 300},
        },
        costs={"sdr_per_month": 1000, "ae_per_month": 0, "fixed_per_month": 500},
    )
    f = metrics.figures(simulate(scenario, 1), scenario)
    months = 61 * 24 / HOURS_PER_MONTH
    assert f["marketing_spend"] == 2 * f["leads"]
    assert f["team_cost"] == pytest.approx(1000 * months)
    assert f["fixed_cost"] == pytest.approx(500 * months)
    assert f["options_cost"] == pytest.approx(300 * months)
    total = f["marketing_spend"] + f["team_cost"] + f["fixed_cost"] + f["options_cost"]
    assert f["total_spend"] == pytest.approx(total)
    assert f["cac"] == pytest.approx(total / f["customers"])


def test_an_option_costs_nothing_while_it_is_off():
    scenario = make_scenario(sales={"auto_touch": {"enabled": False, "cost_per_month": 300}})
    assert metrics.figures(simulate(scenario, 1), scenario)["options_cost"] == 0


def test_ltv_is_capped_and_discounted():
    no_churn = make_scenario(retention={"monthly_churn": 0.0, "ltv_horizon": "24mo"}, costs={"gross_margin": 0.5})
    mrr, fit = np.array([100.0, 300.0]), np.array([0.9, 0.9])
    assert metrics.lifetime_value(no_churn, mrr, fit) == pytest.approx(200 * 0.5 * 24)
    churn = make_scenario(retention={"monthly_churn": 0.1, "discount_rate": 0.12}, costs={"gross_margin": 1.0})
    kept = 0.9 * 1.12 ** (-1 / 12)
    assert metrics.lifetime_value(churn, mrr, fit) == pytest.approx(200 * (1 - kept**60) / (1 - kept))


def test_cost_per_extra_customer_is_a_ratio_of_paired_means_with_a_delta_method_interval():
    a = pd.DataFrame({"replication": range(4), "total_spend": [100.0] * 4, "customers": [10.0, 12, 11, 9]})
    b = pd.DataFrame({"replication": range(4), "total_spend": [160.0] * 4, "customers": [13.0, 14, 15, 10]})
    ratio, low, high, n = metrics.paired_ratio(a, b, "total_spend", "customers")
    assert (ratio, n) == (60 / 2.5, 4)
    extra = np.array([3.0, 2, 4, 1])
    half = metrics.t_quantile_975(3) * np.std(60 - ratio * extra, ddof=1) / 2 / 2.5
    assert (low, high) == pytest.approx((ratio - half, ratio + half))


def test_currency_is_three_capital_letters():
    assert make_scenario().currency == "USD"
    assert make_scenario(currency="EUR").currency == "EUR"
    with pytest.raises(ScenarioError, match=r"currency: .*3-letter ISO 4217 currency code"):
        make_scenario(currency="euro")


def test_values_carry_their_units():
    assert format_value(1234.0, "customers") == "1,234"
    assert format_value(1234.56, "customers") == "1,234.6"
    assert format_value(12000.4, "money", "EUR") == "12,000 EUR"
    assert format_value(2.5, "h") == "2.50 h"
    assert format_value(9.21, "months") == "9.21 months"
    assert format_value(0.357, "%") == "35.7%"
    assert format_value(1.4, "x") == "1.40x"
    assert format_interval(2.1, 2.9, "d") == "[2.10, 2.90] d"
    assert format_difference(0.023, "%") == "+2.3 pp"
    assert format_difference_interval(-0.012, 0.034, "%") == "[-1.2, +3.4] pp"
    assert format_difference(-2.0, "h") == "-2.00 h"
    assert format_value(math.nan, "%") == "–"
    assert format_value(-0.004, "leads/week") == "0.0 leads/week"
    assert format_difference(-0.0001, "%") == "0.0 pp"


def test_metric_lists_come_from_the_registry():
    scenario = load_scenario("baseline", ["horizon=40d", "warmup=5d"])
    produced = {k for k in metrics.figures(simulate(scenario, 1), scenario) if not k.startswith("channel.")}
    assert produced == set(metrics.FIGURES)
    assert tuple(n for n, f in metrics.FIGURES.items() if f.headline) == metrics.HEADLINE
    assert {"customers", "cac", "sdr_utilisation", "ae_utilisation"} <= set(metrics.HEADLINE)
    assert set(SWEEP_DEFAULT) <= set(metrics.FIGURES)
    assert "contacted" not in metrics.FIGURES and metrics.FIGURES["called"].label.startswith("Called")


def test_called_and_reached_count_what_they_say():
    scenario = make_scenario(sales={"sdr": {"count": "unlimited", "reach": 0.5, "attempts": ["0h"]}})
    f = metrics.figures(simulate(scenario, 3), scenario)
    assert f["called"] == f["sals"]  # unlimited reps dial every SAL
    assert f["reached"] == pytest.approx(0.5 * f["sals"], rel=0.15)


def test_ae_slots_count_from_the_moment_they_are_taken():
    # an SQL at Friday 17:00 takes its slot then; its AE starts on Monday 09:00
    scenario = make_scenario(
        horizon="56d",
        calendars={"office": {"hours": "09:00-17:00"}},
        sales={"qualify": 1.0, "ae": {"count": 1, "capacity": 1000, "calendar": "office", "cycle": "3d", "win": 0.0}},
    )
    records = simulate(scenario, 2)
    leads = records.leads
    sql, closed = leads["sql_at"], leads["closed_at"]
    done = ~np.isnan(sql)
    end = np.where(np.isnan(closed), scenario.horizon, closed)[done]
    expected = np.clip(np.minimum(end, scenario.horizon) - sql[done], 0, None).sum() / (1000 * scenario.horizon)
    f = metrics.figures(records, scenario)
    assert f["ae_utilisation"] == pytest.approx(expected)
    waits = leads["opportunity_at"][done] - sql[done]
    assert waits.max() > 24  # some deals waited for the AE calendar, and those hours count
