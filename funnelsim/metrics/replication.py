"""The figures of one replication from its records, and its time series of queues and pipeline.

Lead-based figures follow the window's cohort to its outcome; time-based ones average over the window.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from funnelsim.capacity import offered_load
from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.records import CUSTOMER, IN_PROGRESS, OUTCOME_OF_REASON, LeadColumns, Reason, Records
from funnelsim.model.retention import monthly_hazard
from funnelsim.model.simulate import per_scenario
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_MONTH, HOURS_PER_WEEK

# the reasons a lead ends as a customer, and those of a lead still in progress (counted per reason)
CUSTOMER_REASONS = tuple(r for r in Reason if r.outcome == CUSTOMER)
IN_PROGRESS_REASONS = tuple(r for r in Reason if r.outcome == IN_PROGRESS)


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
        i = _opened_by(opens, t, lo, hi)  # intervals opened at or before t
        last = np.maximum(i - 1, 0)
        hours = np.minimum(t, closes[last])
        hours -= opens[last]  # open so far in the last interval opened
        hours[i == 0] = 0.0
        hours += cumulative[last]
        return hours

    return float(np.clip(open_before(end) - open_before(begin), 0, None).sum())


HOURS_PER_TABLE = 1_000_000  # the longest window (hours) `_opened_by` builds a table for


def _opened_by(opens: np.ndarray, t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """`searchsorted(opens, t, side="right")` for times in [lo, hi], through a table by clock hour:
    exact, and a binary search only for the times in an hour some interval opens inside of."""
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi and hi - lo <= HOURS_PER_TABLE):
        return np.searchsorted(opens, t, side="right")
    first = math.floor(lo)
    hours = np.arange(first, math.floor(hi) + 2, dtype=np.float64)
    at_hour = np.searchsorted(opens, hours[:-1], side="right")  # opened by each whole hour
    before_next = np.searchsorted(opens, hours[1:], side="left")  # opened before the next whole hour
    hour = np.floor(t).astype(np.intp)
    hour -= first
    opened = at_hour[hour]
    unsure = np.flatnonzero(before_next[hour] != opened)
    opened[unsure] = np.searchsorted(opens, t[unsure], side="right")
    return opened


def sal_wait_end(leads: LeadColumns, horizon: float) -> np.ndarray:
    """When each lead stopped waiting for first contact: contact, giving up, or `horizon` (the
    end of the window for queue lengths, the end of the run for a lead's own wait)."""
    return _capped(_wait_stop(leads["first_contact_at"], leads["ended_at"]), horizon)


def _wait_stop(first_contact_at: np.ndarray, ended_at: np.ndarray) -> np.ndarray:
    """`sal_wait_end` before the cap: first contact, else the lead's end (NaN while it waits)."""
    return np.where(np.isnan(first_contact_at), ended_at, first_contact_at)


def _capped(end: np.ndarray, horizon: float) -> np.ndarray:
    return np.where(np.isnan(end), horizon, np.minimum(end, horizon))


def _sal_wait_end_of(leads: LeadColumns, rows: np.ndarray, horizon: float) -> np.ndarray:
    """`sal_wait_end(leads, horizon)[rows]`, working on those rows only."""
    return _capped(_wait_stop(leads["first_contact_at"][rows], leads["ended_at"][rows]), horizon)


def figures(records: Records, scenario: Scenario) -> dict[str, float]:
    """All figures of one replication (see FIGURES for their meaning)."""
    leads = records.leads
    lo, hi = records.warmup_hours, records.horizon_hours
    window = hi - lo
    cohort = (leads["arrival_at"] >= lo) & (leads["arrival_at"] < hi)
    reason = leads["reason"]
    outcome = OUTCOME_OF_REASON[reason]
    in_cohort = leads["channel"][cohort]  # the cohort's channel codes

    def count(mask: np.ndarray) -> float:
        return float(np.count_nonzero(mask & cohort))

    by_reason = np.bincount(reason[cohort], minlength=len(Reason))  # the cohort's leads per reason

    def count_reasons(*reasons: Reason) -> float:
        return float(sum(int(by_reason[r]) for r in reasons))

    has_sal, has_mql = ~np.isnan(leads["sal_at"]), ~np.isnan(leads["mql_at"])
    sal = has_sal & ~leads["trial"]
    n_leads, n_mql = float(np.count_nonzero(cohort)), count(has_mql)
    n_sal = count(sal)
    n_sql = count(~np.isnan(leads["sql_at"]))
    is_customer = outcome == CUSTOMER
    n_customers = count_reasons(*CUSTOMER_REASONS)
    n_won = count_reasons(Reason.ASSISTED)
    f: dict[str, float] = {
        "leads": n_leads,
        "mqls": n_mql,
        "sals": n_sal,
        "called": count(sal & ~np.isnan(leads["first_contact_at"])),
        "reached": count(sal & ~np.isnan(leads["reached_at"])),
        "sqls": n_sql,
        "opportunities": count(~np.isnan(leads["opportunity_at"])),
        "deals_won": n_won,
        "self_serve_customers": count_reasons(Reason.SELF_SERVE),
        "assisted_trial_customers": count_reasons(Reason.ASSISTED_TRIAL),
        "customers": n_customers,
        "lead_to_mql": _share(n_mql, n_leads),
        "mql_to_sal": _share(n_sal, n_mql),
        "sal_to_sql": _share(n_sql, n_sal),
        "sql_to_won": _share(n_won, count_reasons(Reason.ASSISTED, Reason.DEAL_LOST)),
        "mql_to_customer": _share(n_customers, n_mql),
        "lead_to_customer": _share(n_customers, n_leads),
        "censored_share": _share(count_reasons(*IN_PROGRESS_REASONS), n_leads),
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
    f["abandoned"] = count_reasons(Reason.ABANDONED)
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
    load = per_scenario(scenario, "offered_load", offered_load)
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
    sal_begin, sal_end = leads["sal_at"][has_sal], _sal_wait_end_of(leads, has_sal, hi)
    f["sal_queue_mean"] = _overlap_hours(sal_begin, sal_end, lo, hi) / window
    f["sal_backlog_growth_per_week"] = _slope_per_week(grid, _in_progress_at(grid, sal_begin, sal_end))
    f["ae_backlog_growth_per_week"] = (
        _slope_per_week(grid, _in_progress_at(grid, sqls, slot_taken)) if slots else math.nan
    )
    # a cohort lead's wait runs to its own end, in the follow-up if need be, not to the horizon
    cohort_wait_end = _sal_wait_end_of(leads, in_sal, records.until_hours)
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
    f["marketing_spend"] = float(cost_per_lead[in_cohort].sum())
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
    n_channels = len(records.channel_names)
    per_channel = [
        np.bincount(codes, minlength=n_channels)
        for codes in (in_cohort, leads["channel"][cohort & has_mql], leads["channel"][cohort & is_customer])
    ]
    for code, name in enumerate(records.channel_names):
        n, mqls, c = (float(counts[code]) for counts in per_channel)
        f[f"channel.{name}.leads"] = n
        f[f"channel.{name}.mqls"] = mqls
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
    """How many of the intervals [begin, end) have begun and not ended at each (ascending) grid time."""
    started = np.bincount(_first_grid_at_or_after(grid, begin), minlength=len(grid) + 1)[:-1].cumsum()
    finished = np.bincount(_first_grid_at_or_after(grid, end), minlength=len(grid) + 1)[:-1].cumsum()
    return (started - finished).astype(np.int64)


def _first_grid_at_or_after(grid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each time, the index of the first grid time >= it (len(grid) if none, or NaN): with
    `counts[k]` of each index, `cumsum(counts)[k]` is how many times are <= grid[k], in O(n) and
    exactly what a search of the sorted times gives. Guessed from the grid's step, then corrected."""
    size = len(grid)
    if size == 0:
        return np.zeros(len(t), dtype=np.intp)
    step = (grid[-1] - grid[0]) / (size - 1) if size > 1 else 1.0
    with np.errstate(invalid="ignore"):
        guess = np.ceil((t - grid[0]) / step) if step > 0 else np.zeros(len(t))
    index = np.clip(np.nan_to_num(guess, nan=size, posinf=size, neginf=0), 0, size).astype(np.intp)
    while True:  # rounding in the guess: step to the exact index (NaN never moves)
        later = (index < size) & (t > grid[np.minimum(index, size - 1)])
        earlier = (index > 0) & (t <= grid[np.maximum(index - 1, 0)])
        if not (later.any() or earlier.any()):
            return index
        index += later
        index -= earlier
