"""What every chart shares: colours, the Chart and RunData types, titles, layout, intervals.

Which way is better for a metric is the registry's (`funnelsim.metrics.Figure.better`).

The charts themselves are in the sibling modules; `funnelsim.report.charts` gathers them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from funnelsim.metrics import FUNNEL_STAGES, t_quantile_975
from funnelsim.report.formatting import better as better  # re-exported: the registry's direction

MARKETING, SALES, OUTCOME, MUTED = "#2f6db5", "#e07b28", "#3a9a5b", "#9a9a9a"
BETTER, WORSE = "#2a9d55", "#c8433a"
DPI = 120

# How the funnel chart draws each stage of the registry's FUNNEL_STAGES: its bar label, its part
# of the funnel (colour) and the short word under the conversion arrow.
_STAGE_LOOK = {
    "leads": ("Leads", "marketing", "leads"),
    "mqls": ("MQLs", "marketing", "MQLs"),
    "sals": ("SALs (accepted by sales)", "sales", "SALs"),
    "called": ("Called by an SDR", "sales", "SALs called"),
    "reached": ("Reached", "sales", "SALs reached"),
    "sqls": ("SQLs", "sales", "SQLs"),
    "opportunities": ("Opportunities (AE slot)", "sales", "opportunities"),
    "deals_won": ("Deals won", "sales", "deals"),
    "customers": ("New customers (incl. self-serve)", "outcome", "customers"),
}
# Funnel stages: (metric, label, part of the funnel, short name).
FUNNEL = tuple((metric, *_STAGE_LOOK[metric]) for metric in FUNNEL_STAGES)
# Response-delay buckets as the lead-response studies report them: (upper edge in hours, label).
DELAY_BUCKETS = (
    (5 / 60, "≤ 5 min"),
    (0.5, "5–30 min"),
    (1.0, "30–60 min"),
    (4.0, "1–4 h"),
    (24.0, "4–24 h"),
    (72.0, "1–3 d"),
    (math.inf, "> 3 d"),
)
SPEED_MARKS = ((5 / 60, "5 min"), (1.0, "1 h"), (24.0, "24 h"))


@dataclass
class Chart:
    """A drawn chart: its file stem, the figure, and the numbers plotted (one row a mark)."""

    name: str
    figure: Figure
    data: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.png"
        self.figure.savefig(path, dpi=DPI)
        plt.close(self.figure)
        return path


@dataclass
class RunData:
    """What the run charts read: the same whether it comes from memory or from a results folder."""

    name: str
    summary: pd.DataFrame
    scenario: Any = None  # a Scenario when it loads, else None
    timeseries: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return getattr(self.scenario, "currency", None) or "USD"


def no_data(ax: plt.Axes, why: str = "no data") -> None:
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, fontsize=12, color=MUTED)
    # tick_params, not set_xticks([]): the axis may be shared with panels that do have data
    ax.tick_params(left=False, bottom=False, labelleft=False, labelbottom=False)


TITLE_INCHES = 0.75  # room above the axes for the question and its subtitle


def _title(fig: Figure, question: str, subtitle: str) -> None:
    height = fig.get_figheight()
    fig.text(0.01, 1 - 0.12 / height, question, ha="left", va="top", fontsize=13, fontweight="bold")
    fig.text(0.01, 1 - 0.42 / height, subtitle, ha="left", va="top", fontsize=9, color="#555555")


def _finish(fig: Figure, footnote: str = "") -> None:
    height = fig.get_figheight()
    if footnote:
        fig.text(0.01, 0.08 / height, footnote, ha="left", va="bottom", fontsize=8, color="#555555", wrap=True)
    settle(fig, rect=(0, (0.3 if footnote else 0) / height, 1, 1 - TITLE_INCHES / height))


def settle(fig: Figure, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> None:
    """Lay the figure out once (`tight_layout`) and fix the layout: left with matplotlib's
    placeholder layout engine, `savefig` would run a second, hidden draw to lay the figure out
    again (a quarter of a chart's drawing time)."""
    fig.tight_layout(rect=rect)
    fig.set_layout_engine(None)


def _interval(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% t-interval over replications along `axis` (NaN where fewer than 2 values)."""
    values = np.asarray(values, dtype=np.float64)
    n = np.sum(np.isfinite(values), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are "no data", not an error
        mean = np.nanmean(values, axis=axis)
        std = np.nanstd(values, axis=axis, ddof=1)
    t = np.array([t_quantile_975(int(k) - 1) if k > 1 else np.nan for k in np.atleast_1d(n)]).reshape(np.shape(n))
    half = t * std / np.sqrt(np.maximum(n, 1))
    return mean, mean - half, mean + half


def _warning_note(notes: Sequence[str]) -> str:
    return ("⚠ " + " · ".join(notes)) if notes else ""
