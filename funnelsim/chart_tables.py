"""Small per-replication tables behind the planning charts (same layer as metrics/).

The results folder keeps these instead of one row per lead, so every chart can be redrawn from
the folder alone: response delays as histogram bins, customer survival by month, MRR by day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from funnelsim.model.records import CUSTOMER, OUTCOME_OF_REASON, Records
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_MONTH

# Upper edges (hours, right-closed) of the response-delay bins; 5 min, 1 h and 24 h are edges, so
# the shares answered within them read exactly off the cumulative counts.
DELAY_EDGES_HOURS = (
    1 / 60, 2 / 60, 5 / 60, 10 / 60, 15 / 60, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0, 48.0, 72.0, 168.0, 336.0, np.inf,
)  # fmt: skip
TABLES = ("response_delays", "retention", "mrr")


def response_delays(records: Records) -> pd.DataFrame:
    """SALs of the cohort by first-response delay bin: how many were answered, and how many became SQLs.

    `delay_upto_hours` is the bin's upper edge; NaN is the row of SALs never contacted.
    """
    leads = records.leads
    lo, hi = records.warmup_hours, records.horizon_hours
    cohort = (leads["arrival_at"] >= lo) & (leads["arrival_at"] < hi)
    sal = cohort & ~np.isnan(leads["sal_at"]) & ~leads["trial"]
    delay = leads["first_contact_at"][sal] - leads["sal_at"][sal]
    became_sql = ~np.isnan(leads["sql_at"][sal])
    answered = ~np.isnan(delay)
    edges = np.asarray(DELAY_EDGES_HOURS)
    bins = np.searchsorted(edges, delay[answered], side="left")
    n_bins = len(edges)
    sals = np.bincount(bins, minlength=n_bins).astype(np.int64)
    sqls = np.bincount(bins, weights=became_sql[answered], minlength=n_bins).astype(np.int64)
    return pd.DataFrame(
        {
            "delay_upto_hours": np.append(edges, np.nan),
            "sals": np.append(sals, np.count_nonzero(~answered)),
            "sqls": np.append(sqls, np.count_nonzero(became_sql & ~answered)),
        }
    )


def retention(records: Records, scenario: Scenario) -> pd.DataFrame:
    """Customers at risk and churned at each month-end since purchase, by ICP fit (life-table rows),
    in calendar time: customers won by the horizon (those won in the follow-up have no months yet)."""
    leads = records.leads
    customer = (OUTCOME_OF_REASON[leads["reason"]] == CUSTOMER) & (leads["customer_at"] < records.horizon_hours)
    billed = leads["months_billed"][customer].astype(np.int64)
    churned = ~np.isnan(leads["churned_at"][customer])
    completed = billed - ~churned  # an active customer's current month is not over yet
    poor = leads["fit"][customer] < scenario.retention.poor_fit_below
    frames = []
    for group, mask in (("good fit", ~poor), ("poor fit", poor)):
        months = int(completed[mask].max()) if mask.any() else 0
        survived_to = np.bincount(completed[mask], minlength=months + 1)
        at_risk = survived_to[::-1].cumsum()[::-1][1:]  # at month-end j: completed >= j
        lost = np.bincount(billed[mask & churned], minlength=months + 1)[1:]
        frames.append(
            pd.DataFrame(
                {
                    "fit_group": group,
                    "months_since_purchase": np.arange(1, months + 1, dtype=np.int64),
                    "at_risk": at_risk.astype(np.int64),
                    "churned": lost[:months].astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def mrr_by_day(records: Records, scenario: Scenario) -> pd.DataFrame:
    """Monthly recurring revenue of all customers at the start of each day of the horizon."""
    leads = records.leads
    customer = OUTCOME_OF_REASON[leads["reason"]] == CUSTOMER
    since = leads["customer_at"][customer]
    until = np.where(np.isnan(leads["churned_at"][customer]), np.inf, leads["churned_at"][customer])
    mrr0 = leads["deal_mrr"][customer]
    growth = (1.0 + scenario.retention.expansion_per_year) ** (1 / 12)
    days = np.arange(0.0, records.horizon_hours, 24.0)
    mrr = np.zeros(len(days))
    for start in range(0, len(since), 2048):  # chunks keep the day x customer matrix small
        s, u, m = since[start : start + 2048], until[start : start + 2048], mrr0[start : start + 2048]
        elapsed = days[:, None] - s[None, :]
        active = (elapsed >= 0) & (days[:, None] < u[None, :])
        months = np.floor(np.where(active, elapsed, 0.0) / HOURS_PER_MONTH)
        mrr += np.where(active, m[None, :] * growth**months, 0.0).sum(axis=1)
    return pd.DataFrame({"day": (days // 24).astype(np.int64), "mrr": mrr})


def chart_tables(records: Records, scenario: Scenario, replication: int) -> dict[str, pd.DataFrame]:
    """Every table of TABLES for one replication, each with a leading `replication` column."""
    tables = {
        "response_delays": response_delays(records),
        "retention": retention(records, scenario),
        "mrr": mrr_by_day(records, scenario),
    }
    for frame in tables.values():
        frame.insert(0, "replication", np.int32(replication))
    return tables
