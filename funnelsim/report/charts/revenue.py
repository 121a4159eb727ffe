"""The run's revenue and retention: MRR over time with its band, cohort survival by fit."""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from funnelsim.report.charts.base import (
    OUTCOME,
    WORSE,
    Chart,
    RunData,
    _finish,
    _interval,
    _title,
    no_data,
)
from funnelsim.report.formatting import format_value


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
