"""What the won deals say: the sales cycle by likelihood, the time to win, AE capacity and deal size.

Each function takes the `CalibrationBuilder`, adds its figures and comments, and returns the scenario's part.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from funnelsim.calibrate.builder import CalibrationBuilder, hours_between, sig
from funnelsim.calibrate.families import DurationFit, best_fit
from funnelsim.calibrate.survival import Incidence, cumulative_incidence
from funnelsim.calibrate.table import CalibrationError


def fit_cycle(b: CalibrationBuilder, start_field: str, has_lost: bool):
    f = b.f[b.f[start_field].notna()]
    start = f[start_field]
    won = f["won_at"].notna().to_numpy()
    lost = f["lost_at"].notna().to_numpy() & ~won if has_lost else np.zeros(len(f), dtype=bool)
    won_h = hours_between(f.loc[won, "won_at"], start[won])
    lost_h = hours_between(f.loc[lost, "lost_at"], start[lost]) if has_lost else None
    open_ = ~won & ~lost
    censored_h = np.maximum(hours_between(pd.Series(b.t.until, index=f.index)[open_], start[open_]), 0.0)
    if len(won_h) < 3:
        raise CalibrationError(f"only {len(won_h)} won deal(s) in the data: too few to fit a sales cycle")
    best, fits = best_fit(won_h, lost_h, censored_h)
    # the data's own curve: share closed (won and lost) by time, or share of eventual wins won by time
    closed_h = np.concatenate([won_h, lost_h]) if lost_h is not None else won_h
    durations = np.concatenate([closed_h, censored_h])
    event = np.concatenate([np.ones(len(closed_h)), np.zeros(len(censored_h))]).astype(int)
    inc = cumulative_incidence(durations, event)
    rows = []
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        row = {"quantile": q, "data": inc.quantile_of_reached(q) if has_lost else _conditional_quantile(inc, best, q)}
        row.update({fit.family: fit.quantile(q) for fit in fits})
        rows.append(row)
    share = inc.cif / inc.final if has_lost else inc.cif / max(best.win_share or inc.final, 1e-12)
    curve = pd.DataFrame({"hours": inc.times, "share": np.minimum(share, 1.0)})
    b.add(
        "sales cycle",
        "cycle_median_hours",
        "all",
        best.median,
        *best.median_interval,
        rows[2]["data"],
        best.n,
        "hours",
        f"{best.family} by likelihood (censored); interval by the delta method",
    )
    for row in rows:
        b.add(
            "sales cycle",
            f"cycle_p{int(row['quantile'] * 100)}_hours",
            "all",
            row[best.family],
            float("nan"),
            float("nan"),
            row["data"],
            best.n,
            "hours",
            "fitted quantile vs the data's (Kaplan–Meier)",
        )
    if best.win_share is not None:
        b.add(
            "sales cycle",
            "win_share_mixture",
            "all",
            best.win_share,
            float("nan"),
            float("nan"),
            float(won.mean()),
            len(f),
            "share",
            "win share fitted jointly with the cycle",
        )
    return best, fits, pd.DataFrame(rows), curve


def _conditional_quantile(inc: Incidence, best: DurationFit, q: float) -> float:
    """Quantile of time to win among eventual winners, the eventual share taken from the fit."""
    share = best.win_share or inc.final
    i = np.searchsorted(inc.cif, q * share - 1e-12)
    return float(inc.times[i]) if i < len(inc.times) else float("nan")


def time_to_win(b: CalibrationBuilder, start_field: str) -> None:
    f = b.f[b.f[start_field].notna() & b.f["won_at"].notna()]
    hours = hours_between(f["won_at"], f[start_field])
    if len(hours):
        b.add(
            "sales cycle",
            "time_to_win_median_hours",
            "all",
            float(np.median(hours)),
            float("nan"),
            float("nan"),
            float(np.median(hours)),
            len(hours),
            "hours",
            "median over won leads (observed)",
        )


def ae_capacity(b: CalibrationBuilder, start_field: str, count: int) -> int:
    f = b.f[b.f[start_field].notna()]
    closed = f["won_at"].copy()
    if "lost_at" in f:
        closed = closed.fillna(f["lost_at"])
    closed = closed.fillna(b.t.until)
    moments = np.concatenate([f[start_field].to_numpy(), closed.to_numpy()])
    steps = np.concatenate([np.ones(len(f)), -np.ones(len(f))])
    order = np.lexsort((steps, moments))
    most = int(np.max(np.cumsum(steps[order]))) if len(f) else 1
    return max(1, math.ceil(most / max(count, 1)))


def fit_deal_size(b: CalibrationBuilder) -> Any:
    if not b.t.has("deal_mrr"):
        b.note(("sales", "deal_mrr"), "no deal values in the data: 500 a month assumed")
        return None
    values = b.f.loc[b.f["won_at"].notna(), "deal_mrr"].dropna().to_numpy()
    values = values[values > 0]
    if len(values) < 3:
        b.warnings.append(f"only {len(values)} positive deal value(s): deal size not fitted")
        return None
    logs = np.log(values)
    mu, sigma = float(logs.mean()), float(max(logs.std(ddof=1), 1e-3))
    half = 1.96 * sigma / math.sqrt(len(values))
    median = math.exp(mu)
    kind = "one-off" if b.deal_kind == "one-off" else "monthly"
    b.note(
        ("sales", "deal_mrr"),
        f"lognormal from {len(values):,} won deals ({kind} values): median {median:,.4g} "
        f"(data {np.median(values):,.4g}), 95% interval {math.exp(mu - half):,.4g}-{math.exp(mu + half):,.4g}; "
        f"p90 {math.exp(mu + 1.2816 * sigma):,.4g} (data {np.quantile(values, 0.9):,.4g})",
    )
    b.add(
        "deal size",
        "deal_median",
        "all",
        median,
        math.exp(mu - half),
        math.exp(mu + half),
        float(np.median(values)),
        len(values),
        "money",
        "lognormal, log-moments",
    )
    return {"lognormal": {"median": sig(median), "sigma": round(sigma, 4)}}
