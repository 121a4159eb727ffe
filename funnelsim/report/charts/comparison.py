"""Charts of compare and sweep: paired differences per metric, and a swept parameter's response curve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from funnelsim.report.charts.base import (
    BETTER,
    MARKETING,
    MUTED,
    WORSE,
    Chart,
    _finish,
    _title,
    better,
    no_data,
)
from funnelsim.report.formatting import axis_unit, figure_info, format_difference, format_value

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
    reference_mark = " (⚠ overloaded)" if reference in overloaded else ""
    _title(
        fig,
        f"What does each variant change compared with {reference}{reference_mark}?",
        "Paired difference (variant − reference) over replications with the same seeds; bars: 95% CI; "
        "filled: the interval excludes zero (green better, red worse)",
    )
    plotted: list[dict[str, Any]] = []
    for ax, metric in zip(axes.flat, metrics):
        info = figure_info(metric)
        scale = 100.0 if info.unit == "%" else 1.0
        direction = better(metric)
        y = np.arange(len(variants))[::-1]
        for yi, variant in zip(y, variants):
            entry: Any = table.loc[metric]
            diff = float(entry.get(f"{variant} - {reference}", math.nan))
            low = float(entry.get(f"{variant} ci_low", math.nan))
            high = float(entry.get(f"{variant} ci_high", math.nan))
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
    marked = any(name in overloaded for name in [reference, *variants])
    _finish(fig, footnote=OVERLOAD_NOTE if marked else "")
    return Chart("comparison", fig, pd.DataFrame(plotted))


OVERLOAD_NOTE = (
    "⚠ overloaded: a queue grows through the window, so that scenario's figures, and every difference "
    "involving it, depend on the horizon as well as on the policy."
)


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


def sweep_chart(
    table: pd.DataFrame, key: str, metric: str, currency: str = "USD", overloaded: Sequence[bool] = ()
) -> Chart:
    """One metric's response to the swept parameter: mean with a 95% band and the best point marked.

    `table` has the columns value, mean, ci_low, ci_high (one row a swept value); `overloaded`,
    one flag per row, marks the values at which a queue grows without bound (the figure there
    depends on the horizon).
    """
    flags = [bool(f) for f in overloaded] if len(overloaded) == len(table) else [False] * len(table)
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
        if any(flags):
            ax.plot(x[flags], mean[flags], marker="o", ms=15, mfc="none", mec=WORSE, mew=2, ls="none", zorder=6,
                    label="⚠ overloaded: a queue grows through the window (figure depends on the horizon)")  # fmt: skip
        if direction is not None or any(flags):
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
    data = table.assign(plotted_mean=mean, best=[i == best for i in range(len(table))], overloaded=flags)
    return Chart(metric.replace(".", "_"), fig, data, {"best": None if best is None else values[best]})
