"""The bundled baseline against the real Olist marketing-funnel records in ../shared/data.

The baseline's channel mix and sales cycle were set from these records; the tests keep them so.
Skipped where the data folder is not beside the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from funnelsim import load_scenario, simulate
from funnelsim.model.records import Reason

OLIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "olist-marketing-funnel"
CHANNELS = ["organic_search", "paid_search", "social", "email", "referral"]

pytestmark = pytest.mark.skipif(not OLIST.is_dir(), reason=f"Olist data not found at {OLIST}")


@pytest.fixture(scope="module")
def olist() -> pd.DataFrame:
    mqls = pd.read_csv(OLIST / "olist_marketing_qualified_leads_dataset.csv")
    deals = pd.read_csv(OLIST / "olist_closed_deals_dataset.csv")
    return mqls.merge(deals, on="mql_id", how="left")


@pytest.fixture(scope="module")
def baseline_runs():
    scenario = load_scenario("baseline")
    assert list(scenario.channels) == CHANNELS
    return [simulate(scenario, seed).leads for seed in range(8)]


def test_baseline_mql_mix_matches_olist(olist, baseline_runs):
    counts = olist["origin"].value_counts()[CHANNELS]
    real = (counts / counts.sum()).to_numpy()
    shares = []
    for leads in baseline_runs:
        per_channel = np.bincount(leads["channel"][~np.isnan(leads["mql_at"])], minlength=len(CHANNELS))
        shares.append(per_channel / per_channel.sum())
    simulated = np.mean(shares, axis=0)
    assert np.abs(simulated - real).max() < 0.015  # within 1.5 percentage points per channel


def test_baseline_time_from_mql_to_won_is_olists(olist):
    won = olist.dropna(subset=["won_date"])
    real_days = (pd.to_datetime(won["won_date"]) - pd.to_datetime(won["first_contact_date"])).dt.total_seconds() / 86400
    assert real_days.median() == pytest.approx(14.65, abs=0.01)  # the figure the baseline cites
    scenario = load_scenario("baseline")
    medians = []
    for seed in range(8):
        leads = simulate(scenario, seed).leads
        won_here = leads["reason"] == Reason.ASSISTED
        medians.append(np.median(leads["closed_at"][won_here] - leads["mql_at"][won_here]) / 24)
    assert 0.75 * real_days.median() <= np.mean(medians) <= 1.25 * real_days.median()
    assert real_days.quantile(0.25) <= np.mean(medians) <= real_days.quantile(0.75)


def test_search_channels_win_more_often_than_social_and_email_as_at_olist(olist, baseline_runs):
    real = olist.groupby("origin")["won_date"].apply(lambda s: s.notna().mean())[CHANNELS]
    assert min(real["paid_search"], real["organic_search"]) > max(real["social"], real["email"])
    rates = []
    for leads in baseline_runs:
        mql = ~np.isnan(leads["mql_at"])
        won = leads["reason"] == Reason.ASSISTED
        rates.append(
            [np.sum(won & mql & (leads["channel"] == c)) / np.sum(mql & (leads["channel"] == c)) for c in range(5)]
        )
    simulated = dict(zip(CHANNELS, np.mean(rates, axis=0)))
    assert min(simulated["paid_search"], simulated["organic_search"]) > max(simulated["social"], simulated["email"])
