"""The registry of figures: each one's label, unit, report section and whether it is a headline.

Also the named sets reports use (headline, sweep default, speed shares, per-channel) and the units.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from funnelsim.scenario.schema import Scenario


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


# Counts of the window's flow (not stocks or time-averages), shown also per year of window.
STOCK_COUNTS = ("sal_queue_mean", "ae_waiting_mean", "customers_at_horizon")
HOURS_PER_YEAR = 8766.0


def per_year_of_window(metric: str, value: float, scenario: Scenario) -> float | None:
    """A count of the window's leads scaled to one year of window; None for anything else."""
    unit = FIGURES[metric].unit if metric in FIGURES else ""
    if unit not in COUNT_UNITS or metric in STOCK_COUNTS:
        return None
    return value * HOURS_PER_YEAR / (scenario.horizon - scenario.warmup)
