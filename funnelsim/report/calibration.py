"""The calibration report: fitted against observed for every figure, as CSV tables and PNG charts.

`write_calibration` writes what `funnelsim calibrate` produced: the report folder, then the scenario.
The calibrate package is imported for types only: its fit needs scipy (the calibrate extra), and
`funnelsim backtest`, which draws here too, does not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from funnelsim.report.charts import settle
from funnelsim.report.results import write_atomically

if TYPE_CHECKING:
    from funnelsim.calibrate.api import CalibrationRun
    from funnelsim.calibrate.fit import Calibration

WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TAB20 = matplotlib.colormaps["tab20"].colors  # type: ignore[attr-defined]
COLOURS = tuple(_TAB20[::2] + _TAB20[1::2])  # the ten strong colours, then their light twins
STAGE_LABELS = {
    "lead_to_mql": "lead -> MQL",
    "mql_to_sql": "MQL -> SQL",
    "sql_to_won": "SQL -> won",
    "mql_to_won": "MQL -> won",
}


def write_calibration(run: CalibrationRun, out: Path, report: Path | None) -> None:
    """The report folder (atomically), then the scenario file (written aside and renamed)."""
    out = Path(out)
    if report is not None:
        write_atomically(report, lambda folder: write_calibration_report(run.calibration, folder, run.scenario.name))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        tmp.write_text(run.text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_calibration_report(calibration: Calibration, folder: Path, name: str) -> None:
    """calibration.csv, weekly_leads.csv, cycle_quantiles.csv (decay_buckets.csv) and charts/*.png."""
    folder = Path(folder)
    charts = folder / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    calibration.figures_frame().to_csv(folder / "calibration.csv", index=False)
    calibration.weekly.to_csv(folder / "weekly_leads.csv", index=False)
    calibration.cycle_quantiles.to_csv(folder / "cycle_quantiles.csv", index=False)
    if calibration.decay_buckets is not None:
        calibration.decay_buckets.to_csv(folder / "decay_buckets.csv", index=False)
    written = [
        _arrivals_chart(calibration, name, charts / "arrivals.png"),
        _profile_chart(calibration, name, charts / "profile.png"),
        _conversion_chart(calibration.figures_frame(), name, charts / "conversion.png"),
        _cycle_chart(calibration, name, charts / "cycle.png"),
    ]
    if calibration.decay_buckets is not None and calibration.decay_buckets["factor"].notna().any():
        written.append(_decay_chart(calibration.decay_buckets, name, charts / "decay.png"))


def _arrivals_chart(calibration: Any, name: str, path: Path) -> Path:
    weekly = calibration.weekly
    figures = calibration.figures_frame()
    rates = figures[figures["name"] == "leads_per_week"].set_index("channel")
    channels = list(dict.fromkeys(weekly["channel"]))
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for i, channel in enumerate(channels):
        mine = weekly[weekly["channel"] == channel]
        colour = COLOURS[i % len(COLOURS)]
        ax.plot(mine["week"], mine["leads"], color=colour, lw=1.3, label=channel)
        ax.axhline(rates.loc[channel, "fitted"], color=colour, lw=1, ls="--", alpha=0.8)
        bursts = mine[mine["burst"]]
        if len(bursts):
            ax.scatter(bursts["week"], bursts["leads"], color=colour, marker="^", s=50, zorder=3)
    ax.set_xlabel("week of the data")
    ax.set_ylabel("leads per week")
    ax.set_title(f"{name}: weekly leads per channel (dashed: fitted rate; triangles: bursts)")
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def _profile_chart(calibration: Any, name: str, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [3, 1.4]})
    profile = calibration.profiles["fitted_all"]
    hours = calibration.hour_counts
    ax = axes[0]
    if hours is not None:
        share = hours / hours.sum() * 100
        ax.bar(range(24), share, color="#9bb8d6", label="data (% of leads)")
        ax.plot(range(24), np.asarray(profile["hours"]) / 24 * 100, "o-", color="#3b6ea8", ms=3, label="fitted profile")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "dates without a time of day:\nflat hours", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xticks(range(0, 24, 3))
    ax.set_xlabel("local hour of day")
    ax.set_ylabel("% of leads")
    ax.set_title(f"{name}: arrivals by hour")
    ax = axes[1]
    days = np.asarray(profile["days"])
    ax.bar(WEEKDAY_LABELS, days, color="#5a9e6f")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_ylabel("relative rate (mean 1)")
    ax.set_title("by weekday")
    return _save(fig, path)


def _conversion_chart(figures: pd.DataFrame, name: str, path: Path) -> Path:
    stages = [s for s in STAGE_LABELS if (figures["name"] == s).any()]
    fig, axes = plt.subplots(1, len(stages), figsize=(4.6 * len(stages), 4.2), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        rows = figures[figures["name"] == stage].reset_index(drop=True)
        x = np.arange(len(rows))
        lower = np.clip(rows["observed"] - rows["ci_low"], 0, None) * 100
        upper = np.clip(rows["ci_high"] - rows["observed"], 0, None) * 100
        ax.errorbar(
            x - 0.12,
            rows["observed"] * 100,
            yerr=[lower, upper],
            fmt="o",
            color="#3b6ea8",
            capsize=3,
            label="data (Kaplan–Meier, 95% CI)",
        )
        ax.scatter(x + 0.12, rows["fitted"] * 100, marker="D", color="#c8743a", zorder=3, label="scenario")
        ax.set_xticks(x, rows["channel"], rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("% of leads entering the stage")
        ax.set_title(f"{name}: {STAGE_LABELS[stage]}")
        ax.set_ylim(bottom=0)
    axes[0][0].legend(fontsize=8)
    return _save(fig, path)


def _cycle_chart(calibration: Any, name: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    curve = calibration.cycle_curve
    days = curve["hours"] / 24
    ax.step(days, curve["share"] * 100, where="post", color="black", lw=1.6, label="data (Kaplan–Meier)")
    grid = np.geomspace(max(days.min(), 0.01), max(days.max(), 1), 300)
    for fit, colour in zip(calibration.cycle_fits, COLOURS):
        best = fit is min(calibration.cycle_fits, key=lambda f: f.aic)
        label = f"{fit.family} (AIC {fit.aic:,.0f}){'  best' if best else ''}"
        ax.plot(
            grid,
            fit.frozen().cdf(grid * 24) * 100,
            color=colour,
            lw=2.2 if best else 1.2,
            ls="-" if best else "--",
            label=label,
        )
    ax.set_xscale("log")
    ax.set_xlabel("days from the start of the cycle (log scale)")
    mixture = calibration.cycle_fits[0].win_share is not None
    ax.set_ylabel("% of eventual wins won by then" if mixture else "% of deals closed by then")
    ax.set_title(f"{name}: sales cycle, data against fitted families")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _decay_chart(buckets: pd.DataFrame, name: str, path: Path) -> Path:
    rows = buckets[buckets["factor"].notna()].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(rows))
    raw = np.sqrt(rows["standardised_ratio"])
    ax.errorbar(
        x,
        raw,
        yerr=[np.clip(raw - rows["factor_low"], 0, None), np.clip(rows["factor_high"] - raw, 0, None)],
        fmt="o",
        color="#3b6ea8",
        capsize=3,
        label="data: sqrt(conversion ratio, channel mix removed), 95% CI",
    )
    ax.plot(x, rows["factor"], "D-", color="#c8743a", label="scenario decay table (monotone)")
    ax.set_xticks(x, [f"{b}\n({n:,} leads)" for b, n in zip(rows["bucket"], rows["leads"])], fontsize=8)
    ax.set_ylim(0, 1.15)
    ax.set_xlabel("response delay")
    ax.set_ylabel("interest left (1 = fastest bucket)")
    ax.set_title(f"{name}: decay curve from conversion by response delay")
    ax.legend(fontsize=8)
    return _save(fig, path)


def backtest_chart(table: pd.DataFrame, name: str, path: Path) -> Path:
    """Actual against the simulation's 95% interval, one panel per quantity."""
    quantities = list(dict.fromkeys(table["quantity"]))
    fig, axes = plt.subplots(1, len(quantities), figsize=(4.8 * len(quantities), 4.4), squeeze=False)
    for ax, quantity in zip(axes[0], quantities):
        rows = table[table["quantity"] == quantity].reset_index(drop=True)
        x = np.arange(len(rows))
        ax.vlines(x, rows["sim_low"], rows["sim_high"], color="#9bb8d6", lw=8, label="simulated 95% interval")
        ax.scatter(x, rows["sim_median"], color="#3b6ea8", marker="_", s=200, zorder=3, label="simulated median")
        inside = rows["inside"].astype(bool)
        ax.scatter(
            x[inside], rows.loc[inside, "actual"], color="#2e7d32", marker="o", zorder=4, label="actual (inside)"
        )
        ax.scatter(
            x[~inside],
            rows.loc[~inside, "actual"],
            color="#c62828",
            marker="X",
            s=60,
            zorder=4,
            label="actual (outside)",
        )
        ax.set_xticks(x, rows["channel"], rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{name}: {quantity}", fontsize=10)
        ax.set_ylim(bottom=0)
    axes[0][0].legend(fontsize=7)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    settle(fig)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
