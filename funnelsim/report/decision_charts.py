"""Charts for decisions: a grid's response curves, the staffing frontier, and the sensitivity tornado.

Every interval drawn is a 95% confidence interval over replications (paired for the tornado).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from funnelsim.report.charts import Chart, better, settle
from funnelsim.report.formatting import axis_unit, figure_info, format_interval, format_value

LOW_COLOUR, HIGH_COLOUR, MET_COLOUR, MISSED_COLOUR = "#3b6ea8", "#d9822b", "#2e8b57", "#9a9a9a"
WORSE_COLOUR = "#c8433a"  # an overloaded point (the charts' WORSE)


def _scale(metric: str) -> tuple[float, str]:
    unit = figure_info(metric).unit
    return (100.0, "%") if unit == "%" else (1.0, unit)


def _axis_label(metric: str) -> str:
    _, unit = _scale(metric)
    return f"{figure_info(metric).label}" + (f" ({unit})" if unit else "")


def grid_chart(rows: pd.DataFrame, keys: Sequence[str], metric: str, path: Path) -> Path:
    """One metric against the first varied field, one line per setting of the others, with 95% CIs."""
    chart = grid_lines_chart(rows, keys, metric)
    return _save(chart.figure, path)


def _flags(rows: pd.DataFrame, overloaded: Sequence[bool]) -> list[bool]:
    """One overloaded flag per row (none marked when the flags do not line up with the rows)."""
    return [bool(f) for f in overloaded] if len(overloaded) == len(rows) else [False] * len(rows)


def grid_lines_chart(rows: pd.DataFrame, keys: Sequence[str], metric: str, overloaded: Sequence[bool] = ()) -> Chart:
    """`grid_chart` as a Chart (figure and the rows plotted), not yet saved; `overloaded`, one
    flag per row, rings the points at which a queue grows without bound."""
    rows = rows.assign(overloaded=_flags(rows, overloaded))
    scale, _ = _scale(metric)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    first, others = keys[0], list(keys[1:])
    x_values = list(dict.fromkeys(rows[first].tolist()))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x_values)
    position = {v: (float(v) if numeric else i) for i, v in enumerate(x_values)}
    groups = rows.groupby(others, sort=False) if others else [((), rows)]
    count = len(groups) if others else 1
    ringed = False  # one legend entry for the overloaded rings
    for n, (label, group) in enumerate(groups):
        offset = (n - (count - 1) / 2) * (0.03 * (max(position.values()) - min(position.values()) or 1))
        x = np.array([position[v] for v in group[first]]) + offset
        mean = group["mean"].to_numpy(dtype=float) * scale
        low = group["ci_low"].to_numpy(dtype=float) * scale
        high = group["ci_high"].to_numpy(dtype=float) * scale
        errors = np.nan_to_num(np.vstack([mean - low, high - mean]))
        name = ", ".join(f"{k}={v}" for k, v in zip(others, label if isinstance(label, tuple) else (label,)))
        ax.errorbar(x, mean, yerr=errors, marker="o", capsize=3, label=name or None)
        flagged = group["overloaded"].to_numpy(dtype=bool)
        if flagged.any():
            ax.plot(x[flagged], mean[flagged], marker="o", ms=13, mfc="none", mec=WORSE_COLOUR, mew=2, ls="none",
                    label=None if ringed else "⚠ overloaded (a queue grows)")  # fmt: skip
            ringed = True
    if not numeric:
        ax.set_xticks(list(position.values()), [str(v) for v in x_values])
    elif all(float(v).is_integer() for v in x_values):
        ax.set_xticks([float(v) for v in x_values])
    ax.set_xlabel(first)
    ax.set_ylabel(_axis_label(metric))
    ax.set_title(f"{figure_info(metric).label} by {' and '.join(keys)} (95% CI)")
    ax.grid(alpha=0.3)
    if others or rows["overloaded"].any():
        ax.legend(fontsize=8)
    settle(fig)
    return Chart(_stem(metric), fig, rows[[*keys, "mean", "ci_low", "ci_high", "overloaded"]].reset_index(drop=True))


def _stem(metric: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in metric)


def _cell_text(mean: float, low: float, high: float, metric: str, currency: str) -> str:
    unit = figure_info(metric).unit
    if not np.isfinite(mean):
        return "no data"
    return f"{format_value(mean, unit, currency)}\n{format_interval(low, high, unit, currency, with_unit=False)}"


def heatmap_chart(
    rows: pd.DataFrame, keys: Sequence[str], metric: str, currency: str = "USD", overloaded: Sequence[bool] = ()
) -> Chart:
    """A grid of two parameters: one cell per pair (first field across, second down), coloured by the mean.

    Each cell is written with its mean and 95% CI; the best mean is outlined. `data` holds one row
    per cell: the two settings, mean, ci_low, ci_high and `best`.
    """
    across, down = keys[0], keys[1]
    info = figure_info(metric)
    scale, _ = _scale(metric)
    x_values = list(dict.fromkeys(rows[across].tolist()))
    y_values = list(dict.fromkeys(rows[down].tolist()))
    means = np.full((len(y_values), len(x_values)), np.nan)
    cells = []
    for entry, flag in zip(rows.to_dict("records"), _flags(rows, overloaded)):
        i, j = y_values.index(entry[down]), x_values.index(entry[across])
        means[i, j] = float(entry["mean"])
        cells.append({across: entry[across], down: entry[down], "mean": float(entry["mean"]),
                      "ci_low": float(entry["ci_low"]), "ci_high": float(entry["ci_high"]),
                      "overloaded": flag})  # fmt: skip
    fig, ax = plt.subplots(figsize=(max(7.5, 1.25 * len(x_values) + 2.5), max(3.2, 0.85 * len(y_values) + 2.0)))
    direction = better(metric)
    colours = "RdYlGn_r" if direction == "lower" else "RdYlGn" if direction == "higher" else "Blues"
    finite = np.isfinite(means)
    image = ax.imshow(means * scale, cmap=colours, aspect="auto")
    best = None
    if finite.any() and direction is not None:
        flat = np.where(finite, means, -np.inf if direction == "higher" else np.inf)
        best = np.unravel_index(int(np.argmax(flat) if direction == "higher" else np.argmin(flat)), means.shape)
        ax.add_patch(plt.Rectangle((best[1] - 0.5, best[0] - 0.5), 1, 1, fill=False, edgecolor="black", lw=2.5))
    low_colour, high_colour = np.nanmin(means) if finite.any() else 0, np.nanmax(means) if finite.any() else 0
    for cell in cells:
        i, j = y_values.index(cell[down]), x_values.index(cell[across])
        cell["best"] = best is not None and (i, j) == (int(best[0]), int(best[1]))
        middle = (low_colour + high_colour) / 2
        spread = (high_colour - low_colour) or 1
        dark = abs(cell["mean"] - middle) / spread > 0.35 if np.isfinite(cell["mean"]) else False
        text = _cell_text(cell["mean"], cell["ci_low"], cell["ci_high"], metric, currency)
        ax.text(j, i, ("⚠ " if cell["overloaded"] else "") + text + (" ★" if cell["best"] else ""), ha="center",
                va="center", fontsize=8, color="white" if dark else "black")  # fmt: skip
        if cell["overloaded"]:
            ax.add_patch(plt.Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, edgecolor=WORSE_COLOUR, lw=1.8,
                                       ls="--"))  # fmt: skip
    ax.set_xticks(range(len(x_values)), [str(v) for v in x_values])
    ax.set_yticks(range(len(y_values)), [str(v) for v in y_values])
    ax.set_xlabel(across)
    ax.set_ylabel(down)
    colourbar = fig.colorbar(image, ax=ax)
    unit = axis_unit(info.unit, currency)
    colourbar.set_label(info.label + (f" ({unit})" if unit else ""))
    best_text = f"; ★ best ({direction} is better)" if best is not None else ""
    overload_text = "; ⚠ overloaded (a queue grows)" if any(c["overloaded"] for c in cells) else ""
    ax.set_title(f"{info.label} by {across} and {down}\nmean [95% CI] per point, same seeds{best_text}{overload_text}",
                 fontsize=9.5)  # fmt: skip
    settle(fig)
    return Chart(_stem(metric), fig, pd.DataFrame(cells), notes={"means": means, "across": x_values, "down": y_values})


def frontier_chart(
    points: pd.DataFrame, metric: str, target: float, at_least: bool, plan_label: str | None, path: Path
) -> Path:
    """Monthly team cost against the binding metric for every team simulated; the plan marked.

    `points` has columns label, cost, mean, ci_low, ci_high, meets (all targets met).
    """
    scale, _ = _scale(metric)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    ordered = points.sort_values("cost")
    for meets, colour, name in ((True, MET_COLOUR, "meets every target"), (False, MISSED_COLOUR, "misses a target")):
        part = ordered[ordered["meets"] == meets]
        if not len(part):
            continue
        mean = part["mean"].to_numpy(dtype=float) * scale
        errors = np.nan_to_num(
            np.vstack(
                [
                    mean - part["ci_low"].to_numpy(dtype=float) * scale,
                    part["ci_high"].to_numpy(dtype=float) * scale - mean,
                ]
            )
        )
        ax.errorbar(part["cost"], mean, yerr=errors, fmt="o", color=colour, capsize=3, label=name)
    for row in ordered.to_dict("records"):
        ax.annotate(
            str(row["label"]),
            (float(row["cost"]), float(row["mean"]) * scale),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=7,
        )
    sign, percent = (">=" if at_least else "<="), ("%" if scale == 100 else "")
    ax.axhline(
        target * scale, color="#b22222", linestyle="--", linewidth=1, label=f"target {sign} {target * scale:g}{percent}"
    )
    if plan_label is not None:
        chosen = ordered[ordered["label"] == plan_label]
        if len(chosen):
            ax.scatter(chosen["cost"], chosen["mean"] * scale, s=160, facecolors="none", edgecolors="black",
                       linewidths=1.5, label=f"plan: {plan_label}", zorder=5)  # fmt: skip
    ax.set_xlabel("sales team cost per month")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel(_axis_label(metric))
    ax.set_title(f"Staffing frontier: cost against {figure_info(metric).label} (95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def tornado_chart(rows: pd.DataFrame, metric: str, base_mean: float, scenario: str, path: Path) -> Path:
    """Effect on one metric of each parameter at its low and high value, largest swing on top.

    `rows` has columns parameter, low, high, low_effect, low_ci_low, low_ci_high, high_effect,
    high_ci_low, high_ci_high (effects are paired differences against the scenario as it is).
    """
    scale, unit = _scale(metric)
    ordered = rows.assign(swing=(rows["high_effect"] - rows["low_effect"]).abs()).sort_values("swing")
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(ordered) + 1.8))
    y = np.arange(len(ordered))
    for side, colour, shift in (("low", LOW_COLOUR, 0.19), ("high", HIGH_COLOUR, -0.19)):
        effect = ordered[f"{side}_effect"].to_numpy(dtype=float) * scale
        low = ordered[f"{side}_ci_low"].to_numpy(dtype=float) * scale
        high = ordered[f"{side}_ci_high"].to_numpy(dtype=float) * scale
        ax.barh(y + shift, effect, height=0.36, color=colour, alpha=0.9, label=f"parameter at its {side} value")
        ax.errorbar(effect, y + shift, xerr=np.nan_to_num(np.vstack([effect - low, high - effect])), fmt="none",
                    ecolor="black", capsize=3, linewidth=1)  # fmt: skip
    labels = [f"{r.parameter}\n{_short(r.low)} .. {_short(r.base)} .. {_short(r.high)}" for r in ordered.itertuples()]
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    base_text = f"{base_mean * scale:,.4g}{'%' if scale == 100 else ''}"
    ax.set_xlabel(f"change in {figure_info(metric).label}" + (f" ({'pp' if scale == 100 else unit})" if unit else ""))
    ax.set_title(
        f"{scenario}: what moves {figure_info(metric).label} (now {base_text})\n"
        "one parameter at a time, paired with the scenario as it is; bars: 95% CI",
        fontsize=10,
    )
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _save(fig: plt.Figure, path: Path) -> Path:
    settle(fig)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
