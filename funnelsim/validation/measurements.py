"""What each validation case measures in one replication's records (one dict of figures per replication).

Top-level functions, so they pickle to worker processes.
"""

from __future__ import annotations

import math

import numpy as np

from funnelsim import metrics
from funnelsim.model.records import Reason, Records
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_MONTH, HOURS_PER_WEEK


def settled_cohort(records: Records, settle_hours: float) -> np.ndarray:
    """Leads that arrived after the warm-up and early enough to have left the stages measured."""
    arrival = records.leads["arrival_at"]
    return (arrival >= records.warmup_hours) & (arrival < records.horizon_hours - settle_hours)


def measure_sal_queue(records: Records, scenario: Scenario) -> dict[str, float]:
    """Wait of each SAL from entering the queue to first contact (or abandonment): M/M/c(+M) figures."""
    leads = records.leads
    sal = settled_cohort(records, HOURS_PER_WEEK) & ~np.isnan(leads["sal_at"])
    wait = (metrics.sal_wait_end(leads, records.horizon_hours) - leads["sal_at"])[sal]
    abandoned = leads["reason"][sal] == Reason.ABANDONED
    out = {
        "wait_probability": float(np.mean(wait > 0)),
        "mean_wait_hours": float(wait.mean()),
        "abandon_probability": float(abandoned.mean()),
    }
    if scenario.sales.patience is not None:
        theta = 1.0 / scenario.sales.patience.mean()
        out["abandon_over_theta_wait"] = out["abandon_probability"] / (theta * out["mean_wait_hours"])
    return out


LITTLE_SETTLE_HOURS = 8 * HOURS_PER_WEEK


def little_ratio(enter: np.ndarray, leave: np.ndarray, lo: float, hi: float) -> float:
    """L / (λW) over [lo, hi): time-average number inside over arrival rate x mean stay of those arriving."""
    window = hi - lo
    inside = float(np.clip(np.minimum(leave, hi) - np.maximum(enter, lo), 0, None).sum()) / window
    arrived = (enter >= lo) & (enter < hi)
    rate = np.count_nonzero(arrived) / window
    stay = float(np.mean(leave[arrived] - enter[arrived]))
    return float(inside / (rate * stay))


def measure_little(records: Records, scenario: Scenario) -> dict[str, float]:
    """Little's law on the SAL queue, the AE pipeline and the AE slots (leave = horizon if still inside)."""
    leads, horizon = records.leads, records.horizon_hours
    lo, hi = records.warmup_hours, horizon - LITTLE_SETTLE_HOURS
    sal = ~np.isnan(leads["sal_at"]) & ~leads["trial"]
    sql = ~np.isnan(leads["sql_at"])
    worked = ~np.isnan(leads["opportunity_at"])
    closed = np.where(np.isnan(leads["closed_at"]), horizon, leads["closed_at"])
    return {
        "sal_queue": little_ratio(leads["sal_at"][sal], metrics.sal_wait_end(leads, horizon)[sal], lo, hi),
        "ae_pipeline": little_ratio(leads["sql_at"][sql], closed[sql], lo, hi),
        "ae_slots": little_ratio(leads["opportunity_at"][worked], closed[worked], lo, hi),
    }


PRODUCT_SETTLE_HOURS = 5 * HOURS_PER_WEEK


def measure_conversion_by_channel(records: Records, scenario: Scenario) -> dict[str, float]:
    """Lead -> MQL and lead -> customer per channel, over leads whose journey has ended."""
    leads = records.leads
    cohort = settled_cohort(records, PRODUCT_SETTLE_HOURS)
    out = {}
    for code, name in enumerate(records.channel_names):
        mine = cohort & (leads["channel"] == code)
        n = np.count_nonzero(mine)
        out[f"{name}.lead_to_mql"] = float(np.count_nonzero(mine & ~np.isnan(leads["mql_at"])) / n)
        out[f"{name}.lead_to_customer"] = float(np.count_nonzero(mine & ~np.isnan(leads["customer_at"])) / n)
    return out


def measure_response_delay(records: Records, scenario: Scenario) -> dict[str, float]:
    """Shares of SALs first called within 1 h and 24 h, and the mean delay, over whole weeks."""
    leads = records.leads
    lo = records.warmup_hours
    weeks = math.floor((records.horizon_hours - HOURS_PER_WEEK - lo) / HOURS_PER_WEEK)
    arrival = leads["arrival_at"]
    sal = (arrival >= lo) & (arrival < lo + weeks * HOURS_PER_WEEK) & ~np.isnan(leads["sal_at"])
    delay = (leads["first_contact_at"] - leads["sal_at"])[sal]  # NaN (never called) counts as late
    return {
        "within_1h": float(np.mean(delay <= 1.0)),
        "within_24h": float(np.mean(delay <= 24.0)),
        "mean_delay_hours": float(np.nanmean(delay)),
        "never_called": float(np.mean(np.isnan(delay))),
    }


RETENTION_MONTHS = {"good": (6, 12, 24), "poor": (6, 12)}


def measure_retention(records: Records, scenario: Scenario) -> dict[str, float]:
    """Survival after k months and the monthly churn hazard, for good- and poor-fit customers."""
    leads, horizon = records.leads, records.horizon_hours
    customer_at = leads["customer_at"]
    customer = ~np.isnan(customer_at) & (customer_at >= records.warmup_hours)
    poor = leads["fit"] < scenario.retention.poor_fit_below
    billed = leads["months_billed"].astype(np.float64)
    churned = ~np.isnan(leads["churned_at"])
    out = {}
    for group, mask in (("good", customer & ~poor), ("poor", customer & poor)):
        for months in RETENTION_MONTHS[group]:
            # observed for `months` months: then months_billed > k exactly when it paid more than k
            observed = mask & (customer_at <= horizon - months * HOURS_PER_MONTH)
            out[f"{group}.survival_{months}"] = float(np.mean(billed[observed] > months))
        # churn decisions seen: every paid month of a churned customer, all but the current one otherwise
        at_risk = billed[mask] - (~churned[mask])
        out[f"{group}.hazard"] = float(np.count_nonzero(churned[mask]) / at_risk.sum())
    return out
