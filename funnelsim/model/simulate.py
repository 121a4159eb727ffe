"""One replication of one scenario: `simulate(scenario, seed) -> Records`.

Randomness: the seed's SeedSequence spawns one stream per source (arrivals, nurture, sales,
retention), and arrivals one per channel, so the same seed shares arrivals across scenarios.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.decay import interest_curve
from funnelsim.model.marketing import draw_arrivals, draw_nurture
from funnelsim.model.records import R, Records, empty_columns
from funnelsim.model.retention import draw_retention
from funnelsim.model.sales import SalesDesk, SalesLeads
from funnelsim.scenario.schema import FitChance, Scenario

SeedLike = int | np.random.SeedSequence

STREAMS = ("arrivals", "nurture", "sales", "retention")
SALES_DRAWS = ("route", "patience", "handle", "reach", "qualify", "cycle", "win", "trial")


def seed_streams(seed: SeedLike) -> dict[str, np.random.SeedSequence]:
    """The independent child sequences of one replication."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return dict(zip(STREAMS, root.spawn(len(STREAMS))))


def fit_effect(chance: FitChance, fit: np.ndarray) -> np.ndarray:
    """chance x ((1 - w) + w x fit): the chance for each lead given its ICP fit."""
    return chance.chance * ((1.0 - chance.fit_weight) + chance.fit_weight * fit)


def simulate(scenario: Scenario, seed: SeedLike = 0) -> Records:
    """Run one replication of `scenario` and return its columnar records.

    Leads arrive until the horizon; the model then runs on for the follow-up period, so the
    leads of the window reach their outcome (cohort accounting). A lead still open at the end
    of the follow-up is censored: its reason says which stage it is in."""
    streams = seed_streams(seed)
    horizon, sales = scenario.horizon, scenario.sales
    until = horizon + scenario.follow_up_hours
    leads = _arrive(scenario, streams["arrivals"])
    mql = _nurture(scenario, leads, until, np.random.default_rng(streams["nurture"]))
    sales_seeds = dict(zip(SALES_DRAWS, streams["sales"].spawn(len(SALES_DRAWS))))
    draw = {k: np.random.default_rng(s) for k, s in sales_seeds.items()}
    to_sales, trial_leads = _route_mqls(scenario, leads, mql, draw["route"])
    del mql
    calendars = {name: _calendar(scenario, name, until) for name in {sales.sdr.calendar, sales.ae.calendar}}
    desk_events = _run_sales_desk(scenario, leads, to_sales, draw, calendars, until)
    _resolve_trials(scenario, leads, trial_leads, until, draw["trial"])

    # customers: won deals and converted trials
    won = leads["reason"] == R["assisted"]
    leads["customer_at"][won] = leads["closed_at"][won]
    converted = np.isin(leads["reason"], (R["self_serve"], R["assisted_trial"]))
    leads["customer_at"][converted] = leads["ended_at"][converted]
    customers = np.flatnonzero(won | converted)
    kept = draw_retention(
        scenario.retention,
        leads["customer_at"][customers],
        leads["fit"][customers],
        leads["deal_mrr"][customers],
        horizon,
        np.random.default_rng(streams["retention"]),
        scenario.retention.cohort_months,
    )
    for name, values in kept.items():
        leads[name][customers] = values

    return Records(
        leads=leads,
        attempt_start=desk_events["attempt_start"],
        attempt_end=desk_events["attempt_end"],
        attempt_sdr=desk_events["attempt_sdr"],
        attempt_lead=desk_events["attempt_lead"],
        channel_names=tuple(scenario.channels),
        horizon_hours=horizon,
        warmup_hours=scenario.warmup,
        until_hours=until,
        sdr_count=sales.sdr.count if isinstance(sales.sdr.count, int) else None,
        ae_slots=sales.ae.count * sales.ae.capacity if isinstance(sales.ae.count, int) else None,
        sdr_open_hours=calendars[sales.sdr.calendar].open_hours(scenario.warmup, horizon),
        events=int(desk_events["events"]),
    )


def _arrive(scenario: Scenario, seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Arrivals and lead attributes, each channel from its own stream; the per-lead columns."""
    channel_rngs = [np.random.default_rng(s) for s in seed.spawn(len(scenario.channels))]
    arrival_at, channel = draw_arrivals(scenario, channel_rngs)
    leads = empty_columns(len(arrival_at), arrival_at=arrival_at, channel=channel)
    for code, spec in enumerate(scenario.channels.values()):
        mine = np.flatnonzero(channel == code)
        rng = channel_rngs[code]
        leads["fit"][mine] = spec.fit.sample(rng, len(mine))
        leads["deal_mrr"][mine] = (spec.deal_mrr or scenario.sales.deal_mrr).sample(rng, len(mine))
        leads["intent"][mine] = spec.intent.sample(rng, len(mine))
    return leads


def _nurture(scenario: Scenario, leads: dict[str, np.ndarray], until: float, rng: np.random.Generator) -> np.ndarray:
    """Nurture every lead; record those that end it before `until`; return the MQLs (indices)."""
    offset, engagement, reason = draw_nurture(scenario, leads["fit"], leads["intent"], rng)
    leads["engagement"] = engagement
    ended = leads["arrival_at"] + offset
    del offset
    in_horizon = ended < until
    is_mql = reason < 0
    leads["mql_at"][is_mql & in_horizon] = ended[is_mql & in_horizon]  # later ones are still in nurture
    finished = ~is_mql & in_horizon
    leads["reason"][:] = R["in_nurture"]
    leads["reason"][finished] = reason[finished]
    leads["ended_at"][finished] = ended[finished]
    return np.flatnonzero(is_mql & in_horizon)


def _route_mqls(
    scenario: Scenario, leads: dict[str, np.ndarray], mql: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The MQL splits: self-serve trial, rejected by sales, or the SAL queue (in SAL order)."""
    self_serve, sales = scenario.self_serve, scenario.sales
    route_u = rng.random((len(mql), 2))
    trial = route_u[:, 0] < self_serve.trial
    accepted = route_u[:, 1] < sales.accept
    del route_u
    leads["trial"][mql] = trial
    rejected = mql[~trial & ~accepted]
    leads["reason"][rejected] = R["rejected_by_sales"]
    leads["ended_at"][rejected] = leads["mql_at"][rejected]
    to_sales = mql[accepted & (~trial | self_serve.reps_work_trials)]
    to_sales = to_sales[np.argsort(leads["mql_at"][to_sales], kind="stable")]  # the desk works in SAL order
    leads["sal_at"][to_sales] = leads["mql_at"][to_sales]
    return to_sales, mql[trial]


def _calendar(scenario: Scenario, name: str, until: float) -> WorkCalendar:
    return WorkCalendar.build(scenario.calendar(name), scenario.start, scenario.timezone, until)


def _run_sales_desk(
    scenario: Scenario,
    leads: dict[str, np.ndarray],
    to_sales: np.ndarray,
    draw: dict[str, np.random.Generator],
    calendars: dict[str, WorkCalendar],
    until: float,
) -> dict[str, Any]:
    """Draw every sales-stage random number per lead, run the desk, write results back."""
    sales = scenario.sales
    m, n_attempts = len(to_sales), len(sales.sdr.attempts)
    sal_at = leads["sal_at"][to_sales]
    fit = leads["fit"][to_sales]
    trial = leads["trial"][to_sales]
    patience = sales.patience.sample(draw["patience"], m) if sales.patience is not None else np.full(m, np.inf)
    trial_end = np.where(trial, sal_at + scenario.self_serve.trial_length, np.inf)
    abandon_at = np.where(trial, trial_end, sal_at + patience)
    del patience, trial_end
    inputs = SalesLeads(
        sal_at=sal_at,
        fit=fit,
        channel=leads["channel"][to_sales],
        trial=trial,
        abandon_at=abandon_at,
        qualify_chance=fit_effect(sales.qualify, fit),
        win_chance=fit_effect(sales.ae.win, fit),
        handle_hours=sales.sdr.handle_time.sample(draw["handle"], m * n_attempts),
        reach_draw=draw["reach"].random(m * n_attempts),
        qualify_draw=draw["qualify"].random(m),
        win_draw=draw["win"].random(m),
        cycle_hours=sales.ae.cycle.sample(draw["cycle"], m),
    )
    desk = SalesDesk(
        inputs,
        channel_names=tuple(scenario.channels),
        attempt_offsets=sales.sdr.attempts,
        sdr_count=sales.sdr.count if isinstance(sales.sdr.count, int) else None,
        sdr_calendar=calendars[sales.sdr.calendar],
        discipline=sales.queue,
        routing=sales.routing,
        sla_hours=sales.sla,
        reach=sales.sdr.reach,
        interest=_interest(scenario),
        decay_slowdown=sales.auto_touch.decay_slowdown if sales.auto_touch.enabled else 1.0,
        ae_slots=sales.ae.count * sales.ae.capacity if isinstance(sales.ae.count, int) else None,
        ae_calendar=calendars[sales.ae.calendar],
        horizon_hours=until,
        min_gap_hours=sales.sdr.min_gap,
    )
    out = desk.run()
    for name in ("first_contact_at", "reached_at", "sql_at", "ae_slot_at", "opportunity_at", "closed_at", "ended_at"):
        leads[name][to_sales] = getattr(out, name)
    leads["attempts"][to_sales] = out.attempts
    leads["sdr"][to_sales] = out.sdr
    resolved = out.reason >= 0
    leads["reason"][to_sales[resolved]] = out.reason[resolved]
    return {
        "attempt_start": out.attempt_start,
        "attempt_end": out.attempt_end,
        "attempt_sdr": out.attempt_sdr,
        "attempt_lead": to_sales[out.attempt_lead],
        "events": desk.events_scheduled,
    }


def _interest(scenario: Scenario):
    return interest_curve(scenario.sales.decay)


def _resolve_trials(
    scenario: Scenario, leads: dict[str, np.ndarray], trial_leads: np.ndarray, until: float, rng: np.random.Generator
) -> None:
    """A trial converts at its end: on its own, or at `assisted_uplift` times that if a rep reached it."""
    self_serve, sales = scenario.self_serve, scenario.sales
    ends = leads["mql_at"][trial_leads] + self_serve.trial_length
    reached = leads["reached_at"][trial_leads]
    worked = reached <= ends  # False for NaN
    interest = _interest(scenario)
    slow = 1.0 / sales.auto_touch.decay_slowdown if sales.auto_touch.enabled else 1.0
    chance = np.full(len(trial_leads), self_serve.convert)
    for i in np.flatnonzero(worked):
        delay = (reached[i] - leads["mql_at"][trial_leads[i]]) * slow
        chance[i] = min(1.0, self_serve.convert * sales.assisted_uplift * interest(delay))
    converts = rng.random(len(trial_leads)) < chance
    reason = np.where(converts, np.where(worked, R["assisted_trial"], R["self_serve"]), R["trial_expired"])
    reason = np.where(ends < until, reason, R["in_trial"]).astype(np.int8)
    leads["reason"][trial_leads] = reason
    leads["ended_at"][trial_leads] = np.where(ends < until, ends, np.nan)
