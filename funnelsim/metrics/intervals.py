"""Summaries over replications: means with 95% Student t intervals, paired differences and ratios.

Also the warning when too many of the window's leads were still open at the end of the run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# Two-sided 95% Student t quantiles for 1..30 degrees of freedom.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(dof: int) -> float:
    """The 97.5% quantile of Student's t (table to 30, Cornish-Fisher expansion beyond)."""
    if dof < 1:
        return math.nan
    if dof <= 30:
        return _T975[dof - 1]
    z = 1.959963984540054
    return z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)


def interval(values: np.ndarray) -> tuple[float, float, float, int]:
    """Mean and 95% t-interval of finite values: (mean, low, high, n)."""
    finite = values[np.isfinite(values)]
    n = len(finite)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(finite.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = t_quantile_975(n - 1) * float(finite.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half, n


def summarise(replications: pd.DataFrame) -> pd.DataFrame:
    """One row a metric: mean, ci_low, ci_high, std and n over replications."""
    rows = []
    for name in replications.columns:
        if name in ("replication", "seed", "error", "events", "seconds"):
            continue
        values = replications[name].to_numpy(dtype=np.float64)
        mean, low, high, n = interval(values)
        std = float(np.nanstd(values, ddof=1)) if n > 1 else math.nan
        rows.append({"metric": name, "mean": mean, "ci_low": low, "ci_high": high, "std": std, "n": n})
    return pd.DataFrame(rows)


def paired_difference(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Per metric: mean of A, mean of B, and the paired difference B - A with its 95% interval."""
    common = [c for c in a.columns if c in b.columns and c not in ("replication", "seed", "error", "events", "seconds")]
    merged = a.merge(b, on="replication", suffixes=("_a", "_b"))
    rows = []
    for name in common:
        va = merged[f"{name}_a"].to_numpy(dtype=np.float64)
        vb = merged[f"{name}_b"].to_numpy(dtype=np.float64)
        diff_mean, low, high, n = interval(vb - va)
        rows.append(
            {
                "metric": name,
                "mean_a": float(np.nanmean(va)) if np.isfinite(va).any() else math.nan,
                "mean_b": float(np.nanmean(vb)) if np.isfinite(vb).any() else math.nan,
                "difference": diff_mean,
                "ci_low": low,
                "ci_high": high,
                "n": n,
            }
        )
    # a side whose replications all failed has no figures: no rows, but the columns still
    return pd.DataFrame(rows, columns=["metric", "mean_a", "mean_b", "difference", "ci_low", "ci_high", "n"])


def paired_ratio(a: pd.DataFrame, b: pd.DataFrame, numerator: str, denominator: str) -> tuple[float, float, float, int]:
    """Ratio of paired mean differences, e.g. extra cost per extra customer, with a 95% interval.

    R = mean(dN) / mean(dD) over replications paired on `replication` (d = B - A); its interval
    is the delta method's: the standard error of mean(dN - R dD) divided by |mean(dD)|, with the
    t quantile of the pairs. The ratio of means is used rather than a mean of per-replication
    ratios, which blows up whenever one replication gains almost nothing.
    """
    if not all(name in side.columns for side in (a, b) for name in (numerator, denominator)):
        return math.nan, math.nan, math.nan, 0  # a side whose replications all failed
    merged = a.merge(b, on="replication", suffixes=("_a", "_b"))
    d_num = (merged[f"{numerator}_b"] - merged[f"{numerator}_a"]).to_numpy(dtype=np.float64)
    d_den = (merged[f"{denominator}_b"] - merged[f"{denominator}_a"]).to_numpy(dtype=np.float64)
    keep = np.isfinite(d_num) & np.isfinite(d_den)
    d_num, d_den = d_num[keep], d_den[keep]
    n = len(d_num)
    if n == 0 or d_den.mean() == 0:
        return math.nan, math.nan, math.nan, n
    ratio = float(d_num.mean() / d_den.mean())
    if n == 1:
        return ratio, math.nan, math.nan, 1
    half = t_quantile_975(n - 1) * float(np.std(d_num - ratio * d_den, ddof=1)) / math.sqrt(n) / abs(d_den.mean())
    return ratio, ratio - half, ratio + half, n


CENSORED_WARNING_SHARE = 0.01


def censoring_warning(summary: pd.DataFrame, follow_up_hours: float) -> str | None:
    """A warning when more than 1% of the window's leads were still open at the end of the run."""
    rows = summary[summary["metric"] == "censored_share"]
    if rows.empty or not np.isfinite(share := float(rows["mean"].iloc[0])) or share <= CENSORED_WARNING_SHARE:
        return None
    return (
        f"{share:.1%} of the window's leads were still open when the follow-up ended "
        f"({follow_up_hours / 24:,.0f} days after the horizon): they are censored, neither won nor lost, "
        "so conversion, customers and revenue undercount; set a longer `follow_up`"
    )
