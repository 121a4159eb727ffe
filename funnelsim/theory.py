"""Closed forms of queueing theory and of the funnel: Erlang C and A queues, calendar delays, survival.

Pure numpy/math. Rates are per hour and times in hours, like the model clock. The validation suite
compares the simulation with these values; the staffing planner's warm start uses the Erlang forms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from funnelsim.scenario.units import HOURS_PER_WEEK

# --- Erlang C: M/M/c ------------------------------------------------------------------------


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of M/M/c/c (the stable recursion B(k) = aB(k-1) / (k + aB(k-1)))."""
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


def erlang_c_wait_probability(servers: int, arrival_rate: float, service_rate: float) -> float:
    """P(an arrival waits) in M/M/c: C(c, a) with a = λ/μ (needs a < c)."""
    load = arrival_rate / service_rate
    if load >= servers:
        raise ValueError(f"M/M/{servers} is unstable at offered load {load:g}")
    blocking = erlang_b(servers, load)
    return servers * blocking / (servers - load * (1.0 - blocking))


def erlang_c_mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue of M/M/c: C(c, a) / (cμ - λ)."""
    chance = erlang_c_wait_probability(servers, arrival_rate, service_rate)
    return chance / (servers * service_rate - arrival_rate)


# --- Erlang A: M/M/c+M ----------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangA:
    """Stationary figures of M/M/c+M from its exact birth-death chain."""

    wait_probability: float  # P(an arrival finds all c reps busy) (PASTA)
    abandon_probability: float  # θ E[Lq] / λ
    mean_wait: float  # E[Lq] / λ: time in queue until contact or abandonment, over all arrivals
    mean_queue: float  # E[Lq]
    truncated_at: int  # states 0..N kept; the tail beyond N is below 1e-16


def erlang_a(servers: int, arrival_rate: float, service_rate: float, abandon_rate: float) -> ErlangA:
    """Solve the chain with births at λ and deaths at min(n, c)μ + max(n - c, 0)θ.

    The chain is truncated where the stationary probability has fallen below 1e-16 of its
    peak and is still falling (deaths outgrow births as soon as nθ > λ).
    """
    if abandon_rate <= 0:
        raise ValueError("Erlang A needs a positive abandonment rate θ; use Erlang C without patience")
    # unnormalised p_n = prod_{k=1..n} λ / death(k), kept in log space against overflow
    log_p = [0.0]
    peak = 0.0
    n = 0
    while True:
        n += 1
        death = min(n, servers) * service_rate + max(n - servers, 0) * abandon_rate
        log_p.append(log_p[-1] + math.log(arrival_rate) - math.log(death))
        peak = max(peak, log_p[-1])
        if death > arrival_rate and log_p[-1] < peak - 37.0:  # e^-37 ≈ 1e-16
            break
        if n > 10_000_000:
            raise ValueError("Erlang A chain did not converge")
    logs = np.asarray(log_p)
    p = np.exp(logs - logs.max())
    p /= p.sum()
    states = np.arange(len(p))
    queue = np.maximum(states - servers, 0)
    mean_queue = float((queue * p).sum())
    return ErlangA(
        wait_probability=float(p[servers:].sum()),
        abandon_probability=abandon_rate * mean_queue / arrival_rate,
        mean_wait=mean_queue / arrival_rate,
        mean_queue=mean_queue,
        truncated_at=len(p) - 1,
    )


# --- response delay set by a weekly calendar ------------------------------------------------


def weekly_closed_gaps(open_intervals: Sequence[tuple[float, float]], period: float = HOURS_PER_WEEK) -> list[float]:
    """Lengths of the closed stretches of a periodic calendar given as [open, close) hours of the week."""
    spans = sorted((float(a) % period, float(a) % period + (float(b) - float(a))) for a, b in open_intervals)
    if not spans:
        raise ValueError("a calendar with no open hours never answers")
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    gaps = [nxt[0] - cur[1] for cur, nxt in pairwise(merged)]
    gaps.append(merged[0][0] + period - merged[-1][1])  # from the week's last closing to its first opening
    return [g for g in gaps if g > 0]


def calendar_delay_share_within(
    open_intervals: Sequence[tuple[float, float]], within_hours: float, period: float = HOURS_PER_WEEK
) -> float:
    """P(delay <= h) when leads arrive uniformly over the week and are answered at the next opening.

    Open time answers at once; a closed gap of length g answers within h the last min(g, h) of it.
    """
    gaps = weekly_closed_gaps(open_intervals, period)
    return (period - sum(gaps) + sum(min(g, within_hours) for g in gaps)) / period


def calendar_mean_delay(open_intervals: Sequence[tuple[float, float]], period: float = HOURS_PER_WEEK) -> float:
    """E[delay] for uniform arrivals answered at the next opening: Σ g² / 2 over the period."""
    return sum(g * g / 2 for g in weekly_closed_gaps(open_intervals, period)) / period


def office_week(days: Sequence[int], hours: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Open intervals in hours of the week (Monday 00:00 = 0) for weekdays 0..6 and daily hours.

    A night shift's closing hour is past 24 (see `Calendar`), so Sunday's runs past the week's end
    (e.g. 166-174): `weekly_closed_gaps` and the fluid warm start read such an interval modulo the week.
    """
    return [(24.0 * d + a, 24.0 * d + b) for d in sorted(days) for a, b in hours]


# --- funnel stages --------------------------------------------------------------------------


def nurture_mql_probability(n_touches: int, engage: float, opt_out: float, engagement_min: int) -> float:
    """P(a lead reaches `engagement_min` engaged touches before it opts out, within n touches).

    Each touch: opt out with `opt_out`; otherwise engage with `engage`. The lead is an MQL at the
    touch of its m-th engagement, so P = Σ_{k=m..n} C(k-1, m-1) (s e)^m (s (1-e))^(k-m), s = 1 - opt_out.
    """
    m = engagement_min
    if m == 0:
        return 1.0
    stay = 1.0 - opt_out
    engaged, idle = stay * engage, stay * (1.0 - engage)
    return sum(math.comb(k - 1, m - 1) * engaged**m * idle ** (k - m) for k in range(m, n_touches + 1))


def reached_within_attempts(reach: float, attempts: int) -> float:
    """P(at least one of `attempts` independent attempts reaches the lead)."""
    return 1.0 - (1.0 - reach) ** attempts


# --- retention ------------------------------------------------------------------------------


def geometric_survival(monthly_hazard: float, months: int | float) -> float:
    """P(a customer still pays after `months` months) with a constant monthly churn hazard."""
    return (1.0 - monthly_hazard) ** months
