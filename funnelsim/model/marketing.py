"""The marketing funnel, drawn in vectorised batches: arrivals by channel, nurture, MQL.

Nothing here contends for a resource, so nothing here goes through the event calendar.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from funnelsim.model.calendar import UTC, clock_zero, to_clock_hours
from funnelsim.model.records import R
from funnelsim.scenario.schema import Profile, Scenario

NURTURE_CHUNK = 200_000  # leads per batch of touch draws, to bound memory


@lru_cache(maxsize=32)
def local_hour_and_weekday(start: dt.date, timezone: str, n_hours: int) -> tuple[np.ndarray, np.ndarray]:
    """For each clock hour bin, the local hour of day and weekday (0 = Monday) at its start."""
    zero = clock_zero(start, timezone)
    zone = ZoneInfo(timezone)

    # The UTC offset changes at most a few times a year: ask for it once a day, and hour by
    # hour only on the days it changes; the rest is integer arithmetic in local minutes.
    def offset_minutes(h: int) -> int:
        offset = (zero + dt.timedelta(hours=h)).astimezone(zone).utcoffset()
        return int(offset.total_seconds()) // 60  # type: ignore[union-attr]

    days = range(0, n_hours + 24, 24)
    at_midnight = [offset_minutes(day) for day in days]
    offsets = np.repeat(np.asarray(at_midnight[:-1], dtype=np.int64), 24)[:n_hours]
    for i, day in enumerate(days[:-1]):
        if at_midnight[i] != at_midnight[i + 1]:
            for h in range(day, min(day + 24, n_hours)):
                offsets[h] = offset_minutes(h)
    epoch_minutes = int((zero - dt.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) // 60
    local_minutes = epoch_minutes + 60 * np.arange(n_hours, dtype=np.int64) + offsets
    hours = (local_minutes // 60 % 24).astype(np.int8)
    weekdays = ((local_minutes // 1440 + 3) % 7).astype(np.int8)  # 1970-01-01 was a Thursday
    hours.flags.writeable = False
    weekdays.flags.writeable = False
    return hours, weekdays


def hourly_rates(profile: Profile, leads_per_week: float, hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Expected leads in each clock hour bin, normalised so a week averages `leads_per_week`."""
    hour_w = np.asarray(profile.hours, dtype=np.float64)
    day_w = np.asarray(profile.days, dtype=np.float64)
    mean_weight = hour_w.sum() * day_w.sum() / 168.0
    return leads_per_week / 168.0 * hour_w[hour] * day_w[weekday] / mean_weight


def draw_arrivals(scenario: Scenario, channel_rngs: list[np.random.Generator]) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times (clock hours, sorted) and channel codes of every lead in the horizon.

    A non-homogeneous Poisson process with an hourly piecewise-constant rate is exactly a
    Poisson count per hour bin placed uniformly inside the bin.
    """
    horizon = scenario.horizon
    n_bins = int(np.ceil(horizon))
    hour, weekday = local_hour_and_weekday(scenario.start, scenario.timezone, n_bins)
    bin_start = np.arange(n_bins, dtype=np.float64)
    times, channels = [], []
    for code, channel in enumerate(scenario.channels.values()):
        channel_rng = channel_rngs[code]
        rates = hourly_rates(scenario.profile(channel.profile), channel.leads_per_week, hour, weekday)
        counts = channel_rng.poisson(rates)
        at = np.repeat(bin_start, counts) + channel_rng.random(int(counts.sum()))
        for burst in channel.bursts:
            begin = to_clock_hours(burst.at, scenario.start, scenario.timezone)
            extra = channel_rng.poisson(burst.extra_leads)
            at = np.concatenate([at, begin + burst.over * channel_rng.random(extra)])
        at = at[(at >= 0) & (at < horizon)]
        times.append(at)
        channels.append(np.full(len(at), code, dtype=np.int16))
    all_times = np.concatenate(times)
    order = np.argsort(all_times, kind="stable")
    return all_times[order], np.concatenate(channels)[order]


def draw_nurture(
    scenario: Scenario, fit: np.ndarray, intent: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run every lead through the touch cadence.

    Returns, per lead, the offset in hours from arrival to MQL or to the end of nurture, the
    engagement reached, and the reason code (-1 for an MQL). At each touch the opt-out chance
    comes first; a lead that stays may engage; it is an MQL as soon as both thresholds hold.
    """
    nurture = scenario.nurture
    rule = nurture.mql
    touches = np.asarray(
        [t for t in nurture.touches if nurture.max_length is None or t <= nurture.max_length], dtype=np.float64
    )
    n, n_touches = len(fit), len(touches)
    offset = np.zeros(n)
    engagement = np.zeros(n, dtype=np.int16)
    reason = np.full(n, -1, dtype=np.int8)
    fits = fit >= rule.fit_min
    if rule.engagement_min == 0:
        reason[~fits] = R["poor_fit"]
        return offset, engagement, reason
    end_of_nurture = touches[-1] if n_touches else 0.0
    for lo in range(0, n, NURTURE_CHUNK):
        hi = min(lo + NURTURE_CHUNK, n)
        size = hi - lo
        if n_touches == 0:
            opt_index = np.full(size, n_touches)
            mql_index = np.full(size, n_touches)
            engaged_total = np.zeros(size, dtype=np.int16)
            cumulative = None
        else:
            opted = rng.random((size, n_touches)) < nurture.opt_out
            engage = nurture.engage * intent[lo:hi, None]  # each lead's chance per touch
            engaged = (rng.random((size, n_touches)) < engage) & ~opted
            cumulative = np.cumsum(engaged, axis=1, dtype=np.int16)
            opt_index = np.where(opted.any(axis=1), opted.argmax(axis=1), n_touches)
            reached = cumulative >= rule.engagement_min
            mql_index = np.where(reached.any(axis=1), reached.argmax(axis=1), n_touches)
            engaged_total = cumulative[:, -1]
        is_mql = fits[lo:hi] & (mql_index < opt_index)
        opted_out = ~is_mql & (opt_index < n_touches)
        chunk_offset = np.full(size, end_of_nurture)
        chunk_offset[is_mql] = touches[mql_index[is_mql]]
        chunk_offset[opted_out] = touches[opt_index[opted_out]]
        chunk_reason = np.where(fits[lo:hi], R["not_engaged"], R["poor_fit"]).astype(np.int8)
        chunk_reason[opted_out] = R["opted_out"]
        chunk_reason[is_mql] = -1
        if cumulative is not None:
            stop = np.minimum(np.where(is_mql, mql_index, opt_index), n_touches - 1)
            engaged_total = np.where(is_mql | opted_out, cumulative[np.arange(size), stop], engaged_total)
        offset[lo:hi] = chunk_offset
        engagement[lo:hi] = engaged_total
        reason[lo:hi] = chunk_reason
    return offset, engagement, reason


__all__ = ["UTC", "draw_arrivals", "draw_nurture", "hourly_rates", "local_hour_and_weekday"]
