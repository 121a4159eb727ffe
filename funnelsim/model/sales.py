"""The sales funnel on SimPy's event calendar: SAL queue, SDR shifts, follow-ups, AE pipeline.

Only what contends for reps goes through the calendar. Every random number a lead needs
(handle times, reach and qualification draws, patience, cycle length) is drawn beforehand per
lead, so two policies compared with one seed differ only in who is served when.

Order of events at the same instant (fixed, so results never depend on insertion accidents):
1. reps finishing an attempt and reps coming on shift (URGENT), in the order scheduled;
2. MQLs entering the SAL queue, follow-ups falling due, AE deals closing (NORMAL), in order.
So a rep that finishes at 10:00 is free before a lead arriving at 10:00 is assigned.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from heapq import heappush

import simpy
from simpy.core import NORMAL, URGENT
from simpy.events import Event

from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.records import R

INF = math.inf
UNRESOLVED = -1


@dataclass
class SalesLeads:
    """Per-lead inputs of the sales stage (index = position in SAL order), as Python lists."""

    sal_at: list[float]
    fit: list[float]
    trial: list[bool]
    abandon_at: list[float]  # patience, or the trial's end for a trial lead; inf if never
    qualify_chance: list[float]  # for a perfect response: chance x fit effect
    win_chance: list[float]
    handle_hours: list[float]  # flattened [lead * attempts + k]
    reach_draw: list[float]  # flattened like handle_hours
    qualify_draw: list[float]
    win_draw: list[float]
    cycle_hours: list[float]


class SalesOutcome:
    """Per-lead results of the sales stage, filled in as the replication runs."""

    def __init__(self, m: int) -> None:
        nan = math.nan
        self.first_contact_at = [nan] * m
        self.attempts = [0] * m
        self.sdr = [-1] * m
        self.reached_at = [nan] * m
        self.sql_at = [nan] * m
        self.opportunity_at = [nan] * m
        self.closed_at = [nan] * m
        self.reason = [UNRESOLVED] * m
        self.ended_at = [nan] * m
        self.attempt_start: list[float] = []
        self.attempt_end: list[float] = []
        self.attempt_sdr: list[int] = []


def interest_curve(half_life_hours: float | None, table: Sequence[tuple[float, float]] | None) -> Callable[[float], float]:
    """The decay curve: share of a lead's interest left after `delay` hours (1.0 at zero)."""
    if half_life_hours is not None:
        rate = math.log(2) / half_life_hours
        return lambda delay: math.exp(-rate * delay)
    if table:
        delays = [float(d) for d, _ in table]
        factors = [float(f) for _, f in table]
        if delays[0] > 0:
            delays.insert(0, 0.0)
            factors.insert(0, 1.0)

        def from_table(delay: float) -> float:
            if delay >= delays[-1]:
                return factors[-1]
            i = _bisect(delays, delay)
            d0, d1 = delays[i - 1], delays[i]
            return factors[i - 1] + (factors[i] - factors[i - 1]) * (delay - d0) / (d1 - d0)

        return from_table
    return lambda delay: 1.0


def _bisect(values: list[float], x: float) -> int:
    from bisect import bisect_right

    return bisect_right(values, x)


# --- queue disciplines --------------------------------------------------------------------


class FifoQueue:
    """Oldest ready lead first."""

    def __init__(self) -> None:
        self.leads: deque[int] = deque()
        self.idle_reps: deque[tuple[int, Event]] = deque()

    def push(self, lead: int, first_attempt: bool) -> None:
        self.leads.append(lead)

    def pop(self, now: float) -> int:
        return self.leads.popleft() if self.leads else -1

    def __len__(self) -> int:
        return len(self.leads)


class LifoQueue(FifoQueue):
    """Newest ready lead first."""

    def pop(self, now: float) -> int:
        return self.leads.pop() if self.leads else -1


class ScoreQueue(FifoQueue):
    """Best-fit lead first; ties go to the oldest."""

    def __init__(self, fit: list[float]) -> None:
        super().__init__()
        self.fit = fit
        self.heap: list[tuple[float, int, int]] = []
        self.seq = 0

    def push(self, lead: int, first_attempt: bool) -> None:
        self.seq += 1
        heappush(self.heap, (-self.fit[lead], self.seq, lead))

    def pop(self, now: float) -> int:
        return heapq.heappop(self.heap)[2] if self.heap else -1

    def __len__(self) -> int:
        return len(self.heap)


class SlaQueue(FifoQueue):
    """First contacts still inside the SLA first (oldest first: earliest deadline); then the rest."""

    def __init__(self, sal_at: list[float], sla_hours: float) -> None:
        super().__init__()
        self.sal_at = sal_at
        self.sla_hours = sla_hours
        self.breached: deque[int] = deque()

    def push(self, lead: int, first_attempt: bool) -> None:
        (self.leads if first_attempt else self.breached).append(lead)

    def pop(self, now: float) -> int:
        inside, breached, sal_at, sla = self.leads, self.breached, self.sal_at, self.sla_hours
        while inside and sal_at[inside[0]] + sla < now:
            breached.append(inside.popleft())
        if inside:
            return inside.popleft()
        return breached.popleft() if breached else -1

    def __len__(self) -> int:
        return len(self.leads) + len(self.breached)


# --- the desk -----------------------------------------------------------------------------


class SalesDesk:
    """Runs the SAL queue and AE pipeline of one replication on a SimPy environment."""

    def __init__(
        self,
        leads: SalesLeads,
        *,
        attempt_offsets: Sequence[float],
        sdr_count: int | None,
        sdr_calendar: WorkCalendar,
        discipline: str,
        routing: str,
        sla_hours: float,
        reach: float,
        interest: Callable[[float], float],
        decay_slowdown: float,
        ae_slots: int | None,
        ae_calendar: WorkCalendar,
        horizon_hours: float,
    ) -> None:
        self.env = simpy.Environment()
        self.leads = leads
        self.out = SalesOutcome(len(leads.sal_at))
        self.offsets = list(attempt_offsets)
        self.n_attempts = len(self.offsets)
        self.sdr_count = sdr_count
        self.sdr_calendar = sdr_calendar
        self.reach = reach
        self.interest = interest
        self.decay_clock = 1.0 / decay_slowdown
        self.ae_free = ae_slots
        self.ae_calendar = ae_calendar
        self.ae_waiting: deque[int] = deque()
        self.horizon = horizon_hours
        self.in_attempt: dict[int, tuple[int, float]] = {}  # rep -> (lead, started)
        n_queues = 1 if routing == "pooled" or sdr_count is None else sdr_count
        self.queues = [self._make_queue(discipline, sla_hours) for _ in range(n_queues)]
        self.queue_of_rep = [self.queues[0 if n_queues == 1 else r] for r in range(sdr_count or 0)]
        self.queue_of_lead = [0] * len(leads.sal_at) if n_queues > 1 else None
        self.next_rep = 0

    def _make_queue(self, discipline: str, sla_hours: float) -> FifoQueue:
        if discipline == "fifo":
            return FifoQueue()
        if discipline == "lifo":
            return LifoQueue()
        if discipline == "score":
            return ScoreQueue(self.leads.fit)
        return SlaQueue(self.leads.sal_at, sla_hours)

    # scheduling at absolute times keeps recorded times exactly equal to the planned ones
    def _at(self, when: float, priority: int, value: object = None) -> Event:
        event = Event(self.env)
        event._ok = True
        event._value = value
        heappush(self.env._queue, (when, priority, next(self.env._eid), event))
        return event

    def run(self) -> SalesOutcome:
        env = self.env
        env.process(self.mql_feed())
        for rep in range(self.sdr_count or 0):
            env.process(self.sdr_shift(rep))
        env.run(until=self.horizon)
        self._close_books()
        return self.out

    @property
    def events_scheduled(self) -> int:
        return next(self.env._eid)

    # --- the story -----------------------------------------------------------------------

    def mql_feed(self):
        """MQLs are accepted by sales and join the SAL queue when their first attempt is due
        (the cadence's first offset after the SAL time, usually zero)."""
        first_offset = self.offsets[0]
        for lead, sal_at in enumerate(self.leads.sal_at):
            due = sal_at + first_offset
            if due >= self.horizon:
                return
            yield self._at(due, NORMAL)
            self._route(lead)

    def sdr_shift(self, rep: int):
        """An SDR works the queue while on shift, waits for leads when it is empty, and
        goes home when the calendar closes (an attempt under way is finished first)."""
        env, calendar = self.env, self.sdr_calendar
        queue = self.queue_of_rep[rep]
        handle, n_attempts, out = self.leads.handle_hours, self.n_attempts, self.out
        while True:
            now = env.now
            if not calendar.always_open and not calendar.is_open(now):
                opens = calendar.next_open(now)
                if opens == INF:
                    return
                yield self._at(opens, URGENT)
                continue
            lead = self._next_lead(queue, now)
            if lead < 0:
                wake = Event(env)
                queue.idle_reps.append((rep, wake))
                yield wake
                continue
            attempt = out.attempts[lead]
            self._start_attempt(lead, rep, now)
            self.in_attempt[rep] = (lead, now)
            yield self._at(now + handle[lead * n_attempts + attempt], URGENT)
            del self.in_attempt[rep]
            self._finish_attempt(lead, attempt, now, env.now, rep)

    def _route(self, lead: int) -> None:
        if self.queue_of_lead is not None:  # round robin: the next rep in turn owns the lead
            self.queue_of_lead[lead] = self.next_rep
            self.next_rep = (self.next_rep + 1) % len(self.queues)
        self._ready(lead)

    def _ready(self, lead: int) -> None:
        """The lead's next attempt is due now: hand it to a rep or queue it."""
        if self.sdr_count is None:
            self._unlimited_attempt(lead)
            return
        queue = self.queues[self.queue_of_lead[lead]] if self.queue_of_lead is not None else self.queues[0]
        queue.push(lead, self.out.attempts[lead] == 0)
        if queue.idle_reps:
            queue.idle_reps.popleft()[1].succeed()

    def _next_lead(self, queue: FifoQueue, now: float) -> int:
        """Pop the next lead, dropping those whose patience ran out while they waited."""
        abandon_at = self.leads.abandon_at
        while True:
            lead = queue.pop(now)
            if lead < 0 or abandon_at[lead] > now:
                return lead
            self._give_up(lead)

    def _start_attempt(self, lead: int, rep: int, now: float) -> None:
        out = self.out
        if out.attempts[lead] == 0:
            out.first_contact_at[lead] = now
            out.sdr[lead] = rep
        out.attempts[lead] += 1

    def _finish_attempt(self, lead: int, attempt: int, started: float, ended: float, rep: int) -> None:
        """Did the attempt reach the lead, and did the conversation qualify it?"""
        leads, out = self.leads, self.out
        out.attempt_start.append(started)
        out.attempt_end.append(ended)
        out.attempt_sdr.append(rep)
        interest = self.interest((started - leads.sal_at[lead]) * self.decay_clock)
        if leads.reach_draw[lead * self.n_attempts + attempt] < self.reach * interest:
            out.reached_at[lead] = started
            if leads.trial[lead]:
                return  # a worked trial converts (or not) at the trial's end
            if leads.qualify_draw[lead] < leads.qualify_chance[lead] * interest:
                out.sql_at[lead] = ended
                self._open_opportunity(lead)
            else:
                self._resolve(lead, R["not_qualified"], ended)
            return
        if attempt + 1 >= self.n_attempts:
            if not leads.trial[lead]:
                self._resolve(lead, R["unreached"], ended)
            return
        due = max(leads.sal_at[lead] + self.offsets[attempt + 1], ended)
        if due >= leads.abandon_at[lead]:
            self._give_up(lead)
        elif due == ended:
            self._ready(lead)
        elif due < self.horizon:
            self._at(due, NORMAL, lead).callbacks.append(self._on_follow_up_due)

    def _on_follow_up_due(self, event: Event) -> None:
        self._ready(event._value)

    def _give_up(self, lead: int) -> None:
        """Patience ran out before a rep reached the lead (a trial lead just stops being worked)."""
        if not self.leads.trial[lead]:
            self._resolve(lead, R["abandoned"], self.leads.abandon_at[lead])

    def _unlimited_attempt(self, lead: int) -> None:
        """With unlimited reps an attempt starts the moment the calendar allows."""
        now = self.env.now
        starts = self.sdr_calendar.next_open(now)
        if starts > now:
            if starts < self.horizon:
                self._at(starts, URGENT, lead).callbacks.append(self._on_follow_up_due)
            return
        if self.leads.abandon_at[lead] <= now:
            self._give_up(lead)
            return
        attempt = self.out.attempts[lead]
        self._start_attempt(lead, -1, now)
        ends = now + self.leads.handle_hours[lead * self.n_attempts + attempt]
        event = self._at(ends, URGENT, (lead, attempt, now))
        event.callbacks.append(self._on_unlimited_attempt_done)

    def _on_unlimited_attempt_done(self, event: Event) -> None:
        lead, attempt, started = event._value
        self._finish_attempt(lead, attempt, started, self.env.now, -1)

    # --- the AE pipeline ---------------------------------------------------------------

    def _open_opportunity(self, lead: int) -> None:
        if self.ae_free is None or self.ae_free > 0:
            if self.ae_free is not None:
                self.ae_free -= 1
            self._start_opportunity(lead)
        else:
            self.ae_waiting.append(lead)

    def _start_opportunity(self, lead: int) -> None:
        """An AE takes the deal at the next opening and works it for its sales cycle."""
        opens = self.ae_calendar.next_open(self.env.now)
        self.out.opportunity_at[lead] = opens
        closes = self.ae_calendar.next_open(opens + self.leads.cycle_hours[lead])
        if closes < self.horizon:
            self._at(closes, NORMAL, lead).callbacks.append(self._on_deal_closed)

    def _on_deal_closed(self, event: Event) -> None:
        lead, now = event._value, self.env.now
        self.out.closed_at[lead] = now
        won = self.leads.win_draw[lead] < self.leads.win_chance[lead]
        self._resolve(lead, R["assisted"] if won else R["deal_lost"], now)
        if self.ae_waiting:
            self._start_opportunity(self.ae_waiting.popleft())
        elif self.ae_free is not None:
            self.ae_free += 1

    # --- bookkeeping ---------------------------------------------------------------------

    def _resolve(self, lead: int, reason: int, at: float) -> None:
        self.out.reason[lead] = reason
        self.out.ended_at[lead] = at

    def _close_books(self) -> None:
        """At the horizon: record attempts under way and what the unresolved leads are doing."""
        out, leads = self.out, self.leads
        for rep, (lead, started) in sorted(self.in_attempt.items()):
            out.attempt_start.append(started)
            out.attempt_end.append(self.horizon)
            out.attempt_sdr.append(rep)
        busy = {lead for lead, _ in self.in_attempt.values()}
        for lead, reason in enumerate(out.reason):
            if reason != UNRESOLVED or leads.trial[lead]:
                continue
            if out.sql_at[lead] == out.sql_at[lead]:  # not NaN: an open opportunity
                out.reason[lead] = R["in_opportunity"]
            elif leads.abandon_at[lead] <= self.horizon and lead not in busy and leads.sal_at[lead] < self.horizon:
                self._resolve(lead, R["abandoned"], leads.abandon_at[lead])
            else:
                out.reason[lead] = R["in_sal"]
