"""The run's funnel, speed to lead, and conversion by response delay."""

from __future__ import annotations

import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from funnelsim.report.charts.base import (
    DELAY_BUCKETS,
    FUNNEL,
    MARKETING,
    OUTCOME,
    SALES,
    SPEED_MARKS,
    Chart,
    RunData,
    _finish,
    _interval,
    _title,
    _warning_note,
    no_data,
)
from funnelsim.report.formatting import format_value

# --- one run ---------------------------------------------------------------------------------


def funnel_chart(data: RunData) -> Chart:
    """Stage counts on a linear scale with stage-to-stage conversion; marketing, sales and outcome coloured apart."""
    table = data.summary.set_index("metric")
    rows = []
    for metric, label, part, short in FUNNEL:
        if metric in table.index:
            entry: Any = table.loc[metric]
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
    stages = frame.to_dict("records")
    for i, row in enumerate(stages):
        text = f"{row['mean']:,.0f}"
        if i > 0 and row["metric"] != "customers":
            before = float(stages[i - 1]["mean"])
            share = row["mean"] / before if before > 0 else math.nan
            conversions.append(share)
            text += f"   {format_value(share, '%')} of {stages[i - 1]['short']}"
        elif row["metric"] == "customers":
            first = float(stages[0]["mean"])
            share = row["mean"] / first if first > 0 else math.nan
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
            f"New customers = {float(table['mean']['deals_won']):,.0f} won by AEs + {self_serve:,.0f} self-serve"
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
    per: pd.DataFrame = answered.groupby(["replication", "bucket"])[["sals", "sqls"]].sum().unstack("bucket")  # type: ignore[assignment]
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
    for i, row in enumerate(frame.to_dict("records")):
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
