"""Turning figures into text with their units, shared by the terminal tables and reports."""

from __future__ import annotations

import math

from funnelsim.metrics import FIGURES, Figure

# The headline set: what compare shows (and charts) unless -m says otherwise.
HEADLINE = (
    "leads",
    "mqls",
    "sals",
    "sqls",
    "customers",
    "lead_to_customer",
    "mql_to_customer",
    "sal_to_sql",
    "response_delay_median_hours",
    "answered_within_5min",
    "answered_within_1h",
    "sla_attainment",
    "abandon_rate",
    "sdr_utilisation",
    "ae_utilisation",
    "bookings_arr",
    "arr_at_horizon",
    "logo_churn_monthly",
    "cac",
    "ltv_to_cac",
    "payback_months",
)
SWEEP_METRICS = ("customers", "lead_to_customer", "answered_within_1h", "abandon_rate", "sdr_utilisation", "cac")


def figure_info(metric: str) -> Figure:
    """Label, unit and section of a metric, per-channel metrics included."""
    if metric in FIGURES:
        return FIGURES[metric]
    if metric.startswith("channel."):
        _, channel, name = metric.split(".", 2)
        base = FIGURES.get(name)
        unit = base.unit if base else ("money" if name == "cost_per_customer" else "")
        label = {"cost_per_customer": "cost per customer"}.get(name, base.label if base else name)
        return Figure(f"{channel}: {label}", unit, "By channel")
    return Figure(metric, "", "Other")


def format_value(value: float, unit: str, currency: str | None = None) -> str:
    """One number in its unit: 35.7%, 1,234, 2.5 h, USD 12,400 (when the currency is given)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if unit == "%":
        return f"{100 * value:.1f}%"
    if unit == "money":
        return f"{currency} {value:,.0f}" if currency else f"{value:,.0f}"
    if unit in ("h", "d", "months", "x"):
        return f"{value:,.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def format_interval(low: float, high: float, unit: str) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"[{format_value(low, unit)}, {format_value(high, unit)}]"


def unit_suffix(unit: str) -> str:
    return "" if unit in ("%", "money", "leads", "deals", "customers", "") else f" {unit}"


def format_difference(value: float, unit: str, currency: str | None = None) -> str:
    """A signed difference: +3.2 pp for rates, +USD 1,200 for money, +12 for counts."""
    if value is None or not math.isfinite(value):
        return "–"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    if unit == "%":
        return f"{sign}{abs(100 * value):.1f} pp"
    return sign + format_value(abs(value), unit, currency) + unit_suffix(unit)


def axis_unit(unit: str, currency: str | None = None, difference: bool = False) -> str:
    """The unit an axis is labelled in: %, pp, the currency code, h, leads."""
    if unit == "%":
        return "pp" if difference else "%"
    if unit == "money":
        return currency or "money"
    return unit or "count"
