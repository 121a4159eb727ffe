"""Planning charts (matplotlib, written as PNG): funnel, speed to lead, backlog, channels, sweeps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from funnelsim.report.formatting import figure_info

FUNNEL_STAGES = ("leads", "mqls", "sals", "called", "sqls", "opportunities", "customers")
SPEED_SHARES = ("answered_within_5min", "answered_within_1h", "answered_within_24h", "sla_attainment")


def _bars(ax: plt.Axes, summary: pd.DataFrame, metrics: Sequence[str], scale: float = 1.0) -> None:
    table = summary.set_index("metric")
    present = [m for m in metrics if m in table.index]
    mean = table.loc[present, "mean"].to_numpy() * scale
    low = table.loc[present, "ci_low"].to_numpy() * scale
    high = table.loc[present, "ci_high"].to_numpy() * scale
    errors = np.nan_to_num(np.vstack([mean - low, high - mean]), nan=0.0)
    ax.bar([figure_info(m).label for m in present], mean, yerr=errors, capsize=4, color="#3b6ea8")
    ax.tick_params(axis="x", labelrotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")


def run_charts(result, folder: Path) -> list[Path]:
    """Charts of one run; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    name = result.scenario.name
    written = []

    fig, ax = plt.subplots(figsize=(8, 4.5))
    _bars(ax, result.summary, FUNNEL_STAGES)
    ax.set_yscale("log")
    ax.set_ylabel("leads per horizon (mean, 95% CI)")
    ax.set_title(f"{name}: funnel")
    written.append(_save(fig, folder / "funnel.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    _bars(ax, result.summary, SPEED_SHARES, scale=100)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of SALs")
    ax.set_title(f"{name}: speed to lead")
    written.append(_save(fig, folder / "speed_to_lead.png"))

    if result.timeseries is not None and len(result.timeseries):
        written.append(_backlog_chart(result.timeseries, name, folder / "backlog.png"))

    channel_rows = result.summary[result.summary["metric"].str.match(r"channel\..*\.customers$")]
    if len(channel_rows):
        fig, ax = plt.subplots(figsize=(7, 4))
        labels = [m.split(".")[1] for m in channel_rows["metric"]]
        errors = np.nan_to_num(
            np.vstack([channel_rows["mean"] - channel_rows["ci_low"], channel_rows["ci_high"] - channel_rows["mean"]])
        )
        ax.bar(labels, channel_rows["mean"], yerr=errors, capsize=4, color="#5a9e6f")
        ax.set_ylabel("new customers (mean, 95% CI)")
        ax.set_title(f"{name}: customers by channel")
        ax.tick_params(axis="x", labelrotation=30)
        written.append(_save(fig, folder / "channels.png"))
    return written


def _backlog_chart(series: pd.DataFrame, name: str, path: Path) -> Path:
    """Daily means of the hourly samples: median replication and the 10-90% band across them."""
    daily = series.assign(day=(series["t_hours"] // 24).astype(int)).groupby(["replication", "day"]).mean()
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    for ax, column, label in zip(
        axes,
        ("sal_queue", "sdrs_busy", "open_opportunities"),
        ("SAL queue (leads waiting)", "SDRs busy", "Open opportunities"),
    ):
        by_day = daily[column].unstack("replication")
        ax.fill_between(by_day.index, by_day.quantile(0.1, axis=1), by_day.quantile(0.9, axis=1), alpha=0.3)
        ax.plot(by_day.index, by_day.median(axis=1), lw=1.2)
        ax.set_ylabel(label)
    axes[-1].set_xlabel("day of the horizon (daily mean; band: 10-90% of replications)")
    axes[0].set_title(f"{name}: backlog and capacity over time")
    return _save(fig, path)


def sweep_chart(table: pd.DataFrame, key: str, metric: str, path: Path) -> Path:
    """One metric against the swept parameter, with 95% confidence intervals."""
    unit = figure_info(metric).unit
    scale = 100.0 if unit == "%" else 1.0
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(table))
    mean = table["mean"].to_numpy() * scale
    errors = np.nan_to_num(np.vstack([mean - table["ci_low"] * scale, table["ci_high"] * scale - mean]))
    ax.errorbar(x, mean, yerr=errors, marker="o", capsize=4)
    ax.set_xticks(x, [str(v) for v in table["value"]])
    ax.set_xlabel(key)
    ax.set_ylabel(f"{figure_info(metric).label} ({'%' if unit == '%' else unit})")
    ax.set_title(f"{figure_info(metric).label} by {key}")
    return _save(fig, path)


def compare_chart(names: Sequence[str], summaries: Sequence[pd.DataFrame], metrics: Sequence[str], path: Path) -> Path:
    """Side-by-side bars of a few metrics for each scenario."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        unit = figure_info(metric).unit
        scale = 100.0 if unit == "%" else 1.0
        rows = [s.set_index("metric").loc[metric] for s in summaries]
        mean = np.array([r["mean"] for r in rows]) * scale
        errors = np.nan_to_num(
            np.vstack(
                [
                    mean - np.array([r["ci_low"] for r in rows]) * scale,
                    np.array([r["ci_high"] for r in rows]) * scale - mean,
                ]
            )
        )
        ax.bar(list(names), mean, yerr=errors, capsize=4, color="#3b6ea8")
        ax.set_title(figure_info(metric).label, fontsize=9)
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
