"""Offered load of the SDR desk and the AE pipeline, worked out from the scenario alone.

The load is the work the window's leads bring, divided by what the resource can do in the
window: 1.0 means exactly full. Waiting for a busy rep is left out (that is the queue's part,
not the work's), so on a stable desk the load is the utilisation a simulation measures, and
above 1.0 no queue discipline can keep up. `overload_warnings` turns loads and the measured
backlog growth of a run into the warnings `run`, `compare` and `sweep` print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from funnelsim.model.arrivals import hourly_rates, local_hour_and_weekday
from funnelsim.model.calendar import WorkCalendar, to_clock_hours
from funnelsim.model.decay import decay_slowdown, interest_curve
from funnelsim.scenario.distributions import Distribution
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_WEEK

POINTS_PER_HOUR = 4  # SAL moments are placed on a quarter-hour grid
QUADRATURE_DRAWS = 50_000  # fixed-seed draws for expectations over fit, intent and patience
QUADRATURE_SEED = 8
OVERLOADED_AT = 1.0  # offered load at or above which a resource cannot keep up
# a backlog "grows through the window" when its rise over the window is significant (95% CI
# above zero) and at least this share of its mean level, and at least MIN_GROWTH items
GROWTH_SHARE = 0.5
MIN_GROWTH = 5.0


@dataclass(frozen=True)
class DeskLoad:
    """The SDR desk's offered load: call hours the window's SALs need against open rep hours."""

    sals_per_week: float
    attempts_per_sal: float
    handle_hours: float
    work_hours_per_week: float
    open_hours_per_week: float  # one SDR's
    sdrs: int | None  # None: unlimited

    @property
    def load(self) -> float:
        if self.sdrs is None or self.open_hours_per_week <= 0:
            return math.nan
        return self.work_hours_per_week / (self.sdrs * self.open_hours_per_week)

    @property
    def sdrs_needed(self) -> int | None:
        """The fewest SDRs at which the offered load is below 1."""
        if self.open_hours_per_week <= 0:
            return None
        return math.floor(self.work_hours_per_week / self.open_hours_per_week) + 1


@dataclass(frozen=True)
class PipelineLoad:
    """The AE pipeline's offered load: SQLs a week times the weeks each holds a slot, against slots."""

    sqls_per_week: float
    hold_hours: float  # a deal's time in its slot: waiting for the AE calendar, the cycle, closing
    slots: int | None  # None: unlimited
    capacity: int  # slots per AE

    @property
    def load(self) -> float:
        if self.slots is None:
            return math.nan
        return self.sqls_per_week * self.hold_hours / HOURS_PER_WEEK / self.slots

    @property
    def aes_needed(self) -> int:
        """The fewest AEs at this capacity at which the offered load is below 1."""
        busy_slots = self.sqls_per_week * self.hold_hours / HOURS_PER_WEEK
        return math.floor(busy_slots / self.capacity) + 1


@dataclass(frozen=True)
class OfferedLoad:
    desk: DeskLoad
    pipeline: PipelineLoad


def offered_load(scenario: Scenario) -> OfferedLoad:
    """Offered loads of the SDR desk and AE pipeline over the scenario's window (cached)."""
    return _offered_load_cached(scenario.model_dump_json())


@lru_cache(maxsize=16)
def _offered_load_cached(scenario_json: str) -> OfferedLoad:
    return _offered_load(Scenario.model_validate_json(scenario_json))


def _offered_load(scenario: Scenario) -> OfferedLoad:
    sales = scenario.sales
    rng = np.random.default_rng(QUADRATURE_SEED)
    lo, hi = scenario.warmup, scenario.horizon
    window_weeks = (hi - lo) / HOURS_PER_WEEK
    sdr_cal = _calendar(scenario, sales.sdr.calendar)
    ae_cal = _calendar(scenario, sales.ae.calendar)

    # SALs per grid point (SAL moment) and channel, and each channel's qualify chance
    grid, sal_weight, trial_weight, qualify = _sal_moments(scenario, rng)
    in_window = (grid >= lo) & (grid < hi)
    grid, sal_weight, trial_weight = grid[in_window], sal_weight[:, in_window], trial_weight[in_window]
    sal_total = sal_weight.sum(axis=0)

    # the cadence from each SAL moment, with no wait for a busy rep
    handle = sales.sdr.handle_time.mean()
    starts = _attempt_starts(scenario, grid, sdr_cal, handle)
    delays = starts - grid[None, :]
    slow = 1.0 / decay_slowdown(sales.auto_touch)
    interest = _curve_on(interest_curve(sales.decay), delays * slow)
    reach = sales.sdr.reach * interest
    waiting = _survival(sales.patience, delays, rng) if sales.patience is not None else np.ones_like(delays)
    trial_waiting = (delays < scenario.self_serve.trial_length).astype(np.float64)
    still_unreached = np.cumprod(np.vstack([np.ones_like(grid), 1 - reach[:-1]]), axis=0)
    attempted = np.isfinite(starts)
    made = np.where(attempted, waiting * still_unreached, 0.0)  # chance attempt k is made
    trial_made = np.where(attempted, trial_waiting * still_unreached, 0.0)
    attempts = made.sum(axis=0) @ sal_total + trial_made.sum(axis=0) @ trial_weight
    sals = float(sal_total.sum() + trial_weight.sum())

    # SQLs: reached at attempt k and qualified with the same interest; each needs an AE slot
    qualified = made * reach * interest  # per unit qualify chance
    sqls = float((qualify[:, None] * sal_weight).sum(axis=0) @ qualified.sum(axis=0))
    ends = starts + handle
    ae_start_wait = _wait_to_open(ae_cal, ends) - ends
    weights = (qualify[:, None] * sal_weight).sum(axis=0)[None, :] * qualified
    finite = np.isfinite(ae_start_wait) & (weights > 0)
    start_wait = float((ae_start_wait[finite] * weights[finite]).sum() / weights[finite].sum()) if finite.any() else 0.0
    hold = start_wait + sales.ae.cycle.mean() + _mean_wait_to_open(ae_cal, lo, hi)

    desk = DeskLoad(
        sals_per_week=sals / window_weeks,
        attempts_per_sal=float(attempts / sals) if sals else 0.0,
        handle_hours=handle,
        work_hours_per_week=float(attempts) * handle / window_weeks,
        open_hours_per_week=sdr_cal.open_hours(lo, hi) / window_weeks,
        sdrs=sales.sdr.count if isinstance(sales.sdr.count, int) else None,
    )
    ae = sales.ae
    pipeline = PipelineLoad(
        sqls_per_week=sqls / window_weeks,
        hold_hours=hold,
        slots=ae.count * ae.capacity if isinstance(ae.count, int) else None,
        capacity=ae.capacity,
    )
    return OfferedLoad(desk, pipeline)


# --- the funnel down to SAL, as expected counts on a time grid ----------------------------


def _sal_moments(scenario: Scenario, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grid of SAL moments; expected SALs per (channel, moment); worked trial leads per moment;
    each channel's mean qualify chance (its MQLs' fit)."""
    nurture, rule = scenario.nurture, scenario.nurture.mql
    touches = np.asarray(
        [t for t in nurture.touches if nurture.max_length is None or t <= nurture.max_length], dtype=np.float64
    )
    span = scenario.horizon + (touches[-1] if len(touches) else 0.0)
    n_bins = int(np.ceil(scenario.horizon))
    n_points = int(np.ceil(span)) * POINTS_PER_HOUR
    grid = (np.arange(n_points) + 0.5) / POINTS_PER_HOUR
    hour, weekday = local_hour_and_weekday(scenario.start, scenario.timezone, n_bins)
    sales, self_serve = scenario.sales, scenario.self_serve
    to_desk = sales.accept * (1 - self_serve.trial)
    trials_worked = sales.accept * self_serve.trial if self_serve.reps_work_trials else 0.0
    sal_weight = np.zeros((len(scenario.channels), n_points))
    qualify = np.zeros(len(scenario.channels))
    for code, channel in enumerate(scenario.channels.values()):
        arrivals = hourly_rates(scenario.profile(channel.profile), channel.leads_per_week, hour, weekday)
        per_point = np.repeat(arrivals / POINTS_PER_HOUR, POINTS_PER_HOUR)
        per_point = np.concatenate([per_point, np.zeros(n_points - len(per_point))])
        for burst in channel.bursts:
            begin = to_clock_hours(burst.at, scenario.start, scenario.timezone)
            inside = (grid >= begin) & (grid < begin + burst.over) & (grid < scenario.horizon)
            per_point[inside] += burst.extra_leads / (burst.over * POINTS_PER_HOUR)
        fit = channel.fit.sample(rng, QUADRATURE_DRAWS)
        fits = fit >= rule.fit_min
        share_fit = float(fits.mean())
        mean_fit = float(fit[fits].mean()) if fits.any() else 0.0
        qualify[code] = sales.qualify.at(mean_fit)
        mql_at_touch = _mql_by_touch(scenario, channel.intent, len(touches), rng) * share_fit
        mqls = np.zeros(n_points)
        if rule.engagement_min == 0:
            mqls += per_point * share_fit
        else:
            for j, offset in enumerate(touches):
                shift = round(offset * POINTS_PER_HOUR)
                mqls[shift:] += per_point[: n_points - shift] * mql_at_touch[j]
        sal_weight[code] = mqls * to_desk
    trial_weight = sal_weight.sum(axis=0) / to_desk * trials_worked if to_desk > 0 else np.zeros(n_points)
    return grid, sal_weight, trial_weight, qualify


def _mql_by_touch(scenario: Scenario, intent: Distribution, n_touches: int, rng: np.random.Generator) -> np.ndarray:
    """Chance that a lead of sufficient fit becomes an MQL at touch j (opt-out first, then engage)."""
    nurture = scenario.nurture
    need = nurture.mql.engagement_min
    if need == 0 or n_touches == 0:
        return np.zeros(n_touches)
    chance = nurture.engage * (intent.sample(rng, 4_000) if intent.family != "constant" else np.array([intent.mean()]))
    stay = 1 - nurture.opt_out
    state = np.zeros((len(chance), need))
    state[:, 0] = 1.0  # engaged touches so far, while still in nurture and not yet an MQL
    at_touch = np.zeros(n_touches)
    for j in range(n_touches):
        state *= stay
        at_touch[j] = float((state[:, -1] * chance).mean())
        moved = state * chance[:, None]
        state = state - moved
        state[:, 1:] += moved[:, :-1]
    return at_touch


# --- the cadence and the calendars ------------------------------------------------------


def _calendar(scenario: Scenario, name: str) -> WorkCalendar:
    return WorkCalendar.build(scenario.calendar(name), scenario.start, scenario.timezone, scenario.horizon)


def _wait_to_open(calendar: WorkCalendar, t: np.ndarray) -> np.ndarray:
    """The calendar's next open moment at or after each t (inf past its last interval)."""
    if calendar.always_open:
        return np.array(t, dtype=np.float64)
    opens, closes = np.asarray(calendar.opens), np.asarray(calendar.closes)
    i = np.searchsorted(opens, t, side="right") - 1
    inside = (i >= 0) & (t < closes[np.maximum(i, 0)])
    following = np.where(i + 1 < len(opens), opens[np.minimum(i + 1, len(opens) - 1)], np.inf)
    return np.where(inside, t, following)


def _mean_wait_to_open(calendar: WorkCalendar, lo: float, hi: float) -> float:
    """Mean wait from a moment uniform in [lo, hi) to the calendar's next open moment."""
    if calendar.always_open:
        return 0.0
    t = np.arange(lo, hi, 0.1) + 0.05
    wait = _wait_to_open(calendar, t) - t
    return float(wait[np.isfinite(wait)].mean())


def _attempt_starts(scenario: Scenario, sal_at: np.ndarray, calendar: WorkCalendar, handle: float) -> np.ndarray:
    """When each attempt of the cadence starts for a lead that is SAL at `sal_at` (k x points).

    The desk's rule: the first attempt falls due at the cadence's first offset after the SAL;
    each follow-up at its offset from the start of the first attempt, and at least
    `sales.sdr.min_gap` after the previous attempt ended; an attempt due outside open hours
    waits for the shift. Handle times are taken at their mean.
    """
    sdr = scenario.sales.sdr
    offsets = list(sdr.attempts)
    min_gap = float(getattr(sdr, "min_gap", 0.0))
    starts = np.empty((len(offsets), len(sal_at)))
    starts[0] = _wait_to_open(calendar, sal_at + offsets[0])
    for k in range(1, len(offsets)):
        due = np.maximum(starts[0] + offsets[k], starts[k - 1] + handle + min_gap)
        starts[k] = _wait_to_open(calendar, due)
    return starts


def _curve_on(curve, delays: np.ndarray) -> np.ndarray:
    """The interest curve at every delay (evaluated once per distinct minute)."""
    finite = np.isfinite(delays)
    minutes = np.where(finite, np.round(delays * 60), 0).astype(np.int64)
    distinct, where = np.unique(minutes, return_inverse=True)
    values = np.array([curve(m / 60) for m in distinct], dtype=np.float64)
    return np.where(finite, values[where].reshape(delays.shape), 0.0)


def _survival(dist: Distribution, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """P(X > t) for a duration distribution: exact for constant and exponential, else by draws."""
    if dist.family == "constant":
        return (t < dist.mean()).astype(np.float64)
    if dist.family == "exponential":
        return np.exp(-np.clip(t, 0, None) / dist.mean())
    draws = np.sort(dist.sample(rng, QUADRATURE_DRAWS))
    return 1.0 - np.searchsorted(draws, np.where(np.isfinite(t), t, np.inf), side="right") / len(draws)


# --- warnings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overload:
    """A resource that cannot keep up (or, as a note, would not if the desk answered at once)."""

    resource: str  # "SDR desk" or "AE pipeline"
    load: float
    message: str
    overloaded: bool = True  # False for a note about a load the run itself does not reach


def overload_warnings(scenario: Scenario, summary: pd.DataFrame | None = None) -> list[Overload]:
    """Warnings for resources whose offered load is at least 1, or whose backlog grew through
    the window of a run (`summary`: metric, mean, ci_low over replications).

    The desk's load is worked out from the scenario; the pipeline's from the SQLs the run sent
    it (`ae_offered_load`) when a summary is given, since how many leads qualify depends on how
    fast the desk answers; without one, from a desk that calls every SAL at once.
    """
    loads = offered_load(scenario)
    rows = summary.set_index("metric") if summary is not None and not summary.empty else None
    grows = _growth(rows, (scenario.horizon - scenario.warmup) / HOURS_PER_WEEK)
    return [*_desk_warnings(loads.desk, grows), *_pipeline_warnings(scenario, loads.pipeline, rows, grows)]


def _desk_warnings(desk: DeskLoad, grows: dict[str, float]) -> list[Overload]:
    if desk.sdrs is None:
        return []
    needed = desk.sdrs_needed
    capacity = (
        f"{desk.sdrs} SDR{'s' if desk.sdrs != 1 else ''} x {desk.open_hours_per_week:,.0f} open hours a week; "
        f"{desk.work_hours_per_week:,.0f} h of calls a week: {desk.sals_per_week:,.1f} SALs x "
        f"{desk.attempts_per_sal:.2f} attempts x {60 * desk.handle_hours:.1f} min"
    )
    if desk.load >= OVERLOADED_AT:
        fix = f"at least {needed} SDRs are needed" if needed else "the SDR calendar has no open hours"
        message = f"SDR desk overloaded: work arrives at {desk.load:.2f}x its capacity ({capacity}); {fix}"
        return [Overload("SDR desk", desk.load, message)]
    if "sal_queue_mean" in grows:
        message = (
            f"SDR desk cannot keep up: the SAL queue grows by {grows['sal_queue_mean']:,.1f} leads a week through "
            f"the window (offered load {desk.load:.2f}x: {capacity}); at least {max(desk.sdrs + 1, needed or 0)} "
            "SDRs are needed"
        )
        return [Overload("SDR desk", desk.load, message)]
    return []


def _pipeline_warnings(
    scenario: Scenario, pipeline: PipelineLoad, rows: pd.DataFrame | None, grows: dict[str, float]
) -> list[Overload]:
    if pipeline.slots is None:
        return []
    ae = scenario.sales.ae
    has_measure = rows is not None and "ae_offered_load" in rows.index
    measured = float(rows["mean"]["ae_offered_load"]) if rows is not None and has_measure else None
    load = pipeline.load if measured is None or not math.isfinite(measured) else measured
    busy = load * pipeline.slots
    sqls_per_week = busy * HOURS_PER_WEEK / pipeline.hold_hours if pipeline.hold_hours > 0 else math.nan
    days = pipeline.hold_hours / 24
    detail = f"{sqls_per_week:,.1f} SQLs a week x {days:,.1f} days in a slot = {busy:,.0f} slots busy"
    needed = math.floor(busy / ae.capacity) + 1
    if load >= OVERLOADED_AT:
        message = (
            f"AE pipeline overloaded: work arrives at {load:.2f}x its {pipeline.slots:,} slots ({detail}); "
            f"at least {needed} AEs at capacity {ae.capacity} are needed"
        )
        return [Overload("AE pipeline", load, message)]
    if "ae_waiting_mean" in grows:
        message = (
            f"AE pipeline cannot keep up: SQLs waiting for an AE grow by {grows['ae_waiting_mean']:,.1f} a week "
            f"through the window (offered load {load:.2f}x of {pipeline.slots:,} slots: {detail}); at least "
            f"{max(int(ae.count) + 1, needed)} AEs at capacity {ae.capacity} are needed"
        )
        return [Overload("AE pipeline", load, message)]
    if measured is not None and pipeline.load >= OVERLOADED_AT:
        message = (
            f"AE pipeline keeps up at {load:.2f}x of its {pipeline.slots:,} slots only because leads wait for the SDR "
            f"desk: called at once they would bring {pipeline.sqls_per_week:,.1f} SQLs a week, "
            f"{pipeline.load:.2f}x its slots; a faster desk needs at least {pipeline.aes_needed} AEs at capacity "
            f"{ae.capacity}"
        )
        return [Overload("AE pipeline", pipeline.load, message, overloaded=False)]
    return []


GROWTH_OF_LEVEL = {"sal_queue_mean": "sal_backlog_growth_per_week", "ae_waiting_mean": "ae_backlog_growth_per_week"}


def _growth(rows: pd.DataFrame | None, window_weeks: float) -> dict[str, float]:
    """Backlogs whose measured growth is significant and material: level metric -> growth a week."""
    if rows is None:
        return {}
    found = {}
    for level, growth in GROWTH_OF_LEVEL.items():
        if level not in rows.index or growth not in rows.index:
            continue
        slope, low = float(rows["mean"][growth]), float(rows["ci_low"][growth])
        rise = slope * window_weeks
        mean_level = float(rows["mean"][level])
        if math.isfinite(low) and low > 0 and rise >= max(MIN_GROWTH, GROWTH_SHARE * mean_level):
            found[level] = slope
    return found
