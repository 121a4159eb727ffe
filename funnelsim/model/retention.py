"""Customers after the sale, drawn in one vectorised batch: monthly churn, expansion, revenue.

A customer pays at the start of each month; after each paid month it churns with its monthly
hazard (raised by `poor_fit_churn_factor` below the fit threshold), so months paid in total
are geometric. MRR grows by `expansion_per_year`, compounded monthly.
"""

from __future__ import annotations

import numpy as np

from funnelsim.model.records import LeadColumns, Reason
from funnelsim.scenario.schema import Retention
from funnelsim.scenario.units import HOURS_PER_MONTH

NEVER = np.iinfo(np.int32).max


def retain_customers(retention: Retention, leads: LeadColumns, horizon_hours: float, rng: np.random.Generator) -> None:
    """Won deals (at their close) and converted trials (at their end) become customers; each one's
    life as a customer is drawn and written to the lead columns."""
    won = leads.reason == Reason.ASSISTED
    leads.customer_at[won] = leads.closed_at[won]
    converted = np.isin(leads.reason, (Reason.SELF_SERVE, Reason.ASSISTED_TRIAL))
    leads.customer_at[converted] = leads.ended_at[converted]
    customers = np.flatnonzero(won | converted)
    kept = draw_retention(
        retention,
        leads.customer_at[customers],
        leads.fit[customers],
        leads.deal_mrr[customers],
        horizon_hours,
        rng,
        retention.cohort_months,
    )
    for name, values in kept.items():
        leads[name][customers] = values


def monthly_hazard(retention: Retention, fit: np.ndarray) -> np.ndarray:
    """Each customer's monthly churn chance."""
    factor = np.where(fit < retention.poor_fit_below, retention.poor_fit_churn_factor, 1.0)
    return np.clip(retention.monthly_churn * factor, 0.0, 1.0)


def draw_retention(
    retention: Retention,
    customer_at: np.ndarray,
    fit: np.ndarray,
    mrr: np.ndarray,
    horizon_hours: float,
    rng: np.random.Generator,
    cohort_months: int = 12,
) -> dict[str, np.ndarray]:
    """Each customer's churn time, months billed, revenue and MRR in calendar time up to the
    horizon (a customer won after it has none there), and its cohort revenue: what it bills in
    its first `cohort_months` months, wherever they fall."""
    n = len(customer_at)
    hazard = monthly_hazard(retention, fit)
    u = rng.random(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        # inverse CDF of the geometric law on {1, 2, ...}: months paid before churning
        paid_total = np.where(hazard > 0, np.ceil(np.log1p(-u) / np.log1p(-hazard)), np.inf)
    paid_total = np.maximum(paid_total, 1)
    # months that start in the window: none for a customer won at the horizon or later
    months_since_won = np.floor((horizon_hours - customer_at) / HOURS_PER_MONTH) + 1
    months_open = np.where(customer_at < horizon_hours, months_since_won, 0)
    billed = np.minimum(paid_total, months_open)
    churned_at = customer_at + paid_total * HOURS_PER_MONTH
    churned_at = np.where(churned_at <= horizon_hours, churned_at, np.nan)
    growth = (1.0 + retention.expansion_per_year) ** (1 / 12)
    active = np.isnan(churned_at) & (customer_at < horizon_hours)
    mrr_now = np.where(active, mrr * growth ** (billed - 1), 0.0)
    return {
        "churned_at": churned_at,
        "months_billed": billed.astype(np.int32),
        "revenue": _billed(mrr, billed, growth),
        "cohort_revenue": _billed(mrr, np.minimum(paid_total, cohort_months), growth),
        "mrr_at_horizon": mrr_now,
    }


def _billed(mrr: np.ndarray, months: np.ndarray, growth: float) -> np.ndarray:
    """What a customer pays over its first `months` months, its MRR growing by `growth` a month."""
    return mrr * months if growth == 1.0 else mrr * (growth**months - 1) / (growth - 1)
