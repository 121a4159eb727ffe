"""Planning charts (matplotlib, Agg backend, PNG): funnel, speed to lead, capacity, revenue, compare, sweep.

Every chart function takes the tables a results folder stores and returns a `Chart`: the figure
and the numbers it plots, so tests and notebooks can check what is drawn.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import os
import signal
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from funnelsim.metrics import t_quantile_975
from funnelsim.model.calendar import WorkCalendar, clock_zero
from funnelsim.report.formatting import axis_unit, figure_info, format_difference, format_value

MARKETING, SALES, OUTCOME, MUTED = "#2f6db5", "#e07b28", "#3a9a5b", "#9a9a9a"
BETTER, WORSE = "#2a9d55", "#c8433a"
DPI = 120

# Funnel stages: (metric, label, part of the funnel).
FUNNEL = (
    ("leads", "Leads", "marketing", "leads"),
    ("mqls", "MQLs", "marketing", "MQLs"),
    ("sals", "SALs (accepted by sales)", "sales", "SALs"),
    ("called", "Called by an SDR", "sales", "SALs called"),
    ("reached", "Reached", "sales", "SALs reached"),
    ("sqls", "SQLs", "sales", "SQLs"),
    ("opportunities", "Opportunities (AE slot)", "sales", "opportunities"),
    ("deals_won", "Deals won", "sales", "deals"),
    ("customers", "New customers (incl. self-serve)", "outcome", "customers"),
)
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
LOWER_IS_BETTER = {
    "abandoned",
    "abandon_rate",
    "cac",
    "payback_months",
    "logo_churn_monthly",
    "revenue_churn_monthly",
    "sal_queue_mean",
    "sal_wait_mean_hours",
    "sales_cycle_mean_days",
    "marketing_spend",
    "team_cost",
    "sdr_overtime_hours",
}
NO_DIRECTION = {"sdr_utilisation", "ae_utilisation"}  # busier is neither better nor worse on its own


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


def better(metric: str) -> str | None:
    """'higher', 'lower', or None when neither is better on its own."""
    if metric in NO_DIRECTION:
        return None
    return "lower" if metric in LOWER_IS_BETTER or metric.endswith("_hours") else "higher"


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
    fig.tight_layout(rect=(0, (0.3 if footnote else 0) / height, 1, 1 - TITLE_INCHES / height))


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


# --- one run ---------------------------------------------------------------------------------


def funnel_chart(data: RunData) -> Chart:
    """Stage counts on a linear scale with stage-to-stage conversion; marketing, sales and outcome coloured apart."""
    table = data.summary.set_index("metric")
    rows = []
    for metric, label, part, short in FUNNEL:
        if metric in table.index:
            entry = table.loc[metric]
            rows.append(
                {"metric": metric, "label": label, "part": part, "short": short, "mean": float(entry["mean"]),
                 "ci_low": float(entry["ci_low"]), "ci_high": float(entry["ci_high"])}
            )  # fmt: skip
    frame = pd.DataFrame(rows)
    notes: dict[str, Any] = {}
    # Opportunities equal SQLs whenever the AE pipeline never fills: an SQL takes an AE slot at
    # once. Two identical bars read as a bug, so they become one bar that says so.
    if {"sqls", "opportunities"} <= set(frame.get("metric", [])):
        sqls = frame.loc[frame["metric"] == "sqls", "mean"].iloc[0]
        opps = frame.loc[frame["metric"] == "opportunities", "mean"].iloc[0]
        if abs(sqls - opps) < 0.5:
            frame = frame[frame["metric"] != "opportunities"].reset_index(drop=True)
            frame.loc[frame["metric"] == "sqls", "label"] = "SQLs = opportunities"
            notes["merged_opportunities"] = True
    fig, ax = plt.subplots(figsize=(10, 5.6))
    _title(
        fig,
        f"{data.name}: where do leads drop out of the funnel?",
        "Mean per replication over the measurement window (cohort of leads arriving after warm-up); error bars: 95% CI",
    )
    if frame.empty or not np.isfinite(frame["mean"]).any() or frame["mean"].max() <= 0:
        no_data(ax)
        _finish(fig)
        return Chart("funnel", fig, frame, notes)
    y = np.arange(len(frame))[::-1]
    colours = frame["part"].map({"marketing": MARKETING, "sales": SALES, "outcome": OUTCOME})
    errors = np.nan_to_num(np.vstack([frame["mean"] - frame["ci_low"], frame["ci_high"] - frame["mean"]]), nan=0.0)
    ax.barh(y, frame["mean"], xerr=np.clip(errors, 0, None), color=colours, capsize=3, height=0.7)
    ax.set_yticks(y, frame["label"])
    top = float(frame["mean"].max())
    ax.set_xlim(0, top * 1.45)
    conversions = [math.nan]
    for i, row in frame.iterrows():
        text = f"{row['mean']:,.0f}"
        if i > 0 and row["metric"] != "customers":
            before = frame.loc[i - 1, "mean"]
            share = row["mean"] / before if before > 0 else math.nan
            conversions.append(share)
            text += f"   {format_value(share, '%')} of {frame.loc[i - 1, 'short']}"
        elif row["metric"] == "customers":
            share = row["mean"] / frame.loc[0, "mean"] if frame.loc[0, "mean"] > 0 else math.nan
            conversions.append(share)
            text += f"   {format_value(share, '%')} of leads"
        ax.text(row["mean"] + top * 0.012, y[i], text, va="center", fontsize=9)
    frame["conversion"] = conversions
    ax.set_xlabel("leads per replication (linear scale)")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in (MARKETING, SALES, OUTCOME)]
    ax.legend(handles, ["marketing funnel", "sales funnel", "outcome"], loc="lower right", frameon=False)
    footnote = ""
    if notes.get("merged_opportunities"):
        footnote = "SQLs = opportunities: every SQL got an AE slot at once (the AE pipeline never filled up). "
    if "customers" in table.index and "deals_won" in table.index:
        self_serve = table["mean"].get("self_serve_customers", math.nan)
        footnote += (
            f"New customers = {table.loc['deals_won', 'mean']:,.0f} won by AEs + {self_serve:,.0f} self-serve"
            + (f" + {table['mean'].get('assisted_trial_customers', 0):,.0f} trials with a rep" if
               table["mean"].get("assisted_trial_customers", 0) >= 0.5 else "")
            + "."
        )  # fmt: skip
    _finish(fig, footnote=(footnote + " " + _warning_note(data.warnings)).strip())
    return Chart("funnel", fig, frame, notes)


def _delay_counts(delays: pd.DataFrame | None) -> pd.DataFrame | None:
    if delays is None or delays.empty:
        return None
    return delays


def speed_to_lead_chart(data: RunData) -> Chart:
    """CDF of first-response delay over SALs (never contacted count as not answered), with 5 min / 1 h / 24 h."""
    delays = _delay_counts(data.tables.get("response_delays"))
    fig, ax = plt.subplots(figsize=(10, 5.2))
    _title(
        fig,
        f"{data.name}: how fast does an SDR first call a new SAL?",
        "Share of SALs first called within each delay (never-called SALs count as not answered); "
        "line: mean over replications, band: 95% CI",
    )
    if delays is None:
        no_data(ax)
        _finish(fig)
        return Chart("speed_to_lead", fig, pd.DataFrame())
    wide = delays.pivot_table(
        index="replication", columns="delay_upto_hours", values="sals", aggfunc="sum", dropna=False
    )
    never = delays[delays["delay_upto_hours"].isna()].set_index("replication")["sals"]
    edges = [c for c in wide.columns if np.isfinite(c)]
    counts = wide[edges].to_numpy(dtype=np.float64)
    totals = counts.sum(axis=1) + never.reindex(wide.index).fillna(0).to_numpy() + wide.get(np.inf, 0)
    totals = np.asarray(totals, dtype=np.float64)
    if not len(totals) or totals.sum() <= 0:
        no_data(ax, "no data: no SALs in the measurement window")
        _finish(fig)
        return Chart("speed_to_lead", fig, pd.DataFrame())
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts.cumsum(axis=1) / totals[:, None]
    shares = np.where(totals[:, None] > 0, shares, np.nan)
    mean, low, high = _interval(shares)
    x = np.array(edges)
    ax.fill_between(x, 100 * low, 100 * high, step=None, alpha=0.25, color=SALES, lw=0)
    ax.plot(x, 100 * mean, color=SALES, lw=2, marker="o", ms=3)
    ax.set_xscale("log")
    ticks = [1 / 60, 5 / 60, 0.25, 1, 4, 24, 72, 168, 336]
    ax.set_xticks(ticks, ["1 min", "5 min", "15 min", "1 h", "4 h", "24 h", "3 d", "1 w", "2 w"])
    ax.minorticks_off()
    ax.set_xlim(x[0] * 0.8, x[-1] * 1.2)
    ax.set_ylim(0, 105)
    ax.set_ylabel("SALs first called within the delay (%)")
    ax.set_xlabel("time from MQL to first call attempt (log scale)")
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    rows = []
    for limit, label in SPEED_MARKS:
        i = int(np.argmin(np.abs(x - limit)))
        ax.axvline(limit, color="#444444", lw=0.8, ls="--")
        ax.annotate(
            f"{format_value(mean[i], '%')} within {label}\n[{format_value(low[i], '%')}–{format_value(high[i], '%')}]",
            (limit, 100 * mean[i]), xytext=(6, -28), textcoords="offset points", fontsize=9,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#bbbbbb"},
        )  # fmt: skip
        rows.append({"within": label, "within_hours": limit, "mean": mean[i], "ci_low": low[i], "ci_high": high[i]})
    never_share = never.reindex(wide.index).fillna(0).to_numpy() / np.where(totals > 0, totals, np.nan)
    footnote = (
        f"Never called (abandoned or unreached first): {format_value(float(np.nanmean(never_share)), '%')} of SALs."
    )
    sla = getattr(getattr(data.scenario, "sales", None), "sla", None)
    if sla is not None and not any(abs(sla - m) < 1e-9 for m, _ in SPEED_MARKS):
        ax.axvline(sla, color=OUTCOME, lw=1.2)
        footnote += f" Green line: the scenario's SLA ({sla:g} h)."
    _finish(fig, footnote=footnote)
    curve = pd.DataFrame({"delay_upto_hours": x, "mean": mean, "ci_low": low, "ci_high": high})
    return Chart("speed_to_lead", fig, pd.DataFrame(rows), {"curve": curve})


def conversion_by_delay_chart(data: RunData) -> Chart:
    """SQL rate of answered SALs by first-call delay bucket, with 95% CI and the SALs in each bucket."""
    delays = _delay_counts(data.tables.get("response_delays"))
    fig, ax = plt.subplots(figsize=(10, 5.2))
    _title(
        fig,
        f"{data.name}: does calling sooner qualify more leads?",
        "SQLs per SAL, by the delay before the first call attempt; bars: mean over replications, 95% CI",
    )
    if delays is None:
        no_data(ax)
        _finish(fig)
        return Chart("conversion_by_delay", fig, pd.DataFrame())
    answered = delays[delays["delay_upto_hours"].notna()].copy()
    bounds = np.array([b for b, _ in DELAY_BUCKETS])
    answered["bucket"] = np.searchsorted(bounds, answered["delay_upto_hours"].to_numpy(), side="left")
    per = answered.groupby(["replication", "bucket"])[["sals", "sqls"]].sum().unstack("bucket")
    per = per.reindex(columns=pd.MultiIndex.from_product([["sals", "sqls"], range(len(DELAY_BUCKETS))]), fill_value=0)
    sals, sqls = per["sals"].to_numpy(dtype=np.float64), per["sqls"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(sals > 0, sqls / sals, np.nan)
    mean, low, high = _interval(rates)
    frame = pd.DataFrame(
        {
            "bucket": [label for _, label in DELAY_BUCKETS],
            "upto_hours": bounds,
            "sals_per_replication": sals.mean(axis=0) if len(sals) else np.zeros(len(bounds)),
            "mean": mean,
            "ci_low": low,
            "ci_high": high,
        }
    )
    if not np.isfinite(mean).any():
        no_data(ax, "no data: no SAL was called")
        _finish(fig)
        return Chart("conversion_by_delay", fig, frame)
    x = np.arange(len(frame))
    shown = np.nan_to_num(100 * mean)
    errors = np.nan_to_num(np.vstack([100 * (mean - low), 100 * (high - mean)]), nan=0.0)
    ax.bar(x, shown, yerr=np.clip(errors, 0, None), color=SALES, capsize=4)
    ax.set_xticks(x, frame["bucket"])
    for i, row in frame.iterrows():
        label = "no calls" if not np.isfinite(row["mean"]) else format_value(row["mean"], "%")
        ax.text(i, shown[i] + max(errors[1][i], 0) + 1, f"{label}\nn={row['sals_per_replication']:,.0f}",
                ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax.set_ylim(0, max(5.0, float(np.nanmax(100 * high)) if np.isfinite(high).any() else 5.0) * 1.3)
    ax.set_ylabel("SQLs per called SAL (%)")
    ax.set_xlabel("delay from MQL to first call attempt (n = SALs per replication in the bucket)")
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    first, hour = frame["mean"].iloc[0], frame.loc[frame["upto_hours"] == 1.0, "mean"]
    day = frame.loc[frame["upto_hours"] > 24, "mean"]
    footnote = (
        "Published: within 1 h ≈ 7x the qualification rate of 1–24 h, ≈ 60x of > 24 h (Oldroyd et al., HBR 2011)."
    )
    if np.isfinite(first) and len(day) and np.isfinite(day.iloc[0]) and day.iloc[0] > 0:
        footnote += f" Here: ≤ 5 min is {first / day.iloc[0]:.0f}x the 1–3 d rate."
    del hour
    _finish(fig, footnote=footnote)
    return Chart("conversion_by_delay", fig, frame)


def _hour_of_week(data: RunData, t_hours: np.ndarray) -> np.ndarray:
    """Local hour of the week (Monday 00:00 = 0) of clock times, daylight saving included."""
    start = getattr(data.scenario, "start", None)
    if not isinstance(start, dt.date):
        return (np.floor(t_hours) % 168).astype(int)
    zone = data.scenario.timezone
    unique, inverse = np.unique(np.floor(t_hours), return_inverse=True)
    moments = pd.Timestamp(clock_zero(start, zone)) + pd.to_timedelta(unique, unit="h")
    local = moments.tz_convert(zone)
    return np.asarray(local.day_of_week * 24 + local.hour)[inverse]


def _sdr_open(data: RunData, t_hours: np.ndarray) -> np.ndarray:
    """Whether the SDR calendar is open at each clock time (all True without a scenario)."""
    scenario = data.scenario
    if scenario is None:
        return np.ones(len(t_hours), dtype=bool)
    calendar = WorkCalendar.build(
        scenario.calendar(scenario.sales.sdr.calendar), scenario.start, scenario.timezone, scenario.horizon
    )
    if calendar.always_open:
        return np.ones(len(t_hours), dtype=bool)
    opens, closes = np.asarray(calendar.opens), np.asarray(calendar.closes)
    i = np.searchsorted(opens, t_hours, side="right") - 1
    return (i >= 0) & (t_hours < closes[np.maximum(i, 0)])


def _headcount(data: RunData, pool: str) -> int | None:
    sales = getattr(data.scenario, "sales", None)
    count = getattr(getattr(sales, pool, None), "count", None)
    return count if isinstance(count, int) else None


def capacity_by_hour_chart(data: RunData) -> Chart:
    """Heatmaps by hour of week: SAL queue (leads waiting) and SDR utilisation (share of SDRs on a call)."""
    series = data.timeseries
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4))
    _title(
        fig,
        f"{data.name}: when does the SAL queue build up, and when are SDRs busy?",
        "Mean over the measurement window and replications, by local hour and weekday",
    )
    rows = []
    sdrs = _headcount(data, "sdr")
    warmup = getattr(data.scenario, "warmup", 0.0) or 0.0
    for ax, column, label, cmap in (
        (axes[0], "sal_queue", "SAL queue (leads waiting)", "Oranges"),
        (axes[1], "sdrs_busy", "SDR utilisation (% of SDRs on a call)", "Blues"),
    ):
        if series is None or series.empty or column not in series or (column == "sdrs_busy" and not sdrs):
            no_data(ax, "no data" if column == "sal_queue" or series is None else "no data: no fixed SDR team")
            ax.set_title(label, fontsize=10)
            continue
        window = series[series["t_hours"] >= warmup]
        how = _hour_of_week(data, window["t_hours"].to_numpy())
        values = window[column].to_numpy(dtype=np.float64)
        if column == "sdrs_busy":
            values = 100 * values / sdrs
        grid = pd.Series(values).groupby(how).mean().reindex(range(168)).to_numpy().reshape(7, 24)
        image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=100 if column == "sdrs_busy" else None)
        ax.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        ax.set_xticks(range(0, 24, 3), [f"{h:02d}:00" for h in range(0, 24, 3)])
        ax.set_xlabel("hour of day (local time)")
        ax.set_title(label, fontsize=10)
        bar = fig.colorbar(image, ax=ax, shrink=0.85)
        bar.set_label("%" if column == "sdrs_busy" else "leads waiting")
        for day in range(7):
            for hour in range(24):
                rows.append({"metric": column, "weekday": day, "hour": hour, "mean": grid[day, hour]})
    _finish(fig, footnote=_warning_note(data.warnings))
    return Chart("capacity_by_hour", fig, pd.DataFrame(rows))


def capacity_trend_chart(data: RunData) -> Chart:
    """Weekly SAL queue and SDR utilisation across the horizon, and AE pipeline occupancy against its slots."""
    series = data.timeseries
    fig, axes = plt.subplots(3, 1, figsize=(11, 8.4), sharex=True)
    _title(
        fig,
        f"{data.name}: does the backlog grow across the horizon, and is the AE pipeline full?",
        "Weekly means (whole weeks; SDR utilisation over open hours only); line: mean over replications, band: 95% CI",
    )
    sdrs, aes = _headcount(data, "sdr"), _headcount(data, "ae")
    capacity = getattr(getattr(getattr(data.scenario, "sales", None), "ae", None), "capacity", None)
    slots = aes * capacity if aes and capacity else None
    start = getattr(data.scenario, "start", None)
    rows = []
    panels = (
        (axes[0], "sal_queue", "SAL queue\n(leads waiting)", 1.0, SALES),
        (axes[1], "sdrs_busy", "SDR utilisation\n(% of open hours)", 100.0 / sdrs if sdrs else math.nan, MARKETING),
        (axes[2], "open_opportunities", "open deals\n(SQLs with or waiting for an AE)", 1.0, OUTCOME),
    )
    for ax, column, label, scale, colour in panels:
        ax.set_ylabel(label, fontsize=9)
        if series is None or series.empty or column not in series or not np.isfinite(scale):
            no_data(ax, "no data" if np.isfinite(scale) else "no data: no fixed SDR team")
            continue
        week = (series["t_hours"] // 168).astype(int)
        values = series[column].astype(np.float64)
        counted = pd.Series(1.0, index=series.index)
        if column == "sdrs_busy":  # utilisation of open hours, as the summary's figure
            counted = pd.Series(_sdr_open(data, series["t_hours"].to_numpy()).astype(float), index=series.index)
            values = values * counted
        grouped = pd.DataFrame({"replication": series["replication"], "week": week, "v": values, "c": counted})
        sums = grouped.groupby(["replication", "week"]).agg(v=("v", "sum"), c=("c", "sum"), size=("v", "size"))
        sums = sums[(sums["size"] >= 168) & (sums["c"] > 0)]
        full = (sums["v"] / sums["c"]).unstack("replication") * scale
        if full.empty:
            no_data(ax, "no data: horizon shorter than a week")
            continue
        mean, low, high = _interval(full.to_numpy(), axis=1)
        x = [start + dt.timedelta(weeks=int(w)) for w in full.index] if isinstance(start, dt.date) else list(full.index)
        ax.fill_between(x, low, high, alpha=0.25, color=colour, lw=0)
        ax.plot(x, mean, color=colour, lw=1.8)
        ax.set_ylim(0, max(1.0, float(np.nanmax(high)) * 1.1) if np.isfinite(high).any() else 1.0)
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        for w, m, lo_, hi_ in zip(full.index, mean, low, high):
            rows.append({"metric": column, "week": int(w), "mean": m, "ci_low": lo_, "ci_high": hi_})
        if column == "open_opportunities" and slots:
            ax.axhline(slots, color=WORSE, lw=1.2, ls="--")
            ax.text(x[0], slots, f" AE slots: {aes} AEs x {capacity} = {slots}", va="bottom", fontsize=8, color=WORSE)
            ax.set_ylim(0, max(slots, float(np.nanmax(high))) * 1.15)
        if column == "sdrs_busy":
            ax.set_ylim(0, 100)
    axes[-1].set_xlabel("week of the horizon" if not isinstance(start, dt.date) else "week starting")
    warmup = getattr(data.scenario, "warmup", 0.0) or 0.0
    if warmup and isinstance(start, dt.date):
        for ax in axes:
            ax.axvspan(start, start + dt.timedelta(hours=warmup), color="#dddddd", alpha=0.5, lw=0)
    footnote = "Grey: warm-up, left out of the figures. " + _warning_note(data.warnings)
    _finish(fig, footnote=footnote.strip())
    return Chart("capacity_trend", fig, pd.DataFrame(rows), {"ae_slots": slots})


def _survival(retention: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier survival by fit group pooled over replications, with a Greenwood 95% interval."""
    rows = []
    for group, part in retention.groupby("fit_group"):
        pooled = part.groupby("months_since_purchase")[["at_risk", "churned"]].sum().sort_index()
        pooled = pooled[pooled["at_risk"] > 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            hazard = pooled["churned"] / pooled["at_risk"]
            survival = np.cumprod(1 - hazard)
            at_risk, churned = pooled["at_risk"].to_numpy(float), pooled["churned"].to_numpy(float)
            green = np.cumsum(churned / (at_risk * (at_risk - churned)))  # Greenwood's variance sum
        half = 1.96 * survival * np.sqrt(np.where(np.isfinite(green), green, np.nan))
        for month, s, h, n in zip(pooled.index, survival, half, pooled["at_risk"]):
            rows.append(
                {"fit_group": group, "months_since_purchase": int(month), "survival": float(s),
                 "ci_low": float(max(s - h, 0)), "ci_high": float(min(s + h, 1)), "at_risk": int(n)}
            )  # fmt: skip
    return pd.DataFrame(rows)


def revenue_chart(data: RunData) -> Chart:
    """MRR over calendar time with its band, and customer survival by months since purchase, split by fit."""
    mrr, retention = data.tables.get("mrr"), data.tables.get("retention")
    currency = data.currency
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1.3, 1]})
    _title(
        fig,
        f"{data.name}: how does MRR build up, and how long do customers stay?",
        "Left: MRR of all customers, mean over replications with 95% CI (light: 10–90% of replications). "
        "Right: share of customers still paying",
    )
    rows = []
    start = getattr(data.scenario, "start", None)
    ax = axes[0]
    if mrr is None or mrr.empty or not (mrr["mrr"] > 0).any():
        no_data(ax, "no data: no customers")
    else:
        wide = mrr.pivot_table(index="day", columns="replication", values="mrr").sort_index()
        mean, low, high = _interval(wide.to_numpy(), axis=1)
        p10, p90 = wide.quantile(0.1, axis=1), wide.quantile(0.9, axis=1)
        x = [start + dt.timedelta(days=int(d)) for d in wide.index] if isinstance(start, dt.date) else wide.index
        ax.fill_between(x, p10, p90, alpha=0.12, color=OUTCOME, lw=0)
        ax.fill_between(x, low, high, alpha=0.35, color=OUTCOME, lw=0)
        ax.plot(x, mean, color=OUTCOME, lw=2)
        ax.set_ylabel(f"MRR ({currency} per month)")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_xlabel("date" if isinstance(start, dt.date) else "day of the horizon")
        ax.set_ylim(bottom=0)
        ax.annotate(
            f"{format_value(mean[-1], 'money', currency)}\n[{format_value(low[-1], 'money', currency)}–"
            f"{format_value(high[-1], 'money', currency)}]",
            (x[-1], mean[-1]), xytext=(-10, 10), textcoords="offset points", ha="right", fontsize=9,
        )  # fmt: skip
        for d, m, lo_, hi_ in zip(wide.index, mean, low, high):
            rows.append({"panel": "mrr", "x": int(d), "group": "all", "mean": m, "ci_low": lo_, "ci_high": hi_})
        for label in ax.get_xticklabels():
            label.set_rotation(30)
    ax.set_title(f"Monthly recurring revenue ({currency})", fontsize=10)
    ax.grid(alpha=0.3)
    ax = axes[1]
    survival = _survival(retention) if retention is not None and not retention.empty else pd.DataFrame()
    reps = max(int(retention["replication"].nunique()), 1) if retention is not None and len(retention) else 1
    if survival.empty:
        no_data(ax, "no data: no customers")
    else:
        for group, colour in (("good fit", OUTCOME), ("poor fit", WORSE)):
            part = survival[survival["fit_group"] == group]
            if part.empty:
                continue
            months = np.concatenate([[0], part["months_since_purchase"]])
            ax.step(months, 100 * np.concatenate([[1], part["survival"]]), where="post", color=colour, lw=2,
                    label=f"{group} ({part['at_risk'].iloc[0] / reps:,.0f} customers per replication)")  # fmt: skip
            ax.fill_between(months, 100 * np.concatenate([[1], part["ci_low"]]),
                            100 * np.concatenate([[1], part["ci_high"]]),
                            step="post", alpha=0.2, color=colour, lw=0)  # fmt: skip
            for row in part.itertuples():
                rows.append({"panel": "survival", "x": row.months_since_purchase, "group": group,
                             "mean": row.survival, "ci_low": row.ci_low, "ci_high": row.ci_high})  # fmt: skip
        ax.set_ylim(0, 102)
        ax.set_xlim(left=0)
        ax.set_xlabel("months since purchase")
        ax.set_ylabel("customers still paying (%)")
        ax.legend(frameon=False, loc="lower left", fontsize=9)
    ax.set_title("Cohort survival by ICP fit (Kaplan-Meier, 95% CI)", fontsize=10)
    ax.grid(alpha=0.3)
    _finish(fig)
    return Chart("revenue", fig, pd.DataFrame(rows))


RUN_CHARTS = {
    "funnel": funnel_chart,
    "speed_to_lead": speed_to_lead_chart,
    "conversion_by_delay": conversion_by_delay_chart,
    "capacity_by_hour": capacity_by_hour_chart,
    "capacity_trend": capacity_trend_chart,
    "revenue": revenue_chart,
}


def _draw_and_save(name: str, data: RunData, folder: Path) -> tuple[Path, float]:
    started = time.perf_counter()
    path = RUN_CHARTS[name](data).save(folder)
    return path, time.perf_counter() - started


_FORKED_DATA: RunData | None = None  # what a forked chart worker draws from (inherited, never pickled)


def _draw_in_fork(name: str, folder: Path) -> tuple[Path, float]:
    assert _FORKED_DATA is not None
    return _draw_and_save(name, _FORKED_DATA, folder)


def _leave_interrupts_to_the_parent() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _can_fork() -> bool:
    # forking a process that runs other threads (the what-if server) can deadlock the child
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def run_charts(
    data: RunData, folder: Path, workers: int | None = None, timings: dict[str, float] | None = None
) -> list[Path]:
    """Every run chart into `folder`; returns the files written.

    With more than one worker (default: one per core) and a single-threaded process, the charts
    are drawn side by side in forked processes that inherit `data`; `timings` gets each chart's seconds.
    """
    global _FORKED_DATA
    names = list(RUN_CHARTS)
    workers = min(len(names), workers if workers is not None else len(os.sched_getaffinity(0)))
    folder.mkdir(parents=True, exist_ok=True)
    if workers > 1 and _can_fork():
        _FORKED_DATA = data
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_leave_interrupts_to_the_parent) as pool:
                drawn = list(pool.map(_draw_in_fork, names, [folder] * len(names)))
        finally:
            _FORKED_DATA = None
    else:
        drawn = [_draw_and_save(name, data, folder) for name in names]
    if timings is not None:
        timings.update({f"chart_{name}_seconds": seconds for name, (_, seconds) in zip(names, drawn)})
    return [path for path, _ in drawn]


# --- comparisons and sweeps --------------------------------------------------------------------


def compare_chart(
    comparison: pd.DataFrame,
    reference: str,
    variants: Sequence[str],
    metrics: Sequence[str],
    currency: str = "USD",
    overloaded: Sequence[str] = (),
) -> Chart:
    """For each metric, each variant's paired difference from the reference with its 95% CI.

    `comparison` is comparison.csv: one row a metric, columns `V - REF`, `V ci_low`, `V ci_high`.
    """
    table = comparison.set_index("metric")
    metrics = [m for m in metrics if m in table.index]
    columns = min(3, max(1, len(metrics)))
    rows_n = max(1, math.ceil(len(metrics) / columns))
    height = 0.45 * len(variants) + 1.3
    fig, axes = plt.subplots(rows_n, columns, figsize=(4.6 * columns, height * rows_n + 1.4), squeeze=False)
    _title(
        fig,
        f"What does each variant change compared with {reference}?",
        "Paired difference (variant − reference) over replications with the same seeds; bars: 95% CI; "
        "filled: the interval excludes zero (green better, red worse)",
    )
    plotted = []
    for ax, metric in zip(axes.flat, metrics):
        info = figure_info(metric)
        scale = 100.0 if info.unit == "%" else 1.0
        direction = better(metric)
        y = np.arange(len(variants))[::-1]
        for yi, variant in zip(y, variants):
            diff = table.loc[metric].get(f"{variant} - {reference}", math.nan)
            low = table.loc[metric].get(f"{variant} ci_low", math.nan)
            high = table.loc[metric].get(f"{variant} ci_high", math.nan)
            significant = bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))
            colour = MUTED
            if significant:
                good = (diff > 0) == (direction == "higher")
                colour = MARKETING if direction is None else (BETTER if good else WORSE)
            if np.isfinite(diff):
                ax.errorbar(
                    diff * scale, yi, xerr=np.nan_to_num([[max(diff - low, 0) * scale], [max(high - diff, 0) * scale]]),
                    fmt="o", color=colour, mfc=colour if significant else "white", capsize=3, ms=6,
                )  # fmt: skip
                ax.annotate(format_difference(diff, info.unit, currency), (diff * scale, yi), xytext=(0, 7),
                            textcoords="offset points", ha="center", fontsize=7.5, color="#333333")  # fmt: skip
            plotted.append(
                {"metric": metric, "variant": variant, "difference": diff, "ci_low": low, "ci_high": high,
                 "significant": significant}
            )  # fmt: skip
        ax.axvline(0, color="#444444", lw=0.8)
        spread = [abs(p[k]) for p in plotted[-len(variants) :] for k in ("difference", "ci_low", "ci_high")]
        if all(np.isfinite(v) and v * scale < 1e-9 for v in spread):  # identical in every pair, e.g. shared arrivals
            ax.set_xlim(-1, 1)
            ax.text(0.97, 0.5, "no difference\nin any pair", transform=ax.transAxes, ha="right", va="center",
                    fontsize=8, color=MUTED)  # fmt: skip
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_plain))
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(6))
        labels = [v + (" ⚠ overloaded" if v in overloaded else "") for v in variants]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(-0.7, len(variants) - 0.3)
        ax.set_title(f"{info.label}", fontsize=9.5)
        ax.set_xlabel(f"difference ({axis_unit(info.unit, currency, difference=True)})", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.25)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    if not metrics:
        axes.flat[0].set_visible(True)
        no_data(axes.flat[0], "no data: none of the chosen metrics is in comparison.csv")
    _finish(fig)
    return Chart("comparison", fig, pd.DataFrame(plotted))


def _plain(value: float, _position: object = None) -> str:
    """Tick labels without scientific offsets: 1,500,000 rather than 1.5 with 1e6 in the corner."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.3g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:,.4g}k"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def _numeric(values: Sequence[Any]) -> np.ndarray | None:
    try:
        return np.array([float(v) for v in values])
    except (TypeError, ValueError):
        return None


def sweep_chart(table: pd.DataFrame, key: str, metric: str, currency: str = "USD") -> Chart:
    """One metric's response to the swept parameter: mean with a 95% band and the best point marked.

    `table` has the columns value, mean, ci_low, ci_high (one row a swept value).
    """
    info = figure_info(metric)
    scale = 100.0 if info.unit == "%" else 1.0
    direction = better(metric)
    fig, ax = plt.subplots(figsize=(9, 5))
    _title(
        fig,
        f"How does {key} change {info.label}?",
        "Mean over replications with the same seeds for every value; band and bars: 95% CI",
    )
    values = list(table["value"]) if len(table) else []
    numeric = _numeric(values)
    x = numeric if numeric is not None else np.arange(len(values), dtype=float)
    mean = table["mean"].to_numpy(dtype=np.float64) * scale if len(table) else np.array([])
    low = table["ci_low"].to_numpy(dtype=np.float64) * scale if len(table) else np.array([])
    high = table["ci_high"].to_numpy(dtype=np.float64) * scale if len(table) else np.array([])
    best = None
    if not len(mean) or not np.isfinite(mean).any():
        no_data(ax)
    else:
        ax.fill_between(x, low, high, alpha=0.25, color=MARKETING, lw=0)
        ax.errorbar(x, mean, yerr=np.clip(np.nan_to_num(np.vstack([mean - low, high - mean])), 0, None),
                    color=MARKETING, marker="o", capsize=4, lw=2)  # fmt: skip
        for xi, m in zip(x, mean):
            if np.isfinite(m):
                ax.annotate(format_value(m / scale, info.unit, currency), (xi, m), xytext=(0, 8),
                            textcoords="offset points", ha="center", fontsize=8)  # fmt: skip
        if direction is not None:
            best = int(np.nanargmax(mean) if direction == "higher" else np.nanargmin(mean))
            ax.plot([x[best]], [mean[best]], marker="*", ms=20, color=BETTER, zorder=5, ls="none",
                    label=f"best mean ({direction} is better): {key} = {values[best]}")  # fmt: skip
            ax.legend(frameon=False, loc="best", fontsize=9)
        if numeric is None:
            ax.set_xticks(x, [str(v) for v in values])
        else:
            ax.set_xticks(x, [f"{v:g}" for v in numeric])
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_plain))
    ax.set_xlabel(key)
    ax.set_ylabel(f"{info.label} ({axis_unit(info.unit, currency)})")
    _finish(fig)
    data = table.assign(plotted_mean=mean, best=[i == best for i in range(len(table))])
    return Chart(metric.replace(".", "_"), fig, data, {"best": None if best is None else values[best]})
