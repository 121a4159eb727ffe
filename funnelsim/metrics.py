"""Figures of one replication from its records, and summaries with 95% confidence intervals.

A figure's meaning is fixed here; the experiment layer only repeats and aggregates. Lead-based
figures count the cohort of leads that arrived in the window [warmup, horizon), followed to
their outcome through the follow-up period after the horizon (cohort accounting); a lead still
open at its end is censored, and its share is a figure of its own. Time-based figures
(utilisation, queue length) are averages over the window; revenue in calendar time has its own
section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from funnelsim.capacity import offered_load
from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.records import CUSTOMER, IN_PROGRESS, OUTCOME_OF_REASON, LeadColumns, Reason, Records
from funnelsim.model.retention import monthly_hazard
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_MONTH, HOURS_PER_WEEK


@dataclass(frozen=True)
class Figure:
    """A figure of the registry: its label, unit and section of the report, whether it is a
    headline (shown by compare and the precision rule by default), its name (its key in FIGURES),
    and which way is better: "higher", "lower", or None when neither is on its own (utilisation)."""

    label: str
    unit: str
    section: str
    headline: bool = False
    name: str = ""
    better: Literal["higher", "lower"] | None = "higher"


# Units: "%" (a share; differences in percentage points), "money" (the scenario's currency),
# counts ("leads", "deals", "customers"), durations ("h", "d", "months"), "x" (a ratio) and
# rates of growth ("leads/week", "deals/week").
_FIGURES: dict[str, Figure] = {
    "leads": Figure("Leads", "leads", "Funnel", True),
    "mqls": Figure("MQLs", "leads", "Funnel", True),
    "sals": Figure("SALs (accepted by sales)", "leads", "Funnel", True),
    "called": Figure("Called (SALs an SDR dialled)", "leads", "Funnel"),
    "reached": Figure("Reached (SALs an SDR spoke to)", "leads", "Funnel"),
    "sqls": Figure("SQLs", "leads", "Funnel", True),
    "opportunities": Figure("Opportunities worked by AEs", "deals", "Funnel"),
    "deals_won": Figure("Deals won (rep-assisted)", "deals", "Funnel"),
    "self_serve_customers": Figure("Self-serve customers (no rep)", "customers", "Funnel"),
    "assisted_trial_customers": Figure("Trials converted with a rep", "customers", "Funnel"),
    "customers": Figure("New customers", "customers", "Funnel", True),
    "censored_share": Figure(
        "Window's leads still open at the end of the follow-up (censored)", "%", "Funnel", better="lower"
    ),
    "lead_to_mql": Figure("Lead -> MQL", "%", "Conversion"),
    "mql_to_sal": Figure("MQL -> SAL", "%", "Conversion"),
    "sal_to_sql": Figure("SAL -> SQL", "%", "Conversion", True),
    "sql_to_won": Figure("SQL -> won (closed deals)", "%", "Conversion"),
    "mql_to_customer": Figure("MQL -> customer", "%", "Conversion", True),
    "lead_to_customer": Figure("Lead -> customer", "%", "Conversion", True),
    "response_delay_mean_hours": Figure("Response delay, mean", "h", "Speed to lead", better="lower"),
    "response_delay_median_hours": Figure("Response delay, median", "h", "Speed to lead", True, better="lower"),
    "response_delay_p90_hours": Figure("Response delay, 90th percentile", "h", "Speed to lead", better="lower"),
    "answered_within_5min": Figure("SALs answered within 5 min", "%", "Speed to lead", True),
    "answered_within_1h": Figure("SALs answered within 1 h", "%", "Speed to lead", True),
    "answered_within_24h": Figure("SALs answered within 24 h", "%", "Speed to lead"),
    "sla_attainment": Figure("SLA attainment", "%", "Speed to lead", True),
    "abandoned": Figure("Abandoned before contact", "leads", "Capacity", better="lower"),
    "abandon_rate": Figure("Abandoned / SALs", "%", "Capacity", True, better="lower"),
    "sdr_offered_load": Figure(
        "SDR desk offered load (call hours needed / open rep hours)", "x", "Capacity", better=None
    ),
    "sdr_utilisation": Figure("SDR utilisation (of open hours)", "%", "Capacity", True, better=None),
    "sdr_overtime_hours": Figure("SDR time past closing (finishing calls)", "h", "Capacity", better="lower"),
    "sal_queue_mean": Figure("SAL queue, time-average", "leads", "Capacity", better="lower"),
    "sal_backlog_growth_per_week": Figure(
        "SAL queue, growth through the window", "leads/week", "Capacity", better="lower"
    ),
    "sal_wait_mean_hours": Figure("Time in SAL queue, mean", "h", "Capacity", better="lower"),
    "ae_offered_load": Figure(
        "AE pipeline offered load (SQLs arriving x time in a slot / slots)", "x", "Capacity", better=None
    ),
    "ae_load_if_prompt": Figure("AE offered load if every SAL were called at once", "x", "Capacity", better=None),
    "ae_utilisation": Figure(
        "AE slots occupied (from the moment a deal takes one)", "%", "Capacity", True, better=None
    ),
    "ae_waiting_mean": Figure("SQLs waiting for an AE slot, time-average", "deals", "Capacity", better="lower"),
    "ae_backlog_growth_per_week": Figure(
        "SQLs waiting for an AE, growth through the window", "deals/week", "Capacity", better="lower"
    ),
    "sales_cycle_mean_days": Figure("SQL -> close, mean", "d", "Capacity", better="lower"),
    "bookings_arr": Figure("Bookings (new ARR of the window's customers)", "money", "Revenue", True),
    "cohort_revenue": Figure(
        "Cohort revenue (each new customer's first months, see retention.cohort_months)", "money", "Revenue"
    ),
    "revenue": Figure("Revenue billed by the horizon (window's customers)", "money", "Revenue, calendar time"),
    "mrr_at_horizon": Figure("MRR at the horizon", "money", "Revenue, calendar time"),
    "arr_at_horizon": Figure("ARR at the horizon", "money", "Revenue, calendar time", True),
    "customers_at_horizon": Figure("Customers at the horizon", "customers", "Revenue, calendar time"),
    "logo_churn_monthly": Figure("Logo churn, monthly", "%", "Revenue, calendar time", True, better="lower"),
    "revenue_churn_monthly": Figure("Revenue churn, monthly", "%", "Revenue, calendar time", better="lower"),
    "marketing_spend": Figure("Marketing spend (cost per lead)", "money", "Cost", better="lower"),
    "team_cost": Figure("Sales team cost (SDRs and AEs)", "money", "Cost", better="lower"),
    "fixed_cost": Figure("Fixed cost (managers, tools)", "money", "Cost", better="lower"),
    "options_cost": Figure("Cost of options (e.g. automated touch)", "money", "Cost", better="lower"),
    "total_spend": Figure("Sales and marketing spend, all of it", "money", "Cost", better="lower"),
    "cac": Figure("CAC (all spend / new customers)", "money", "Cost", True, better="lower"),
    "ltv": Figure("LTV (gross margin, capped horizon)", "money", "Cost"),
    "ltv_to_cac": Figure("LTV : CAC", "x", "Cost", True),
    "payback_months": Figure("CAC payback", "months", "Cost", True, better="lower"),
}
# The registry: every figure `figures` computes, in the order reports list them.
FIGURES: dict[str, Figure] = {name: replace(figure, name=name) for name, figure in _FIGURES.items()}
HEADLINE: tuple[str, ...] = tuple(name for name, figure in FIGURES.items() if figure.headline)
# What a sweep shows unless asked, and the four figures of a one-line summary (a notebook's repr).
SWEEP_DEFAULT: tuple[str, ...] = (
    "customers", "lead_to_customer", "answered_within_1h", "abandon_rate", "sdr_utilisation", "cac",
)  # fmt: skip
ONE_LINE: tuple[str, ...] = ("customers", "lead_to_customer", "answered_within_1h", "cac")
# Shares of SALs answered in time: the speed-to-lead targets a planner can warm-start from queueing theory.
SPEED_SHARES: tuple[str, ...] = tuple(
    name for name, figure in FIGURES.items() if figure.section == "Speed to lead" and figure.unit == "%"
)
# Figures also given per channel, as channel.<channel>.<name>.
CHANNEL_FIGURES: dict[str, Figure] = {
    name: replace(FIGURES[name], section="By channel") for name in ("leads", "mqls", "customers", "lead_to_customer")
} | {"cost_per_customer": Figure("Cost per customer", "money", "By channel", name="cost_per_customer", better="lower")}
# The funnel's stages in order, from lead to customer (the funnel chart's bars, the page's funnel).
FUNNEL_STAGES: tuple[str, ...] = (
    "leads", "mqls", "sals", "called", "reached", "sqls", "opportunities", "deals_won", "customers",
)  # fmt: skip
# The what-if page's headline cards and groups of bars.
PAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "headline": ("customers", "answered_within_1h", "abandon_rate", "sdr_utilisation", "ae_utilisation", "cac",
                 "bookings_arr"),
    "funnel": FUNNEL_STAGES,
    "speed": SPEED_SHARES,
    "capacity": ("sdr_utilisation", "ae_utilisation", "abandon_rate", "sal_queue_mean"),
    "revenue": ("bookings_arr", "cohort_revenue", "arr_at_horizon", "cac", "ltv_to_cac", "payback_months"),
}  # fmt: skip
RATE_UNITS = ("%",)
COUNT_UNITS = ("leads", "deals", "customers")
DURATION_UNITS = ("h", "d", "months")


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else math.nan


def _overlap_hours(begin: np.ndarray, end: np.ndarray, lo: float, hi: float) -> float:
    """Total length of the intervals [begin, end) inside [lo, hi)."""
    return float(np.clip(np.minimum(end, hi) - np.maximum(begin, lo), 0, None).sum())


def open_hours_within(calendar: WorkCalendar, begin: np.ndarray, end: np.ndarray, lo: float, hi: float) -> float:
    """Total open hours of the calendar inside the intervals [begin, end), clipped to [lo, hi)."""
    begin, end = np.clip(begin, lo, hi), np.clip(end, lo, hi)
    if calendar.always_open:
        return float(np.clip(end - begin, 0, None).sum())
    opens, closes = np.asarray(calendar.opens), np.asarray(calendar.closes)
    cumulative = np.concatenate([[0.0], np.cumsum(closes - opens)])

    def open_before(t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(opens, t, side="right")  # intervals opened at or before t
        inside = np.where(i > 0, np.minimum(t, closes[np.maximum(i - 1, 0)]) - opens[np.maximum(i - 1, 0)], 0.0)
        return cumulative[np.maximum(i - 1, 0)] + np.where(i > 0, inside, 0.0)

    return float(np.clip(open_before(end) - open_before(begin), 0, None).sum())


def sal_wait_end(leads: LeadColumns, horizon: float) -> np.ndarray:
    """When each lead stopped waiting for first contact: contact, giving up, or `horizon` (the
    end of the window for queue lengths, the end of the run for a lead's own wait)."""
    end = np.where(np.isnan(leads["first_contact_at"]), leads["ended_at"], leads["first_contact_at"])
    return np.where(np.isnan(end), horizon, np.minimum(end, horizon))


def figures(records: Records, scenario: Scenario) -> dict[str, float]:
    """All figures of one replication (see FIGURES for their meaning)."""
    leads = records.leads
    lo, hi = records.warmup_hours, records.horizon_hours
    window = hi - lo
    cohort = (leads["arrival_at"] >= lo) & (leads["arrival_at"] < hi)
    reason = leads["reason"]
    outcome = OUTCOME_OF_REASON[reason]

    def count(mask: np.ndarray) -> float:
        return float(np.count_nonzero(mask & cohort))

    sal = ~np.isnan(leads["sal_at"]) & ~leads["trial"]
    n_leads, n_mql = count(np.ones_like(cohort)), count(~np.isnan(leads["mql_at"]))
    n_sal = count(sal)
    n_sql = count(~np.isnan(leads["sql_at"]))
    won = reason == Reason.ASSISTED
    lost = reason == Reason.DEAL_LOST
    is_customer = outcome == CUSTOMER
    n_customers = count(is_customer)
    f: dict[str, float] = {
        "leads": n_leads,
        "mqls": n_mql,
        "sals": n_sal,
        "called": count(sal & ~np.isnan(leads["first_contact_at"])),
        "reached": count(sal & ~np.isnan(leads["reached_at"])),
        "sqls": n_sql,
        "opportunities": count(~np.isnan(leads["opportunity_at"])),
        "deals_won": count(won),
        "self_serve_customers": count(reason == Reason.SELF_SERVE),
        "assisted_trial_customers": count(reason == Reason.ASSISTED_TRIAL),
        "customers": n_customers,
        "lead_to_mql": _share(n_mql, n_leads),
        "mql_to_sal": _share(n_sal, n_mql),
        "sal_to_sql": _share(n_sql, n_sal),
        "sql_to_won": _share(count(won), count(won | lost)),
        "mql_to_customer": _share(n_customers, n_mql),
        "lead_to_customer": _share(n_customers, n_leads),
        "censored_share": _share(count(outcome == IN_PROGRESS), n_leads),
    }

    # speed to lead, over the SALs of the cohort (never contacted counts as not answered)
    in_sal = sal & cohort
    delay = leads["first_contact_at"][in_sal] - leads["sal_at"][in_sal]
    answered = delay[~np.isnan(delay)]
    f["response_delay_mean_hours"] = float(answered.mean()) if len(answered) else math.nan
    f["response_delay_median_hours"] = float(np.median(answered)) if len(answered) else math.nan
    f["response_delay_p90_hours"] = float(np.quantile(answered, 0.9)) if len(answered) else math.nan
    for name, limit in (("answered_within_5min", 5 / 60), ("answered_within_1h", 1.0), ("answered_within_24h", 24.0)):
        f[name] = _share(float(np.count_nonzero(answered <= limit)), n_sal)
    f["sla_attainment"] = _share(float(np.count_nonzero(answered <= scenario.sales.sla)), n_sal)

    # capacity
    f["abandoned"] = count(reason == Reason.ABANDONED)
    f["abandon_rate"] = _share(f["abandoned"], n_sal)
    # Utilisation counts rep time inside open hours; an attempt finished after closing is overtime.
    sdr_calendar = WorkCalendar.build(
        scenario.calendar(scenario.sales.sdr.calendar), scenario.start, scenario.timezone, scenario.horizon
    )
    busy = _overlap_hours(records.attempt_start, records.attempt_end, lo, hi)
    busy_open = open_hours_within(sdr_calendar, records.attempt_start, records.attempt_end, lo, hi)
    open_capacity = (records.sdr_count or 0) * records.sdr_open_hours
    f["sdr_utilisation"] = _share(busy_open, open_capacity) if records.sdr_count else math.nan
    f["sdr_overtime_hours"] = busy - busy_open
    sql_at, closed_at, slot_at = leads["sql_at"], leads["closed_at"], leads["ae_slot_at"]
    load = offered_load(scenario)
    f["sdr_offered_load"] = load.desk.load
    # an AE slot is occupied from the moment a deal takes it until the deal closes; before
    # that the SQL waits for one
    slots = records.ae_slots
    has_sql = ~np.isnan(sql_at)
    worked = ~np.isnan(slot_at)
    pipeline_end = np.where(np.isnan(closed_at), hi, closed_at)[worked]
    occupied = _overlap_hours(slot_at[worked], pipeline_end, lo, hi)
    f["ae_utilisation"] = _share(occupied, slots * window) if slots else math.nan
    sqls, slot_taken = sql_at[has_sql], np.where(np.isnan(slot_at), np.inf, slot_at)[has_sql]
    if slots:
        f["ae_waiting_mean"] = _overlap_hours(sqls, slot_taken, lo, hi) / window
        sqls_per_hour = np.count_nonzero((sqls >= lo) & (sqls < hi)) / window
        f["ae_offered_load"] = sqls_per_hour * load.pipeline.hold_hours / slots
    else:
        f["ae_waiting_mean"] = f["ae_offered_load"] = math.nan
    f["ae_load_if_prompt"] = load.pipeline.load
    grid = np.arange(lo, hi, 1.0)
    all_sal = ~np.isnan(leads["sal_at"])
    wait_end = sal_wait_end(leads, hi)
    f["sal_queue_mean"] = _overlap_hours(leads["sal_at"][all_sal], wait_end[all_sal], lo, hi) / window
    f["sal_backlog_growth_per_week"] = _slope_per_week(
        grid, _in_progress_at(grid, leads["sal_at"][all_sal], wait_end[all_sal])
    )
    f["ae_backlog_growth_per_week"] = (
        _slope_per_week(grid, _in_progress_at(grid, sqls, slot_taken)) if slots else math.nan
    )
    # a cohort lead's wait runs to its own end, in the follow-up if need be, not to the horizon
    cohort_wait_end = sal_wait_end(leads, records.until_hours)[in_sal]
    f["sal_wait_mean_hours"] = float(np.mean(cohort_wait_end - leads["sal_at"][in_sal])) if n_sal else math.nan
    closed = cohort & ~np.isnan(closed_at)
    f["sales_cycle_mean_days"] = float(np.mean(closed_at[closed] - sql_at[closed]) / 24) if closed.any() else math.nan

    # revenue and churn
    growth = (1.0 + scenario.retention.expansion_per_year) ** (1 / 12)
    new = is_customer & cohort
    f["bookings_arr"] = float(leads["deal_mrr"][new].sum() * 12)
    f["cohort_revenue"] = float(leads["cohort_revenue"][new].sum())
    f["revenue"] = float(leads["revenue"][new].sum())
    # calendar time: customers won by the horizon (the follow-up's customers are not there yet)
    by_horizon = is_customer & (leads["customer_at"] < hi)
    f["mrr_at_horizon"] = float(np.nansum(leads["mrr_at_horizon"][by_horizon]))
    f["arr_at_horizon"] = 12 * f["mrr_at_horizon"]
    f["customers_at_horizon"] = float(np.count_nonzero(by_horizon & np.isnan(leads["churned_at"])))
    billed = leads["months_billed"][by_horizon].astype(np.float64)
    churned = ~np.isnan(leads["churned_at"][by_horizon])
    # A churn chance comes at each month-end; an active customer's current month is not over yet.
    completed = billed - ~churned
    f["logo_churn_monthly"] = _share(float(churned.sum()), float(completed.sum()))
    mrr0 = leads["deal_mrr"][by_horizon]
    mrr_months = mrr0 * completed if growth == 1.0 else mrr0 * (growth**completed - 1) / (growth - 1)
    churned_mrr = (mrr0 * growth ** np.maximum(billed - 1, 0))[churned]
    f["revenue_churn_monthly"] = _share(float(churned_mrr.sum()), float(mrr_months.sum()))

    # cost
    costs = scenario.costs
    cost_per_lead = np.array([c.cost_per_lead for c in scenario.channels.values()])
    f["marketing_spend"] = float(cost_per_lead[leads["channel"][cohort]].sum())
    months = window / HOURS_PER_MONTH
    sdr_heads = records.sdr_count or 0
    ae_heads = scenario.sales.ae.count if isinstance(scenario.sales.ae.count, int) else 0
    f["team_cost"] = (sdr_heads * costs.sdr_per_month + ae_heads * costs.ae_per_month) * months
    f["fixed_cost"] = costs.fixed_per_month * months
    auto_touch = scenario.sales.auto_touch
    f["options_cost"] = (auto_touch.cost_per_month if auto_touch.enabled else 0.0) * months
    f["total_spend"] = f["marketing_spend"] + f["team_cost"] + f["fixed_cost"] + f["options_cost"]
    f["cac"] = _share(f["total_spend"], n_customers)
    mean_mrr = float(leads["deal_mrr"][new].mean()) if n_customers else math.nan
    f["ltv"] = lifetime_value(scenario, leads["deal_mrr"][new], leads["fit"][new]) if n_customers else math.nan
    f["ltv_to_cac"] = _share(f["ltv"], f["cac"])
    f["payback_months"] = _share(f["cac"], mean_mrr * costs.gross_margin)

    # per channel
    for code, name in enumerate(records.channel_names):
        mine = leads["channel"] == code
        n = count(mine)
        c = count(mine & is_customer)
        f[f"channel.{name}.leads"] = n
        f[f"channel.{name}.mqls"] = count(mine & ~np.isnan(leads["mql_at"]))
        f[f"channel.{name}.customers"] = c
        f[f"channel.{name}.lead_to_customer"] = _share(c, n)
        f[f"channel.{name}.cost_per_customer"] = _share(n * cost_per_lead[code], c)
    return f


def lifetime_value(scenario: Scenario, mrr: np.ndarray, fit: np.ndarray) -> float:
    """Mean gross-margin value of customers over `retention.ltv_horizon`, discounted monthly.

    A customer pays its MRR (growing with expansion) at the start of month m if it survived m
    month-ends, each with chance 1 - its hazard; month m is discounted by (1 + rate)^(-m/12).
    """
    retention = scenario.retention
    months = max(1, round(retention.ltv_horizon / HOURS_PER_MONTH))
    growth = (1.0 + retention.expansion_per_year) ** (1 / 12)
    discount = (1.0 + retention.discount_rate) ** (-1 / 12)
    kept = (1.0 - monthly_hazard(retention, fit)) * growth * discount
    with np.errstate(divide="ignore", invalid="ignore"):
        paid_months = np.where(np.isclose(kept, 1.0), months, (1.0 - kept**months) / (1.0 - kept))
    return float(np.mean(mrr * paid_months) * scenario.costs.gross_margin)


def _slope_per_week(t_hours: np.ndarray, level: np.ndarray) -> float:
    """Least-squares slope of a level sampled at `t_hours`, per week."""
    if len(t_hours) < 2:
        return math.nan
    t = t_hours - t_hours.mean()
    return float((t * (level - level.mean())).sum() / (t * t).sum() * HOURS_PER_WEEK)


def timeseries(records: Records, step_hours: float = 1.0) -> pd.DataFrame:
    """SAL backlog, SDRs busy and open opportunities sampled every `step_hours`."""
    leads, hi = records.leads, records.horizon_hours
    grid = np.arange(0.0, hi, step_hours)
    all_sal = ~np.isnan(leads["sal_at"])
    waiting = _in_progress_at(grid, leads["sal_at"][all_sal], sal_wait_end(leads, hi)[all_sal])
    busy = _in_progress_at(grid, records.attempt_start, records.attempt_end)
    has_sql = ~np.isnan(leads["sql_at"])
    closes = np.where(np.isnan(leads["closed_at"]), np.inf, leads["closed_at"])[has_sql]
    pipeline = _in_progress_at(grid, leads["sql_at"][has_sql], closes)
    return pd.DataFrame({"t_hours": grid, "sal_queue": waiting, "sdrs_busy": busy, "open_opportunities": pipeline})


def _in_progress_at(grid: np.ndarray, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    started = np.searchsorted(np.sort(begin), grid, side="right")
    finished = np.searchsorted(np.sort(end), grid, side="right")
    return (started - finished).astype(np.int64)


# --- summaries over replications ---------------------------------------------------------

# Two-sided 95% Student t quantiles for 1..30 degrees of freedom.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(dof: int) -> float:
    """The 97.5% quantile of Student's t (table to 30, Cornish-Fisher expansion beyond)."""
    if dof < 1:
        return math.nan
    if dof <= 30:
        return _T975[dof - 1]
    z = 1.959963984540054
    return z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)


def interval(values: np.ndarray) -> tuple[float, float, float, int]:
    """Mean and 95% t-interval of finite values: (mean, low, high, n)."""
    finite = values[np.isfinite(values)]
    n = len(finite)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(finite.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = t_quantile_975(n - 1) * float(finite.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half, n


def summarise(replications: pd.DataFrame) -> pd.DataFrame:
    """One row a metric: mean, ci_low, ci_high, std and n over replications."""
    rows = []
    for name in replications.columns:
        if name in ("replication", "seed", "error", "events", "seconds"):
            continue
        values = replications[name].to_numpy(dtype=np.float64)
        mean, low, high, n = interval(values)
        std = float(np.nanstd(values, ddof=1)) if n > 1 else math.nan
        rows.append({"metric": name, "mean": mean, "ci_low": low, "ci_high": high, "std": std, "n": n})
    return pd.DataFrame(rows)


def paired_difference(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Per metric: mean of A, mean of B, and the paired difference B - A with its 95% interval."""
    common = [c for c in a.columns if c in b.columns and c not in ("replication", "seed", "error", "events", "seconds")]
    merged = a.merge(b, on="replication", suffixes=("_a", "_b"))
    rows = []
    for name in common:
        va = merged[f"{name}_a"].to_numpy(dtype=np.float64)
        vb = merged[f"{name}_b"].to_numpy(dtype=np.float64)
        diff_mean, low, high, n = interval(vb - va)
        rows.append(
            {
                "metric": name,
                "mean_a": float(np.nanmean(va)) if np.isfinite(va).any() else math.nan,
                "mean_b": float(np.nanmean(vb)) if np.isfinite(vb).any() else math.nan,
                "difference": diff_mean,
                "ci_low": low,
                "ci_high": high,
                "n": n,
            }
        )
    # a side whose replications all failed has no figures: no rows, but the columns still
    return pd.DataFrame(rows, columns=["metric", "mean_a", "mean_b", "difference", "ci_low", "ci_high", "n"])


def paired_ratio(a: pd.DataFrame, b: pd.DataFrame, numerator: str, denominator: str) -> tuple[float, float, float, int]:
    """Ratio of paired mean differences, e.g. extra cost per extra customer, with a 95% interval.

    R = mean(dN) / mean(dD) over replications paired on `replication` (d = B - A); its interval
    is the delta method's: the standard error of mean(dN - R dD) divided by |mean(dD)|, with the
    t quantile of the pairs. The ratio of means is used rather than a mean of per-replication
    ratios, which blows up whenever one replication gains almost nothing.
    """
    if not all(name in side.columns for side in (a, b) for name in (numerator, denominator)):
        return math.nan, math.nan, math.nan, 0  # a side whose replications all failed
    merged = a.merge(b, on="replication", suffixes=("_a", "_b"))
    d_num = (merged[f"{numerator}_b"] - merged[f"{numerator}_a"]).to_numpy(dtype=np.float64)
    d_den = (merged[f"{denominator}_b"] - merged[f"{denominator}_a"]).to_numpy(dtype=np.float64)
    keep = np.isfinite(d_num) & np.isfinite(d_den)
    d_num, d_den = d_num[keep], d_den[keep]
    n = len(d_num)
    if n == 0 or d_den.mean() == 0:
        return math.nan, math.nan, math.nan, n
    ratio = float(d_num.mean() / d_den.mean())
    if n == 1:
        return ratio, math.nan, math.nan, 1
    half = t_quantile_975(n - 1) * float(np.std(d_num - ratio * d_den, ddof=1)) / math.sqrt(n) / abs(d_den.mean())
    return ratio, ratio - half, ratio + half, n


CENSORED_WARNING_SHARE = 0.01


def censoring_warning(summary: pd.DataFrame, follow_up_hours: float) -> str | None:
    """A warning when more than 1% of the window's leads were still open at the end of the run."""
    rows = summary[summary["metric"] == "censored_share"]
    if rows.empty or not np.isfinite(share := float(rows["mean"].iloc[0])) or share <= CENSORED_WARNING_SHARE:
        return None
    return (
        f"{share:.1%} of the window's leads were still open when the follow-up ended "
        f"({follow_up_hours / 24:,.0f} days after the horizon): they are censored, neither won nor lost, "
        "so conversion, customers and revenue undercount; set a longer `follow_up`"
    )


# Counts of the window's flow (not stocks or time-averages), shown also per year of window.
STOCK_COUNTS = ("sal_queue_mean", "ae_waiting_mean", "customers_at_horizon")
HOURS_PER_YEAR = 8766.0


def per_year_of_window(metric: str, value: float, scenario: Scenario) -> float | None:
    """A count of the window's leads scaled to one year of window; None for anything else."""
    unit = FIGURES[metric].unit if metric in FIGURES else ""
    if unit not in COUNT_UNITS or metric in STOCK_COUNTS:
        return None
    return value * HOURS_PER_YEAR / (scenario.horizon - scenario.warmup)
