"""The calibration's working state: the lead table's time frame, arrivals and stage conversions.

`CalibrationBuilder` holds the comments, figures and warnings the fitters in calibrate/ add to.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats  # scipy ships no type hints (pyproject: mypy overrides)

from funnelsim.calibrate.survival import CENSORED, COMPETING, REACHED, Incidence, cumulative_incidence
from funnelsim.calibrate.table import LeadTable
from funnelsim.scenario.units import HOURS_PER_WEEK

MIN_CHANNEL_LEADS = 30  # fewer leads in a stage than this: the channel uses the pooled rate
PROFILE_MIN_LEADS = 2000  # a channel gets its own hour/day profile from this many leads up


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


def hours_between(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((later - earlier).dt.total_seconds() / 3600.0).to_numpy(dtype=np.float64)


def poisson_interval(count: int, weeks: float) -> tuple[float, float]:
    low = stats.chi2.ppf(0.025, 2 * count) / 2 if count > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    return float(low) / weeks, float(high) / weeks


def sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}") if math.isfinite(x) else x


class CalibrationBuilder:
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
            low, high = poisson_interval(base, self.weeks)
            profile_name = "fitted_all"
            if n >= PROFILE_MIN_LEADS and not date_only:
                profile_name = f"fitted_{channel}"
                self.profiles[profile_name] = self._profile(local[mine], day_exposure, date_only)
            spec: dict[str, Any] = {"leads_per_week": sig(rate), "profile": profile_name}
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
        low, high = poisson_interval(total, self.weeks)
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
        return cumulative_incidence(np.maximum(hours_between(moment, start), 0.0), event)

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


def describe(inc: Incidence) -> str:
    low, high = inc.interval
    return (
        f"{inc.reached:,} of {inc.n:,} ({inc.competing:,} ended otherwise, {inc.censored:,} still open): "
        f"{inc.final:.4f}, 95% interval {low:.4f}-{high:.4f}"
    )
