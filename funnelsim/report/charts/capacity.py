"""The run's capacity: SAL queue and SDR utilisation by hour of week, the weekly trend, AE occupancy."""

from __future__ import annotations

import datetime as dt
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from funnelsim.model.calendar import WorkCalendar, clock_zero
from funnelsim.report.charts.base import (
    MARKETING,
    OUTCOME,
    SALES,
    WORSE,
    Chart,
    RunData,
    _finish,
    _interval,
    _title,
    _warning_note,
    no_data,
)


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
