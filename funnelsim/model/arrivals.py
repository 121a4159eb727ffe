"""Demand generation: leads arriving per channel, with their attributes, in vectorised batches.

Each channel is a Poisson process whose rate follows its daily and weekly profile, plus its
campaign bursts; nothing here contends for a resource, so nothing goes through the event calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from funnelsim.model.calendar import UTC, clock_zero, to_clock_hours
from funnelsim.model.records import LeadColumns
from funnelsim.scenario.schema import Profile, Scenario
from funnelsim.scenario.units import HOURS_PER_WEEK


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
    return _weighted_rates(profile.hours, profile.days, leads_per_week, hour, weekday)


def _weighted_rates(
    hours: Sequence[float], days: Sequence[float], leads_per_week: float, hour: np.ndarray, weekday: np.ndarray
) -> np.ndarray:
    hour_w = np.asarray(hours, dtype=np.float64)
    day_w = np.asarray(days, dtype=np.float64)
    mean_weight = hour_w.sum() * day_w.sum() / HOURS_PER_WEEK
    return leads_per_week / HOURS_PER_WEEK * hour_w[hour] * day_w[weekday] / mean_weight


@lru_cache(maxsize=64)
def _channel_rates(
    hours: tuple[float, ...], days: tuple[float, ...], leads_per_week: float, start: dt.date, timezone: str, n_bins: int
) -> np.ndarray:
    """`hourly_rates` of one channel's profile and rate on a clock, once for every replication (read-only)."""
    hour, weekday = local_hour_and_weekday(start, timezone, n_bins)
    rates = _weighted_rates(hours, days, leads_per_week, hour, weekday)
    rates.flags.writeable = False
    return rates


def draw_arrivals(scenario: Scenario, channel_rngs: list[np.random.Generator]) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times (clock hours, sorted) and channel codes of every lead in the horizon.

    A non-homogeneous Poisson process with an hourly piecewise-constant rate is exactly a
    Poisson count per hour bin placed uniformly inside the bin.
    """
    horizon = scenario.horizon
    n_bins = int(np.ceil(horizon))
    bin_start = np.arange(n_bins, dtype=np.float64)
    times, channels = [], []
    for code, channel in enumerate(scenario.channels.values()):
        channel_rng = channel_rngs[code]
        profile = scenario.profile(channel.profile)
        rates = _channel_rates(
            tuple(profile.hours), tuple(profile.days), channel.leads_per_week, scenario.start, scenario.timezone, n_bins
        )
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


def arrive(scenario: Scenario, seed: np.random.SeedSequence) -> LeadColumns:
    """Arrivals and lead attributes, each channel from its own stream; the per-lead columns."""
    channel_rngs = [np.random.default_rng(s) for s in seed.spawn(len(scenario.channels))]
    arrival_at, channel = draw_arrivals(scenario, channel_rngs)
    leads = LeadColumns.empty(len(arrival_at), arrival_at=arrival_at, channel=channel)
    for code, spec in enumerate(scenario.channels.values()):
        mine = np.flatnonzero(channel == code)
        rng = channel_rngs[code]
        leads.fit[mine] = spec.fit.sample(rng, len(mine))
        leads.deal_mrr[mine] = (spec.deal_mrr or scenario.sales.deal_mrr).sample(rng, len(mine))
        leads.intent[mine] = spec.intent.sample(rng, len(mine))
    return leads
