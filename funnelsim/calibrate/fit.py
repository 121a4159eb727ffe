"""From a lead table to a scenario: every figure fitted, with its source, method and interval.

`calibrate(table)` returns a `Calibration`: the scenario as data, a comment per fitted number
(counts, window, method, fit quality), and one row per figure with the data's value beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from funnelsim.calibrate.builder import CalibrationBuilder, Figure, describe, hours_between
from funnelsim.calibrate.deals import ae_capacity, fit_cycle, fit_deal_size, time_to_win
from funnelsim.calibrate.families import DurationFit, hours_text
from funnelsim.calibrate.response import fit_response
from funnelsim.calibrate.survival import Incidence
from funnelsim.calibrate.table import LeadTable

__all__ = ["Calibration", "Figure", "calibrate"]

DEFAULT_HANDLE = "15min"


@dataclass
class Calibration:
    """A fitted scenario (as data), its comments, the figures and what the charts need."""

    scenario: dict[str, Any]
    comments: dict[tuple[str, ...], str]
    figures: list[Figure]
    warnings: list[str]
    weekly: pd.DataFrame  # channel, week, leads, baseline, burst
    profiles: dict[str, dict[str, list[float]]]
    hour_counts: pd.Series | None
    day_counts: pd.Series
    cycle_fits: list[DurationFit]
    cycle_quantiles: pd.DataFrame  # quantile, data, each family
    cycle_curve: pd.DataFrame  # hours, data share closed/won among those who do
    delay_fits: list[DurationFit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    decay_buckets: pd.DataFrame | None = None

    def figures_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(f) for f in self.figures])

    def figure(self, name: str, channel: str = "all") -> Figure:
        return next(f for f in self.figures if f.name == name and f.channel == channel)


def _linear_fit_effect(fit: np.ndarray, reached: np.ndarray) -> tuple[float, float, float]:
    """chance((1 - w) + w fit) by least squares on resolved leads: (chance, fit_weight, slope se)."""
    if len(fit) < 10 or np.std(fit) < 1e-6:
        return float(np.mean(reached)) if len(reached) else 0.0, 0.0, float("nan")
    design = np.column_stack([np.ones(len(fit)), fit])
    coef, *_ = np.linalg.lstsq(design, reached.astype(float), rcond=None)
    residual = reached - design @ coef
    sigma2 = float(residual @ residual) / max(len(fit) - 2, 1)
    se = math.sqrt(sigma2 * np.linalg.inv(design.T @ design)[1, 1])
    a, b = float(coef[0]), float(coef[1])
    chance = a + b
    if chance <= 0:
        return float(np.mean(reached)), 0.0, se
    return chance, min(max(b / chance, 0.0), 1.0), se


def calibrate(table: LeadTable, name: str = "calibrated", deal_kind: str = "mrr") -> Calibration:
    """Fit a scenario to the lead table; see the module docstring."""
    b = CalibrationBuilder(table, name, deal_kind)
    f = b.f
    b.time_frame()
    channels = b.arrivals()
    sales_entry = "mql_at" if table.has("mql_at") else table.entry
    has_sql, has_fit, has_lost = table.has("sql_at"), table.has("fit"), table.has("lost_at")
    scenario: dict[str, Any] = {
        "name": name,
        "description": f"calibrated from {', '.join(sorted({v.split(':')[0] for v in table.fields.values()}))}",
        "start": b.start_date,
        "horizon": f"{b.horizon_days}d",
        "timezone": table.timezone,
        "profiles": b.profiles,
        "channels": channels,
    }
    b.note(("timezone",), "local time of the data (--timezone)")

    # lead -> MQL: nurture is one touch at the median delay; intent per channel is the MQL chance
    nurture: dict[str, Any] = {
        "touches": [],
        "engage": 1.0,
        "opt_out": 0.0,
        "mql": {"fit_min": 0.0, "engagement_min": 0},
    }
    if table.has("created_at") and table.has("mql_at"):
        rates = b.conversions("created_at", "mql_at", "lead_to_mql", "MQL")
        delay = np.median(hours_between(f["mql_at"].dropna(), f.loc[f["mql_at"].notna(), "created_at"]))
        nurture = {
            "touches": [hours_text(max(delay, 0.0))],
            "engage": 1.0,
            "opt_out": 0.0,
            "mql": {"fit_min": 0.0, "engagement_min": 1},
        }
        for channel in b.channels:
            channels[channel]["intent"] = round(rates[channel].final, 5)
            b.note(("channels", channel, "intent"), "lead -> MQL chance, Kaplan–Meier: " + describe(rates[channel]))
        b.record_conversion("lead_to_mql", rates, {}, "Kaplan–Meier (Aalen–Johansen), open leads censored")
        b.note(
            ("nurture",),
            f"one touch at the median lead -> MQL delay ({hours_text(delay)}); "
            "engage x intent = each channel's MQL chance",
        )
    else:
        b.note(("nurture",), "the data starts at MQL: every lead is an MQL on arrival")
    scenario["nurture"] = nurture
    scenario["self_serve"] = {"trial": 0.0}

    # MQL -> SQL and SQL -> won (or MQL -> won when there is no SQL stage)
    sales: dict[str, Any] = {"accept": 1.0}
    decay_factor_sq = 1.0
    win_start = "sql_at" if has_sql else sales_entry
    delay_fits, decay_table = [], None
    if table.has("first_touch_at"):
        delay_fits, decay_table, decay_factor_sq = fit_response(b, sales_entry, has_sql, sales)
    qualify_rates = b.conversions(sales_entry, "sql_at", "mql_to_sql", "SQL") if has_sql else None
    win_rates = b.conversions(win_start, "won_at", "sql_to_won" if has_sql else "mql_to_won", "the sales cycle")
    fit_column = f["fit"].to_numpy() if has_fit else None

    if has_fit:
        for channel in b.channels:
            values = f.loc[f["channel"] == channel, "fit"].dropna().to_numpy()
            channels[channel]["fit"] = _beta_spec(values)
            b.note(
                ("channels", channel, "fit"),
                f"beta by moments of {len(values):,} fit values (mean {values.mean():.3f}, sd {values.std():.3f})"
                if len(values)
                else "no fit values",
            )

    def fit_chance(start_field: str, target: str, incidence: dict[str, Incidence], label: str):
        """A chance with fit effect (fit column) or per channel through a constant fit."""
        pooled = incidence["all"]
        begun = f[start_field].notna().to_numpy()
        if has_fit and fit_column is not None:
            resolved = begun & (f[target].notna() | _ended(f, target)).to_numpy()
            chance, weight, se = _linear_fit_effect(fit_column[resolved], f[target].notna().to_numpy()[resolved])
            mean_effect = float(np.mean((1 - weight) + weight * fit_column[begun]))
            chance = min(pooled.final / mean_effect, 1.0) if mean_effect > 0 else pooled.final
            implied = {}
            for channel in b.channels:
                rows = begun & (f["channel"] == channel).to_numpy()
                implied[channel] = (
                    float(chance * np.mean((1 - weight) + weight * fit_column[rows])) if rows.any() else 0
                )
            implied["all"] = pooled.final
            text = (
                f"{label}: linear in fit over {int(resolved.sum()):,} resolved leads (slope se {se:.3f}), "
                f"scaled to the Kaplan–Meier rate " + describe(pooled)
            )
            return {"chance": round(chance, 5), "fit_weight": round(weight, 4)}, implied, text
        return None, {}, label + ", Kaplan–Meier: " + describe(pooled)

    if has_sql:
        assert qualify_rates is not None
        spec, implied, text = fit_chance(sales_entry, "sql_at", qualify_rates, "MQL -> SQL")
        if spec is None:
            top, implied = _fit_carries_channel(b, channels, qualify_rates, "MQL -> SQL")
            spec = {"chance": round(min(top / decay_factor_sq, 1.0), 5), "fit_weight": 1.0}
        elif decay_factor_sq < 1:
            spec["chance"] = round(min(spec["chance"] / decay_factor_sq, 1.0), 5)
        sales["qualify"] = spec
        b.note(
            ("sales", "qualify"),
            text
            + (
                f"; divided by {decay_factor_sq:.3f}, the mean decay^2 at the observed response delays"
                if decay_factor_sq < 1
                else ""
            ),
        )
        b.record_conversion("mql_to_sql", qualify_rates, implied, "Kaplan–Meier (Aalen–Johansen), open leads censored")
        win_spec, implied, text = fit_chance("sql_at", "won_at", win_rates, "SQL -> won")
        if win_spec is None:
            win_spec = {"chance": round(win_rates["all"].final, 5), "fit_weight": 0.0}
            implied = {c: win_rates["all"].final for c in [*b.channels, "all"]}
            text += " (one chance for every channel; per-channel rates are in the calibration report)"
        b.record_conversion("sql_to_won", win_rates, implied, "Kaplan–Meier (Aalen–Johansen), open deals censored")
    else:
        sales["qualify"] = {"chance": 1.0, "fit_weight": 0.0}
        b.note(("sales", "qualify"), "no SQL stage in the data: every MQL goes straight into the sales cycle")
        win_spec, implied, text = fit_chance(sales_entry, "won_at", win_rates, "MQL -> won")
        if win_spec is None:
            top, implied = _fit_carries_channel(b, channels, win_rates, "MQL -> won")
            win_spec = {"chance": round(top, 5), "fit_weight": 1.0}
        b.record_conversion("mql_to_won", win_rates, implied, "Kaplan–Meier (Aalen–Johansen), open leads censored")

    # the sales cycle: several families by likelihood, censored, with the win share when losses are unknown
    cycle_best, cycle_fits, quantiles, curve = fit_cycle(b, win_start, has_lost)
    ae: dict[str, Any] = {
        "count": "unlimited",
        "capacity": 25,
        "calendar": "always",
        "cycle": cycle_best.spec(),
        "win": win_spec,
    }
    b.note(("sales", "ae", "win"), text)
    others = ", ".join(f"{c.family} {c.aic:,.1f}" for c in cycle_fits if c is not cycle_best)
    qtext = "; ".join(
        f"p{int(q * 100)} {hours_text(r['data'])} vs {hours_text(r[cycle_best.family])}"
        for q, r in quantiles.set_index("quantile").iterrows()
    )
    closed = "won and lost closed" if has_lost else "won closed, the win share fitted jointly"
    b.note(
        ("sales", "ae", "cycle"),
        f"{cycle_best.family} by likelihood over {cycle_best.n:,} leads ({closed}, open ones censored): "
        f"AIC {cycle_best.aic:,.1f} (others: {others}); median "
        f"{hours_text(cycle_best.median)}, 95% interval {hours_text(cycle_best.median_interval[0])}-"
        f"{hours_text(cycle_best.median_interval[1])}; quantiles data vs fit: {qtext}",
    )
    if table.has("ae_id"):
        ae_count = int(f["ae_id"].nunique())
        ae["count"] = max(ae_count, 1)
        ae["capacity"] = ae_capacity(b, win_start, ae_count) if has_sql else max(1, math.ceil(len(f) / ae_count))
        b.note(("sales", "ae", "count"), f"{ae_count} distinct AE ids ({table.fields['ae_id']})")
        b.note(
            ("sales", "ae", "capacity"),
            "the most deals open at once in the data, per AE" if has_sql else "no SQL stage: set so AEs never bind",
        )
    sales["ae"] = ae

    # the SAL desk
    sdr = sales.setdefault("sdr", {})
    sdr.setdefault("count", "unlimited")
    sdr.setdefault("calendar", "always")
    sdr.update({"handle_time": sdr.get("handle_time", DEFAULT_HANDLE), "attempts": ["0h"], "reach": 1.0})
    if table.has("rep_id"):
        sdr["count"] = max(int(f["rep_id"].nunique()), 1)
        b.note(("sales", "sdr", "count"), f"{sdr['count']} distinct rep ids ({table.fields['rep_id']})")
    else:
        b.note(("sales", "sdr", "count"), "no rep ids in the data: the desk is not a bottleneck")
    b.note(("sales", "sdr", "handle_time"), "assumption: not in a CRM export; set it from call logs")
    sales["sdr"] = {k: sdr[k] for k in ("count", "calendar", "handle_time", "attempts", "reach")}
    if decay_table is not None:
        sales["decay"] = {"table": decay_table}
    deal = fit_deal_size(b)
    if deal is not None:
        sales["deal_mrr"] = deal
    scenario["sales"] = sales
    if b.calendars:
        scenario["calendars"] = b.calendars
    scenario["retention"] = {"monthly_churn": 1.0 if deal_kind == "one-off" else 0.02}
    b.note(
        ("retention",),
        "one-off deal values: each customer pays once"
        if deal_kind == "one-off"
        else "assumption: churn is not in a CRM lead export; set it from billing data",
    )
    time_to_win(b, sales_entry)
    return Calibration(
        scenario=scenario,
        comments=b.comments,
        figures=b.figures,
        warnings=b.warnings,
        notes=list(table.notes),
        weekly=b.weekly,
        profiles=b.profiles,
        hour_counts=b.hour_counts,
        day_counts=b.day_counts,
        cycle_fits=cycle_fits,
        cycle_quantiles=quantiles,
        cycle_curve=curve,
        delay_fits=delay_fits,
        decay_buckets=b.decay_buckets,
    )


def _ended(f: pd.DataFrame, target: str) -> pd.Series:
    ends = [f[c].notna() for c in ("won_at", "lost_at") if c in f and c != target]
    return pd.concat(ends, axis=1).any(axis=1) if ends else pd.Series(False, index=f.index)


def _beta_spec(values: np.ndarray) -> Any:
    if len(values) == 0:
        return 0.5
    mean, var = float(values.mean()), float(values.var())
    if var < 1e-8 or not 0 < mean < 1:
        return round(min(max(mean, 0.0), 1.0), 5)
    common = mean * (1 - mean) / var - 1
    if common <= 0:
        return {"beta": [1.0, 1.0]}
    return {"beta": [round(mean * common, 4), round((1 - mean) * common, 4)]}


def _fit_carries_channel(
    b: CalibrationBuilder, channels: dict[str, Any], rates: dict[str, Incidence], label: str
) -> tuple[float, dict[str, float]]:
    """Without a fit column, each channel's fit is its conversion over the best channel's.

    Sets `channels[c]["fit"]` with its comment; returns the best channel's rate and the implied rates.
    """
    top = max(r.final for r in rates.values())
    for channel in b.channels:
        channels[channel]["fit"] = round(rates[channel].final / top, 5) if top > 0 else 0.0
        b.note(
            ("channels", channel, "fit"),
            f"{label} relative to the best channel (fit carries the channel's conversion): " + describe(rates[channel]),
        )
    return top, {c: r.final for c, r in rates.items()}
