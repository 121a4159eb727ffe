"""From a lead table to a scenario: every figure fitted, with its source, method and interval.

`calibrate(table)` returns a `Calibration`: the scenario as data, a comment per fitted number
(counts, window, method, fit quality), and one row per figure with the data's value beside it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from funnelsim.calibrate.families import DurationFit, best_fit, hours_text
from funnelsim.calibrate.survival import CENSORED, COMPETING, REACHED, Incidence, cumulative_incidence
from funnelsim.calibrate.table import CalibrationError, LeadTable
from funnelsim.model.decay import interest_curve_of
from funnelsim.scenario.units import HOURS_PER_WEEK, parse_duration_hours

MIN_CHANNEL_LEADS = 30  # fewer leads in a stage than this: the channel uses the pooled rate
PROFILE_MIN_LEADS = 2000  # a channel gets its own hour/day profile from this many leads up
DELAY_BUCKETS_HOURS = (0.0, 5 / 60, 1.0, 4.0, 24.0, math.inf)
DELAY_BUCKET_LABELS = ("< 5 min", "5 min - 1 h", "1 - 4 h", "4 - 24 h", ">= 24 h")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HANDLE = "15min"


@dataclass
class Figure:
    """One fitted figure beside the data's own value.

    `observed` is the data's estimate (Kaplan–Meier for conversions, empirical quantiles);
    `ci_low`/`ci_high` its 95% interval, or the fitted parameter's where a family is fitted.
    """

    section: str
    name: str
    channel: str
    fitted: float
    ci_low: float
    ci_high: float
    observed: float
    n: int
    unit: str
    method: str


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


def _hours(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((later - earlier).dt.total_seconds() / 3600.0).to_numpy(dtype=np.float64)


def _poisson_interval(count: int, weeks: float) -> tuple[float, float]:
    low = stats.chi2.ppf(0.025, 2 * count) / 2 if count > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    return float(low) / weeks, float(high) / weeks


def _sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}") if math.isfinite(x) else x


class _Builder:
    def __init__(self, table: LeadTable, name: str, deal_kind: str) -> None:
        self.t = table
        self.f = table.frame
        self.tz = table.timezone
        self.name = name
        self.deal_kind = deal_kind
        self.comments: dict[tuple[str, ...], str] = {}
        self.figures: list[Figure] = []
        self.warnings: list[str] = []
        self.calendars: dict[str, Any] = {}
        self.decay_buckets: pd.DataFrame | None = None
        self.channels = sorted(self.f["channel"].unique(), key=lambda c: -int((self.f["channel"] == c).sum()))

    def note(self, path: tuple[str, ...], text: str) -> None:
        self.comments[path] = text

    def add(self, *args: Any) -> None:
        self.figures.append(Figure(*args))

    # --- time frame and arrivals ------------------------------------------------------------

    def time_frame(self) -> None:
        entry = self.f[self.t.entry]
        first_local = entry.min().tz_convert(self.tz)
        self.start_date: dt.date = first_local.date()
        self.start = pd.Timestamp(self.start_date).tz_localize(self.tz, nonexistent="shift_forward").tz_convert("UTC")
        span_hours = (self.t.until - self.start).total_seconds() / 3600
        self.horizon_days = max(1, math.ceil(span_hours / 24 - 1e-9))
        self.weeks = span_hours / HOURS_PER_WEEK
        self.note(
            ("start",),
            f"the first lead in the data ({first_local:%Y-%m-%d %H:%M} {self.tz}); "
            f"data observed up to {self.t.until.tz_convert(self.tz):%Y-%m-%d %H:%M}",
        )
        self.note(("horizon",), f"the span of the data: {span_hours / 24:.1f} days = {self.weeks:.2f} weeks")

    def arrivals(self) -> dict[str, Any]:
        entry = self.t.entry
        local = self.f[entry].dt.tz_convert(self.tz)
        week = ((self.f[entry] - self.start).dt.total_seconds() // (7 * 86400)).astype(int)
        full_weeks = int(self.weeks)
        rows = []
        channels: dict[str, Any] = {}
        self.profiles: dict[str, dict[str, list[float]]] = {}
        date_only = self.t.date_only.get(entry, False)
        days_in_window = pd.Series(
            pd.date_range(self.start_date, periods=self.horizon_days, freq="D").day_of_week
        ).value_counts()
        day_exposure = np.array([days_in_window.get(d, 0) for d in range(7)], dtype=float)
        self.day_counts = local.dt.day_of_week.value_counts().reindex(range(7), fill_value=0)
        self.hour_counts = None if date_only else local.dt.hour.value_counts().reindex(range(24), fill_value=0)
        pooled_profile = self._profile(local, day_exposure, date_only)
        self.profiles["fitted_all"] = pooled_profile
        for channel in self.channels:
            mine = (self.f["channel"] == channel).to_numpy()
            n = int(mine.sum())
            counts = np.bincount(week[mine], minlength=full_weeks + 1)[:full_weeks]
            bursts, excess, baseline = self._bursts(counts)
            base = n - excess
            rate = base / self.weeks
            low, high = _poisson_interval(base, self.weeks)
            profile_name = "fitted_all"
            if n >= PROFILE_MIN_LEADS and not date_only:
                profile_name = f"fitted_{channel}"
                self.profiles[profile_name] = self._profile(local[mine], day_exposure, date_only)
            spec: dict[str, Any] = {"leads_per_week": _sig(rate), "profile": profile_name}
            if bursts:
                spec["bursts"] = bursts
            channels[channel] = spec
            self.note(
                ("channels", channel, "leads_per_week"),
                f"{n:,} leads in {self.weeks:.1f} weeks"
                + (f", {excess:,} of them in {len(bursts)} burst week(s)" if bursts else "")
                + f"; Poisson rate {rate:.4g}/week, 95% interval {low:.4g}-{high:.4g}",
            )
            self.add(
                "arrivals",
                "leads_per_week",
                channel,
                rate,
                low,
                high,
                n / self.weeks,
                n,
                "leads/week",
                "Poisson count over the window (exact interval); burst excess removed",
            )
            for i, c in enumerate(counts):
                rows.append((channel, i, int(c), float(baseline[i]), bool(any(b["_week"] == i for b in bursts))))
            for b in bursts:
                del b["_week"]
        self.weekly = pd.DataFrame(rows, columns=["channel", "week", "leads", "baseline", "burst"])
        total = len(self.f)
        low, high = _poisson_interval(total, self.weeks)
        self.add(
            "arrivals",
            "leads_per_week",
            "all",
            total / self.weeks,
            low,
            high,
            total / self.weeks,
            total,
            "leads/week",
            "Poisson count over the window",
        )
        if date_only:
            self.note(("profiles",), "dates have no time of day: hours are flat; weekdays from counts per weekday")
        else:
            self.note(("profiles",), "hour-of-day and day-of-week weights from lead counts (local time), mean 1")
        return channels

    def _profile(self, local: pd.Series, day_exposure: np.ndarray, date_only: bool) -> dict[str, list[float]]:
        days = np.bincount(local.dt.day_of_week, minlength=7) / np.maximum(day_exposure, 1)
        days = days / days.mean() if days.sum() > 0 else np.ones(7)
        hours = np.ones(24)
        if not date_only:
            counts = np.bincount(local.dt.hour, minlength=24).astype(float)
            hours = counts / counts.mean()
        return {"hours": [round(float(h), 3) for h in hours], "days": [round(float(d), 3) for d in days]}

    def _bursts(self, counts: np.ndarray) -> tuple[list[dict[str, Any]], int, np.ndarray]:
        """Weeks far above a 9-week running median (Poisson z > 4, at least 1.5x and 10 extra leads)."""
        if len(counts) < 5:
            return [], 0, counts.astype(float)
        baseline = pd.Series(counts).rolling(9, center=True, min_periods=3).median().to_numpy()
        bursts, excess = [], 0
        for i, (c, b) in enumerate(zip(counts, baseline)):
            extra = c - b
            if extra >= 10 and c >= 1.5 * b and extra > 4 * math.sqrt(max(b, 1.0)):
                at = (self.start + pd.Timedelta(weeks=i)).tz_convert(self.tz).tz_localize(None)
                bursts.append({"at": at.to_pydatetime(), "extra_leads": round(extra), "over": "7d", "_week": i})
                excess += round(extra)
        return bursts, excess, baseline

    # --- stages -------------------------------------------------------------------------------

    def stage(self, start_field: str, target: str, rows: np.ndarray | None = None) -> Incidence:
        """Chance of reaching `target` from `start_field`; other endings compete; open leads censored."""
        f = self.f if rows is None else self.f[rows]
        begun = f[start_field].notna().to_numpy()
        f = f[begun]
        start = f[start_field]
        reached = f[target]
        ends = [f[c] for c in ("won_at", "lost_at") if c in f and c != target]
        other = pd.concat(ends, axis=1).min(axis=1) if ends else pd.Series(pd.NaT, index=f.index)
        event = np.where(reached.notna(), REACHED, np.where(other.notna(), COMPETING, CENSORED))
        moment = reached.where(reached.notna(), other.where(other.notna(), self.t.until))
        return cumulative_incidence(np.maximum(_hours(moment, start), 0.0), event)

    def conversions(self, start_field: str, target: str, name: str, label: str) -> dict[str, Incidence]:
        pooled = self.stage(start_field, target)
        rates = {"all": pooled}
        for channel in self.channels:
            rows = (self.f["channel"] == channel).to_numpy()
            n = int(self.f.loc[rows, start_field].notna().sum())
            if n < MIN_CHANNEL_LEADS:
                self.warnings.append(
                    f"channel {channel!r}: only {n} lead(s) entered {label}; its conversion uses the pooled "
                    f"rate {pooled.final:.3f} (all channels together)"
                )
                rates[channel] = pooled
                continue
            rates[channel] = self.stage(start_field, target, rows)
        return rates

    def record_conversion(self, name: str, rates: dict[str, Incidence], fitted: dict[str, float], method: str) -> None:
        for channel, inc in rates.items():
            low, high = inc.interval
            self.add(
                "conversion",
                name,
                channel,
                fitted.get(channel, inc.final),
                low,
                high,
                inc.final,
                inc.n,
                "share",
                method,
            )


def _describe(inc: Incidence) -> str:
    low, high = inc.interval
    return (
        f"{inc.reached:,} of {inc.n:,} ({inc.competing:,} ended otherwise, {inc.censored:,} still open): "
        f"{inc.final:.4f}, 95% interval {low:.4f}-{high:.4f}"
    )


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
    b = _Builder(table, name, deal_kind)
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
        delay = np.median(_hours(f["mql_at"].dropna(), f.loc[f["mql_at"].notna(), "created_at"]))
        nurture = {
            "touches": [hours_text(max(delay, 0.0))],
            "engage": 1.0,
            "opt_out": 0.0,
            "mql": {"fit_min": 0.0, "engagement_min": 1},
        }
        for channel in b.channels:
            channels[channel]["intent"] = round(rates[channel].final, 5)
            b.note(("channels", channel, "intent"), "lead -> MQL chance, Kaplan–Meier: " + _describe(rates[channel]))
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
        delay_fits, decay_table, decay_factor_sq = _response(b, sales_entry, has_sql, sales)
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
                f"scaled to the Kaplan–Meier rate " + _describe(pooled)
            )
            return {"chance": round(chance, 5), "fit_weight": round(weight, 4)}, implied, text
        return None, {}, label + ", Kaplan–Meier: " + _describe(pooled)

    if has_sql:
        assert qualify_rates is not None
        spec, implied, text = fit_chance(sales_entry, "sql_at", qualify_rates, "MQL -> SQL")
        if spec is None:
            top = max(r.final for r in qualify_rates.values())
            spec = {"chance": round(min(top / decay_factor_sq, 1.0), 5), "fit_weight": 1.0}
            for channel in b.channels:
                channels[channel]["fit"] = round(qualify_rates[channel].final / top, 5) if top > 0 else 0.0
                b.note(
                    ("channels", channel, "fit"),
                    "MQL -> SQL relative to the best channel (fit carries the "
                    "channel's conversion): " + _describe(qualify_rates[channel]),
                )
            implied = {c: r.final for c, r in qualify_rates.items()}
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
            top = max(r.final for r in win_rates.values())
            win_spec = {"chance": round(top, 5), "fit_weight": 1.0}
            for channel in b.channels:
                channels[channel]["fit"] = round(win_rates[channel].final / top, 5) if top > 0 else 0.0
                b.note(
                    ("channels", channel, "fit"),
                    "MQL -> won relative to the best channel (fit carries the "
                    "channel's conversion): " + _describe(win_rates[channel]),
                )
            implied = {c: r.final for c, r in win_rates.items()}
        b.record_conversion("mql_to_won", win_rates, implied, "Kaplan–Meier (Aalen–Johansen), open leads censored")

    # the sales cycle: several families by likelihood, censored, with the win share when losses are unknown
    cycle_best, cycle_fits, quantiles, curve = _cycle(b, win_start, has_lost)
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
        ae["capacity"] = _ae_capacity(b, win_start, ae_count) if has_sql else max(1, math.ceil(len(f) / ae_count))
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
    deal = _deal_size(b)
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
    _time_to_win(b, sales_entry)
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


def _cycle(b: _Builder, start_field: str, has_lost: bool):
    f = b.f[b.f[start_field].notna()]
    start = f[start_field]
    won = f["won_at"].notna().to_numpy()
    lost = f["lost_at"].notna().to_numpy() & ~won if has_lost else np.zeros(len(f), dtype=bool)
    won_h = _hours(f.loc[won, "won_at"], start[won])
    lost_h = _hours(f.loc[lost, "lost_at"], start[lost]) if has_lost else None
    open_ = ~won & ~lost
    censored_h = np.maximum(_hours(pd.Series(b.t.until, index=f.index)[open_], start[open_]), 0.0)
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


def _time_to_win(b: _Builder, start_field: str) -> None:
    f = b.f[b.f[start_field].notna() & b.f["won_at"].notna()]
    hours = _hours(f["won_at"], f[start_field])
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


def _response(b: _Builder, sales_entry: str, has_sql: bool, sales: dict[str, Any]):
    """Response delays: families fitted, the SDR calendar, and the decay curve by delay bucket."""
    f = b.f
    touched = f["first_touch_at"].notna() & f[sales_entry].notna()
    delays = np.maximum(_hours(f.loc[touched, "first_touch_at"], f.loc[touched, sales_entry]), 0.0)
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


def _ae_capacity(b: _Builder, start_field: str, count: int) -> int:
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


def _deal_size(b: _Builder) -> Any:
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
    return {"lognormal": {"median": _sig(median), "sigma": round(sigma, 4)}}
