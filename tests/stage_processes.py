"""Executable specifications of the vectorised stages: the funnel told lead by lead in SimPy.

Arrivals, nurture, MQL routing, self-serve trials and retention run as numpy batches in
funnelsim/model. Here each stage is a plain SimPy process per lead (or per channel source) that
draws the same random numbers from the same seeded streams, in the same layout, up front; the
stage's story reads top to bottom. tests/test_stage_specs.py proves that the batch code reaches
the same outcome for every lead, bit for bit, so the processes are the specification and the
batches their fast form.

Cohort accounting: leads arrive only before the horizon, and the model runs on until
`run_until(scenario)`, the horizon plus the follow-up period, so the window's leads reach their
outcome; a lead still open then is censored and keeps its in-progress reason. Retention keeps
two books: calendar time up to the horizon, and each customer's first cohort months.

The file runs past 400 lines on purpose: it is one story, every stage in funnel order, read
next to the batches it specifies.

Two conventions keep the clock exact: a process that must be at time `t` waits `t` from the
clock's zero, or a delay from a moment it already stands on (the sum is then the same float
addition the batch does); and where the batch calls a numpy ufunc (log1p, power), the process
calls the same ufunc on its scalars, because numpy's vectorised maths may differ from libm in
the last bit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import simpy

from funnelsim.model import nurture as batch_nurture
from funnelsim.model.calendar import clock_zero, to_clock_hours
from funnelsim.model.decay import interest_curve
from funnelsim.model.records import NO_REASON, Reason
from funnelsim.model.simulate import SALES_DRAWS, seed_streams
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_MONTH

Process = Generator[simpy.Event, object, None]
MQL = NO_REASON  # the nurture outcome of a lead that became marketing-qualified


def run_until(scenario: Scenario) -> float:
    """Where the model stops: no lead arrives after the horizon, outcomes are followed this far."""
    return scenario.horizon + scenario.follow_up_hours


# --- randomness: the replication's streams, as funnelsim.model.simulate lays them out -------


@dataclass
class Streams:
    """The seeded generators the vectorised stages draw from in one replication."""

    channels: list[np.random.Generator]  # one per channel, in scenario order: arrivals, then attributes
    nurture: np.random.Generator
    route: np.random.Generator  # the sales stream's child for MQL routing
    trial: np.random.Generator  # the sales stream's child for trial conversion
    retention: np.random.Generator


def replication_streams(scenario: Scenario, seed: int) -> Streams:
    """Fresh generators of replication `seed`: the root spawns arrivals, nurture, sales, retention."""
    streams = seed_streams(seed)
    channel_seeds = streams["arrivals"].spawn(len(scenario.channels))
    sales = dict(zip(SALES_DRAWS, streams["sales"].spawn(len(SALES_DRAWS))))
    return Streams(
        channels=[np.random.default_rng(s) for s in channel_seeds],
        nurture=np.random.default_rng(streams["nurture"]),
        route=np.random.default_rng(sales["route"]),
        trial=np.random.default_rng(sales["trial"]),
        retention=np.random.default_rng(streams["retention"]),
    )


# --- arrivals: one source process per channel, one process per lead -------------------------


@dataclass
class Arrivals:
    """Every lead that arrived in the horizon, in order of arrival, with its attributes."""

    arrival_at: np.ndarray
    channel: np.ndarray
    fit: np.ndarray
    deal_mrr: np.ndarray
    intent: np.ndarray


def local_hour_and_weekday(scenario: Scenario, clock_hour: int) -> tuple[int, int]:
    """The local hour of day and weekday (0 = Monday) at the start of a clock hour, daylight saving included."""
    zero = clock_zero(scenario.start, scenario.timezone)
    local = (zero + dt.timedelta(hours=clock_hour)).astimezone(ZoneInfo(scenario.timezone))
    return local.hour, local.weekday()


def lead_arrives(env: simpy.Environment, delay: float, arrive: Callable[[float], None]) -> Process:
    """A lead turns up `delay` hours from now and is captured."""
    yield env.timeout(delay)
    arrive(env.now)


def channel_source(
    env: simpy.Environment, hourly_counts: Iterable[int], moments_in_hour: Iterable[float], arrive: Callable
) -> Process:
    """A channel's steady flow: each clock hour, that hour's Poisson count of leads each arrive at a uniform moment."""
    moments = iter(moments_in_hour)
    for count in hourly_counts:
        for _ in range(count):
            env.process(lead_arrives(env, next(moments), arrive))
        yield env.timeout(1.0)  # the next clock hour


def campaign_burst(
    env: simpy.Environment, begin: float, over: float, moments: Iterable[float], arrive: Callable
) -> Process:
    """A dated campaign: its extra leads land uniformly over [begin, begin + over)."""
    if begin >= 0:
        yield env.timeout(begin)  # the campaign starts
        for u in moments:
            env.process(lead_arrives(env, over * u, arrive))
    else:  # it started before the clock's zero: only its leads from zero on are seen
        for u in moments:
            at = begin + over * u
            if at >= 0:
                env.process(lead_arrives(env, at, arrive))


def arrivals_spec(scenario: Scenario, streams: Streams) -> Arrivals:
    """Run every channel's sources up to the horizon; then each lead takes its attributes."""
    n_hours = int(np.ceil(scenario.horizon))
    local = [local_hour_and_weekday(scenario, h) for h in range(n_hours)]
    env = simpy.Environment()
    arrived: list[tuple[float, int]] = []
    for code, channel in enumerate(scenario.channels.values()):
        rng = streams.channels[code]
        profile = scenario.profile(channel.profile)
        # the profile is normalised so a week averages leads_per_week (summed as numpy sums)
        mean_weight = np.sum(profile.hours) * np.sum(profile.days) / 168.0
        rates = [
            channel.leads_per_week / 168.0 * profile.hours[hour] * profile.days[day] / mean_weight
            for hour, day in local
        ]
        # drawn up front, in the batch's layout: all hourly counts, then all moments in the hour,
        # then per burst its count and its moments
        hourly_counts = rng.poisson(rates)
        moments_in_hour = rng.random(int(hourly_counts.sum()))

        def arrive(at: float, code: int = code) -> None:
            arrived.append((at, code))

        env.process(channel_source(env, hourly_counts, moments_in_hour, arrive))
        for burst in channel.bursts:
            extra = rng.poisson(burst.extra_leads)
            moments = rng.random(extra)
            begin = to_clock_hours(burst.at, scenario.start, scenario.timezone)
            env.process(campaign_burst(env, begin, burst.over, moments, arrive))
    env.run(until=scenario.horizon)  # a lead due at the horizon or later never arrives

    arrival_at = np.array([at for at, _ in arrived], dtype=np.float64)
    channel_code = np.array([code for _, code in arrived], dtype=np.int16)
    fit, deal_mrr, intent = (np.full(len(arrived), np.nan) for _ in range(3))
    for code, channel in enumerate(scenario.channels.values()):
        # a channel's leads, in the order they arrived, take fit, deal size and intent from its stream
        mine = np.flatnonzero(channel_code == code)
        rng = streams.channels[code]
        fit[mine] = channel.fit.sample(rng, len(mine))
        deal_mrr[mine] = (channel.deal_mrr or scenario.sales.deal_mrr).sample(rng, len(mine))
        intent[mine] = channel.intent.sample(rng, len(mine))
    return Arrivals(arrival_at, channel_code, fit, deal_mrr, intent)


# --- nurture: one process per lead through the touch cadence --------------------------------


@dataclass
class Nurture:
    """How each lead left nurture: MQL time, engagement, and for the others their reason and end."""

    is_mql: np.ndarray
    mql_at: np.ndarray  # every MQL's moment before the end of the run (a later one is still in nurture)
    engagement: np.ndarray  # engaged touches up to the lead's end, also touches past the end of the run
    reason: np.ndarray  # in_nurture (censored) for a lead whose nurture ends at the end of the run or later
    ended_at: np.ndarray


def nurtured_lead(
    env: simpy.Environment,
    arrival_at: float,
    fits: bool,
    engage_chance: float,
    opt_draws: np.ndarray,
    engage_draws: np.ndarray,
    scenario: Scenario,
    cadence: list[float],
    leave: Callable[[int, float, int], None],
) -> Process:
    """A lead arrives and is enrolled in the cadence; at each touch it may opt out, or else engage;
    it is an MQL as soon as it fits and has engaged often enough; otherwise nurture runs out."""
    nurture = scenario.nurture
    yield env.timeout(arrival_at)
    if nurture.mql.engagement_min == 0:  # no engagement asked for: fit alone decides, on arrival
        leave(MQL if fits else Reason.POOR_FIT, env.now, 0)
        return
    touches = [env.timeout(offset) for offset in cadence]  # booked from the moment of arrival
    engagement = 0
    for k, touch in enumerate(touches):
        yield touch
        if opt_draws[k] < nurture.opt_out:
            leave(Reason.OPTED_OUT, env.now, engagement)
            return
        if engage_draws[k] < engage_chance:
            engagement += 1
            if fits and engagement >= nurture.mql.engagement_min:
                leave(MQL, env.now, engagement)
                return
    # the cadence ran out (a poor-fit lead always gets here unless it opted out)
    leave(Reason.NOT_ENGAGED if fits else Reason.POOR_FIT, env.now, engagement)


def nurture_spec(scenario: Scenario, arrivals: Arrivals, until: float, rng: np.random.Generator) -> Nurture:
    """Nurture every lead to its end; the end of the run, `until`, only decides which ends are in the books."""
    nurture = scenario.nurture
    cadence = [t for t in nurture.touches if nurture.max_length is None or t <= nurture.max_length]
    n, n_touches = len(arrivals.arrival_at), len(cadence)
    # drawn up front, in the batch's layout: per chunk of leads, an opt-out draw for every
    # (lead, touch), then an engage draw for every (lead, touch)
    opt_draws, engage_draws = np.ones((n, n_touches)), np.ones((n, n_touches))
    if nurture.mql.engagement_min > 0 and n_touches > 0:
        chunk = batch_nurture.NURTURE_CHUNK
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            opt_draws[lo:hi] = rng.random((hi - lo, n_touches))
            engage_draws[lo:hi] = rng.random((hi - lo, n_touches))

    outcome = np.zeros(n, dtype=np.int8)
    ended = np.full(n, np.nan)
    engagement = np.zeros(n, dtype=np.int16)
    env = simpy.Environment()
    for lead in range(n):

        def leave(reason: int, at: float, engaged: int, lead: int = lead) -> None:
            outcome[lead], ended[lead], engagement[lead] = reason, at, engaged

        fits = bool(arrivals.fit[lead] >= nurture.mql.fit_min)
        engage_chance = nurture.engage * arrivals.intent[lead]  # intent scales each touch's chance
        env.process(
            nurtured_lead(
                env,
                arrivals.arrival_at[lead],
                fits,
                engage_chance,
                opt_draws[lead],
                engage_draws[lead],
                scenario,
                cadence,
                leave,
            )
        )
    env.run()

    is_mql = outcome == MQL
    in_books = ~is_mql & (ended < until)
    return Nurture(
        is_mql=is_mql,
        mql_at=np.where(is_mql & (ended < until), ended, np.nan),
        engagement=engagement,
        reason=np.where(in_books, outcome, Reason.IN_NURTURE).astype(np.int8),
        ended_at=np.where(in_books, ended, np.nan),
    )


# --- routing: one process per MQL -------------------------------------------------------------


@dataclass
class Routing:
    """Where each MQL went: a trial, the SAL queue (in order of joining), or rejected by sales."""

    trial: np.ndarray
    sal_at: np.ndarray
    sal_queue: np.ndarray  # lead indices in the order they joined the SAL queue
    rejected: np.ndarray  # lead indices rejected by sales, in lead order
    trial_leads: np.ndarray  # lead indices that took a trial (in lead order)


def routed_mql(
    env: simpy.Environment,
    lead: int,
    mql_at: float,
    trial_draw: float,
    accept_draw: float,
    scenario: Scenario,
    out: Routing,
    rejected: list[int],
    sal_queue: list[int],
) -> Process:
    """An MQL may take a self-serve trial; sales accepts it or not. An accepted lead joins the SAL
    queue at once unless it is on a trial that reps do not work; a lead neither on a trial nor
    accepted is rejected."""
    self_serve = scenario.self_serve
    yield env.timeout(mql_at)
    takes_trial = trial_draw < self_serve.trial
    accepted = accept_draw < scenario.sales.accept
    out.trial[lead] = takes_trial
    if not takes_trial and not accepted:
        rejected.append(lead)
    elif accepted and (not takes_trial or self_serve.reps_work_trials):
        out.sal_at[lead] = env.now
        sal_queue.append(lead)
    # else: a trial no rep works waits for its trial to end


def routing_spec(scenario: Scenario, nurture: Nurture, until: float, rng: np.random.Generator) -> Routing:
    """Route the MQLs of the run, in lead order for the draws, each at its MQL moment: also those
    of the follow-up after the horizon, but none at the end of the run, `until`, or later."""
    n = len(nurture.mql_at)
    mqls = np.flatnonzero(nurture.is_mql & (nurture.mql_at < until))
    draws = rng.random((len(mqls), 2))  # per MQL: the trial draw, then the acceptance draw
    out = Routing(np.zeros(n, dtype=bool), np.full(n, np.nan), np.array([]), np.array([]), np.array([]))
    rejected: list[int] = []
    sal_queue: list[int] = []
    env = simpy.Environment()
    for i, lead in enumerate(mqls):
        trial_draw, accept_draw = draws[i]
        env.process(
            routed_mql(
                env, int(lead), nurture.mql_at[lead], trial_draw, accept_draw, scenario, out, rejected, sal_queue
            )
        )
    env.run()
    out.rejected = np.sort(np.array(rejected, dtype=np.int64))
    out.sal_queue = np.array(sal_queue, dtype=np.int64)
    out.trial_leads = np.flatnonzero(out.trial)
    return out


# --- trials: one process per trial lead -------------------------------------------------------


@dataclass
class Trials:
    """Each trial lead's reason and end (NaN while the trial runs at the end of the run: censored)."""

    leads: np.ndarray
    reason: np.ndarray
    ended_at: np.ndarray


def self_serve_trial(
    env: simpy.Environment,
    mql_at: float,
    reached_at: float,
    convert_draw: float,
    scenario: Scenario,
    finish: Callable[[int, float], None],
) -> Process:
    """A trial starts at MQL and runs its length; at its end the user buys with the self-serve
    chance, or, if a rep reached the user during the trial, at assisted_uplift times that
    (faded by the decay curve at the reach, slowed by the automated touch), capped at 1."""
    self_serve, sales = scenario.self_serve, scenario.sales
    yield env.timeout(mql_at)
    yield env.timeout(self_serve.trial_length)  # the trial runs
    worked = reached_at <= env.now  # NaN (never reached) is never in time
    chance = self_serve.convert
    if worked:
        slow = 1.0 / sales.auto_touch.decay_slowdown if sales.auto_touch.enabled else 1.0
        delay = (reached_at - mql_at) * slow
        chance = min(1.0, self_serve.convert * sales.assisted_uplift * interest_curve(sales.decay)(delay))
    if convert_draw < chance:
        finish(Reason.ASSISTED_TRIAL if worked else Reason.SELF_SERVE, env.now)
    else:
        finish(Reason.TRIAL_EXPIRED, env.now)


def trials_spec(
    scenario: Scenario,
    trial_leads: np.ndarray,
    mql_at: np.ndarray,
    reached_at: np.ndarray,
    until: float,
    rng: np.random.Generator,
) -> Trials:
    """Run every trial to the end of the run, `until`; `reached_at` is when the desk's rep first
    reached each lead."""
    draws = rng.random(len(trial_leads))  # one conversion draw per trial lead, in lead order
    reason = np.full(len(trial_leads), Reason.IN_TRIAL, dtype=np.int8)
    ended_at = np.full(len(trial_leads), np.nan)
    env = simpy.Environment()
    for i, lead in enumerate(trial_leads):

        def finish(code: int, at: float, i: int = i) -> None:
            reason[i], ended_at[i] = code, at

        env.process(self_serve_trial(env, mql_at[lead], reached_at[lead], draws[i], scenario, finish))
    env.run(until=until)  # a trial ending at the end of the run or later is still running
    return Trials(trial_leads, reason, ended_at)


# --- retention: one process per customer ------------------------------------------------------


@dataclass
class Retention:
    """Per customer, in calendar time up to the horizon: churn moment (NaN if still a customer
    there, or won after it), months billed, revenue, MRR at the horizon; and cohort revenue,
    what it billed in its first `retention.cohort_months` months."""

    churned_at: np.ndarray
    months_billed: np.ndarray
    revenue: np.ndarray
    mrr_at_horizon: np.ndarray
    cohort_revenue: np.ndarray


def paying_customer(
    env: simpy.Environment,
    customer_at: float,
    fit: float,
    mrr: float,
    churn_draw: float,
    scenario: Scenario,
    books: Callable[[float, int, float, float, float], None],
) -> Process:
    """A customer pays at the start of each month; at each month's end it churns once its survival
    falls to its churn draw; MRR grows by the expansion, compounded monthly. Two books: the
    calendar books close at the horizon and take the bills of the months that start by then (none
    for a customer won after it); the cohort books take the bills of its first cohort months,
    wherever they fall. Month boundaries are computed from `customer_at`, as the books keep them."""
    retention, horizon = scenario.retention, scenario.horizon
    factor = retention.poor_fit_churn_factor if fit < retention.poor_fit_below else 1.0
    hazard = min(max(retention.monthly_churn * factor, 0.0), 1.0)  # monthly churn chance
    # survival after k months is (1 - hazard)^k: it falls to 1 - churn_draw after this many months
    with np.errstate(divide="ignore"):  # a hazard of 1: log1p(-1) is -inf, and it churns after one month
        months_to_churn = np.log1p(-churn_draw) / np.log1p(-hazard) if hazard > 0 else np.inf
    # months starting by the horizon: none for a customer won after it
    months_in_books = np.floor((horizon - customer_at) / HOURS_PER_MONTH) + 1 if customer_at < horizon else 0
    growth = (1.0 + retention.expansion_per_year) ** (1 / 12)
    yield env.timeout(customer_at)
    paid, revenue, cohort_revenue, mrr_now, churned_at = 0, 0.0, 0.0, 0.0, np.nan
    while paid < months_in_books or paid < retention.cohort_months:  # a book is still open
        bill = mrr * np.power(growth, paid)  # the month's bill
        if paid < months_in_books:
            revenue += bill
            mrr_now = bill
        if paid < retention.cohort_months:
            cohort_revenue += bill
        paid += 1
        yield env.timeout(HOURS_PER_MONTH)  # the month of service
        if paid >= months_to_churn:
            leaves_at = customer_at + paid * HOURS_PER_MONTH
            if leaves_at <= horizon:  # it leaves after the horizon: a customer still when the books close
                churned_at = leaves_at
            break
    # MRR at the horizon: a customer won before it and still there (one won exactly at the
    # horizon pays its first bill there, but is not counted at it: see the test file)
    there = np.isnan(churned_at) and customer_at < horizon
    books(churned_at, int(min(paid, months_in_books)), revenue, mrr_now if there else 0.0, cohort_revenue)


def retention_spec(
    scenario: Scenario, customer_at: np.ndarray, fit: np.ndarray, mrr: np.ndarray, rng: np.random.Generator
) -> Retention:
    """Bill every customer (given in lead order) month by month until both its books are closed."""
    n = len(customer_at)
    draws = rng.random(n)  # one churn draw per customer
    out = Retention(np.full(n, np.nan), np.zeros(n, dtype=np.int32), np.zeros(n), np.zeros(n), np.zeros(n))
    env = simpy.Environment()
    for i in range(n):

        def books(churned_at: float, months: int, revenue: float, mrr_now: float, cohort: float, i: int = i) -> None:
            out.churned_at[i], out.months_billed[i], out.revenue[i] = churned_at, months, revenue
            out.mrr_at_horizon[i], out.cohort_revenue[i] = mrr_now, cohort

        env.process(paying_customer(env, customer_at[i], fit[i], mrr[i], draws[i], scenario, books))
    env.run()
    return out
