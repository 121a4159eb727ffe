"""Speed to lead: the response-delay fit, the SDR desk's calendar and the decay curve by delay bucket.

`fit_response` adds its figures and comments to the `CalibrationBuilder` and fills the scenario's `sales.sdr`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from funnelsim.calibrate.builder import MIN_CHANNEL_LEADS, CalibrationBuilder, hours_between
from funnelsim.calibrate.families import best_fit, hours_text
from funnelsim.model.decay import interest_curve_of
from funnelsim.scenario.units import parse_duration_hours

DELAY_BUCKETS_HOURS = (0.0, 5 / 60, 1.0, 4.0, 24.0, math.inf)
DELAY_BUCKET_LABELS = ("< 5 min", "5 min - 1 h", "1 - 4 h", "4 - 24 h", ">= 24 h")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def fit_response(b: CalibrationBuilder, sales_entry: str, has_sql: bool, sales: dict[str, Any]):
    """Response delays: families fitted, the SDR calendar, and the decay curve by delay bucket."""
    f = b.f
    touched = f["first_touch_at"].notna() & f[sales_entry].notna()
    delays = np.maximum(hours_between(f.loc[touched, "first_touch_at"], f.loc[touched, sales_entry]), 0.0)
    if len(delays) < 10:
        b.warnings.append(f"only {len(delays)} lead(s) have a first-touch time: no response-delay fit")
        return [], None, 1.0
    best, fits = best_fit(delays, np.array([]), np.array([]))
    b.note(
        ("sales", "sdr"),
        f"response delay (MQL -> first touch) over {len(delays):,} leads: {best.family} "
        f"median {hours_text(best.median)} (data {hours_text(float(np.median(delays)))}), p90 "
        f"{hours_text(best.quantile(0.9))} (data {hours_text(float(np.quantile(delays, 0.9)))}); "
        "the model's delay comes from the SDR count and calendar below",
    )
    b.add(
        "speed to lead",
        "response_delay_median_hours",
        "all",
        best.median,
        *best.median_interval,
        float(np.median(delays)),
        len(delays),
        "hours",
        f"{best.family} by likelihood",
    )
    local = f.loc[touched, "first_touch_at"].dt.tz_convert(b.tz)
    sdr: dict[str, Any] = {}
    if not b.t.date_only.get("first_touch_at", False):
        day_share = np.bincount(local.dt.day_of_week, minlength=7) / len(local)
        days = [WEEKDAYS[d] for d in range(7) if day_share[d] >= 0.02]
        minutes = (local.dt.hour * 60 + local.dt.minute).to_numpy()
        opens, closes = int(np.quantile(minutes, 0.005) // 60), math.ceil(np.quantile(minutes, 0.995) / 60)
        if len(days) < 7 or opens > 0 or closes < 24:
            b.calendars = {"desk": {"days": days, "hours": f"{opens:02d}:00-{min(closes, 24):02d}:00"}}
            sdr["calendar"] = "desk"
            b.note(("calendars",), f"the SDR desk's days and hours: where 99% of {len(local):,} first touches fall")
    sales["sdr"] = sdr
    target = "sql_at" if has_sql else "won_at"
    converted = f.loc[touched, target].notna().to_numpy()
    # channels arrive at different hours, so delay and channel go together: each bucket's
    # conversion is set against what its channel mix alone would give (indirect standardisation)
    channel = f.loc[touched, "channel"].to_numpy()
    channel_rate = pd.Series(converted).groupby(channel).mean()
    expected_rate = channel_rate.reindex(channel).to_numpy()
    bucket = np.searchsorted(DELAY_BUCKETS_HOURS, delays, side="right") - 1
    rows = []
    for i, label in enumerate(DELAY_BUCKET_LABELS):
        mine = bucket == i
        n = int(mine.sum())
        rows.append(
            {
                "bucket": label,
                "leads": n,
                "converted": int(converted[mine].sum()),
                "rate": converted[mine].mean() if n else float("nan"),
                "expected": float(expected_rate[mine].mean()) if n else float("nan"),
                "median_delay_hours": float(np.median(delays[mine])) if n else float("nan"),
            }
        )
    table = pd.DataFrame(rows)
    usable = table[(table["leads"] >= MIN_CHANNEL_LEADS) & (table["converted"] > 0)]
    if len(usable) < 2:
        b.warnings.append("too few leads per response-delay bucket to fit a decay curve: none used")
        return fits, None, 1.0
    ref = usable.iloc[0]
    ratio = (usable["rate"] / usable["expected"]) / (ref["rate"] / ref["expected"])
    table["standardised_ratio"] = np.nan
    table.loc[usable.index, "standardised_ratio"] = ratio
    se = np.sqrt(
        (1 - usable["rate"]) / (usable["leads"] * usable["rate"]) + (1 - ref["rate"]) / (ref["leads"] * ref["rate"])
    )
    factor = np.minimum.accumulate(np.minimum(np.sqrt(ratio.to_numpy()), 1.0))
    table["factor"] = np.nan
    table["factor_low"] = np.nan
    table["factor_high"] = np.nan
    table.loc[usable.index, "factor"] = factor
    table.loc[usable.index, "factor_low"] = np.sqrt(ratio * np.exp(-1.96 * se)).to_numpy()
    table.loc[usable.index, "factor_high"] = np.sqrt(ratio * np.exp(1.96 * se)).to_numpy()
    b.decay_buckets = table
    points: list[list[Any]] = [[hours_text(0.0), 1.0]]
    for (_, bucket), value in zip(usable.iterrows(), factor):
        if bucket["median_delay_hours"] > 0:
            points.append([hours_text(bucket["median_delay_hours"]), round(float(value), 4)])
    b.note(
        ("sales", "decay"),
        f"conversion to {'SQL' if has_sql else 'won'} by response-delay bucket relative to "
        f"the fastest ({ref['bucket']}, {ref['rate']:.3f}), each against its channel mix; factor = sqrt(ratio) since "
        "reach and qualification "
        "both decay: " + "; ".join(f"{r.bucket}: {r.converted}/{r.leads}" for r in table.itertuples()),
    )
    for row in table.loc[usable.index].itertuples():
        b.add(
            "speed to lead",
            f"decay_factor[{row.bucket}]",
            "all",
            row.factor,
            row.factor_low,
            row.factor_high,
            row.rate,
            row.leads,
            "factor",
            "sqrt of conversion ratio to the fastest bucket",
        )
    curve = interest_curve_of(None, [(parse_duration_hours(d), float(v)) for d, v in points])
    mean_sq = float(np.mean([curve(d) ** 2 for d in np.quantile(delays, np.linspace(0.005, 0.995, 200))]))
    return fits, points, mean_sq
