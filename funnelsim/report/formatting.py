"""Turning figures into text with their units, shared by the terminal tables and reports.

Every value carries its unit: shares as %, their differences in percentage points (pp), money
in the scenario's currency, durations in h, d or months, counts as counts (thousands
separators, at most one decimal: a mean over replications need not be whole).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

from funnelsim.metrics import CHANNEL_FIGURES, COUNT_UNITS, DURATION_UNITS, FIGURES, Figure
from funnelsim.metrics import HEADLINE as HEADLINE  # re-exported: the headline set, from the registry


def figure_info(metric: str) -> Figure:
    """Label, unit, section and direction of a metric from the registry, per-channel metrics included.

    A name the registry does not know reads as better higher, or lower when it is in hours."""
    if metric in FIGURES:
        return FIGURES[metric]
    unknown: Literal["higher", "lower"] = "lower" if metric.endswith("_hours") else "higher"
    if metric.startswith("channel."):
        _, channel, name = metric.split(".", 2)
        base = CHANNEL_FIGURES.get(name)
        if base is None:
            return Figure(f"{channel}: {name}", "", "By channel", name=metric, better=unknown)
        label = base.label[0].lower() + base.label[1:] if name == "cost_per_customer" else base.label
        return replace(base, label=f"{channel}: {label}", name=metric)
    return Figure(metric, "", "Other", name=metric, better=unknown)


def better(metric: str) -> Literal["higher", "lower"] | None:
    """'higher', 'lower', or None when neither is better on its own: the registry's direction."""
    return figure_info(metric).better


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def _number(value: float, unit: str) -> str:
    """The number alone, rounded as its unit deserves (never a negative zero)."""
    text = _rounded(value, unit)
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def _rounded(value: float, unit: str) -> str:
    if unit == "%":
        return f"{100 * value:.1f}"
    if unit == "money":
        return f"{value:,.0f}"
    if unit in COUNT_UNITS:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if unit in DURATION_UNITS or unit == "x":
        return f"{value:,.2f}"
    if unit.endswith("/week"):
        return f"{value:,.1f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _suffix(unit: str, currency: str | None, difference: bool = False) -> str:
    if unit == "%":
        return " pp" if difference else "%"
    if unit == "money":
        return f" {currency}" if currency else ""
    if unit == "x":
        return "x"
    if unit in DURATION_UNITS or unit.endswith("/week"):
        return f" {unit}"
    return ""


def format_value(value: float | None, unit: str, currency: str | None = None) -> str:
    """One number in its unit: 35.7%, 1,234, 1,234.5, 2.50 h, 12,000 USD, 1.40x."""
    if not _finite(value):
        return "–"
    return _number(float(value), unit) + _suffix(unit, currency)  # type: ignore[arg-type]


def format_interval(low: float, high: float, unit: str, currency: str | None = None, with_unit: bool = True) -> str:
    """A 95% interval, its unit written once: [35.1, 36.2]%, [2.10, 2.90] h."""
    if not (_finite(low) and _finite(high)):
        return ""
    return f"[{_number(low, unit)}, {_number(high, unit)}]" + (_suffix(unit, currency) if with_unit else "")


def format_difference(value: float | None, unit: str, currency: str | None = None) -> str:
    """A signed difference; differences of shares are in percentage points: +2.3 pp."""
    if not _finite(value):
        return "–"
    sign = "+" if value > 0 else ""  # type: ignore[operator]
    return f"{sign}{_number(float(value), unit)}{_suffix(unit, currency, difference=True)}"  # type: ignore[arg-type]


def format_difference_interval(
    low: float, high: float, unit: str, currency: str | None = None, with_unit: bool = True
) -> str:
    """The interval of a difference, signed, in pp for shares: [+1.2, +3.4] pp (`with_unit=False`
    leaves the unit to the difference printed before it)."""
    if not (_finite(low) and _finite(high)):
        return ""

    def signed(v: float) -> str:
        return ("+" if v > 0 else "") + _number(v, unit)

    return f"[{signed(low)}, {signed(high)}]" + (_suffix(unit, currency, difference=True) if with_unit else "")


def unit_suffix(unit: str) -> str:
    """What a label adds for a unit its values do not carry themselves."""
    carried = ("%", "money", "x", "", *COUNT_UNITS, *DURATION_UNITS)
    return "" if unit in carried or unit.endswith("/week") else f" ({unit})"


def axis_unit(unit: str, currency: str | None = None, difference: bool = False) -> str:
    """The unit an axis is labelled in: %, pp, the currency code, h, leads."""
    if unit == "%":
        return "pp" if difference else "%"
    if unit == "money":
        return currency or "money"
    return unit or "count"
