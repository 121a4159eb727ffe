"""The sales funnel on SimPy's event calendar: SAL queue, SDR shifts, follow-ups, AE pipeline.

Only what contends for reps goes through the calendar. Every random number a lead needs
(handle times, reach and qualification draws, patience, cycle length) is drawn beforehand per
lead, so two policies compared with one seed differ only in who is served when.

What is an event: a rep finishing an attempt, a rep coming on shift, and a waiting rep being
handed a lead. A lead entering the SAL queue or a follow-up falling due is not an event of its
own while every rep is busy: the queue takes it in, in time order, the next time a rep looks
for work. The AE pipeline (a queue of deals for a fixed number of slots that nothing else
watches) is worked out the same way, in time order, without events.

Order of events at the same instant (fixed, so results never depend on insertion accidents):
1. reps finishing an attempt and reps coming on shift (URGENT), in the order scheduled;
2. MQLs entering the SAL queue, then follow-ups falling due (NORMAL); each wakes one waiting
   rep, first come first served; AE deals closing come after every SQL of that instant.
So a rep that finishes at 10:00 is free before a lead arriving at 10:00 is assigned.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush
from itertools import count

import numpy as np
import simpy
from simpy.core import NORMAL, URGENT
from simpy.events import Event

from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.decay import no_decay
from funnelsim.model.records import R

INF = math.inf
UNRESOLVED = -1
NO_REP = -1
NOT_QUALIFIED, UNREACHED, ABANDONED = R["not_qualified"], R["unreached"], R["abandoned"]
ASSISTED, DEAL_LOST = R["assisted"], R["deal_lost"]


@dataclass
class SalesLeads:
    """Per-lead inputs of the sales stage as numpy arrays (index = position in SAL order)."""

    sal_at: np.ndarray  # sorted
    fit: np.ndarray
    trial: np.ndarray  # bool
    abandon_at: np.ndarray  # patience, or the trial's end for a trial lead; inf if never
    qualify_chance: np.ndarray  # for a perfect response: chance x fit effect
    win_chance: np.ndarray
    handle_hours: np.ndarray  # flattened [lead * attempts + k]
    reach_draw: np.ndarray  # flattened like handle_hours
    qualify_draw: np.ndarray
    win_draw: np.ndarray
    cycle_hours: np.ndarray


class SalesOutcome:
    """Per-lead results of the sales stage in preallocated arrays, and one slot per possible attempt."""

    def __init__(self, m: int, n_attempts: int) -> None:
        self.first_contact_at = np.full(m, np.nan)
        self.attempts = np.zeros(m, dtype=np.int16)
        self.sdr = np.full(m, NO_REP, dtype=np.int32)
        self.reached_at = np.full(m, np.nan)
        self.sql_at = np.full(m, np.nan)
        self.opportunity_at = np.full(m, np.nan)
        self.closed_at = np.full(m, np.nan)
        self.reason = np.full(m, UNRESOLVED, dtype=np.int8)
        self.ended_at = np.full(m, np.nan)
        # attempt k of lead i is slot i * n_attempts + k; the desk compresses them to rows at the end
        self.slot_start = np.full(m * n_attempts, np.nan)
        self.slot_sdr = np.full(m * n_attempts, NO_REP, dtype=np.int32)
        self.attempt_start = np.empty(0)
        self.attempt_end = np.empty(0)
        self.attempt_sdr = np.empty(0, dtype=np.int32)


# --- queue disciplines --------------------------------------------------------------------


class SalQueue:
    """The SAL queue of one pool of reps (all SDRs, or one SDR under round robin).

    Its leads come from two streams in time order: its share of the MQLs in SAL order
    (`leads[first::step]`), each joining when its first attempt is due, and follow-ups falling
    due. A lead is taken in (`admit`) when a rep looks for work at or after its time, or when a
    waiting rep is woken for it. Subclasses order the leads taken in; `pop` returns -1 when
    there is none.
    """

    def __init__(self, enters_at: memoryview, first: int, step: int, stop: int) -> None:
        self.enters_at = enters_at  # SAL time plus the cadence's first offset
        self.next_arrival = first  # the first lead of the stream not yet taken in
        self.step = step
        self.stop = stop
        self.follow_ups: list[tuple[float, int, int]] = []  # heap of (due, seq, lead) not yet taken in
        self.idle_reps: deque[int] = deque()  # reps waiting for a lead, first come first served
        self.wake_times: list[float] = []  # sorted times of the wake-up events pending
        self.taken = 0

    def push(self, lead: int, first_attempt: bool) -> None:
        raise NotImplementedError

    def pop(self, now: float) -> int:
        raise NotImplementedError

    def take(self, now: float, urgent: bool) -> int:
        """Take in what is due, then pop; `taken` says how many leads were taken in."""
        self.taken = self.admit(now, urgent)
        return self.pop(now)

    def admit(self, now: float, urgent: bool) -> int:
        """Take in every lead due by `now` in time order (MQLs before follow-ups on a tie); how many.

        In an URGENT step MQLs entering at `now` itself are not due yet (they are NORMAL)."""
        taken = 0
        enters_at, follow_ups, step, stop = self.enters_at, self.follow_ups, self.step, self.stop
        i = self.next_arrival
        arrival = enters_at[i] if i < stop else INF
        while True:
            if arrival < now or (arrival == now and not urgent):
                if follow_ups and follow_ups[0][0] < arrival:
                    self.push(heappop(follow_ups)[2], False)
                else:
                    self.push(i, True)
                    i += step
                    arrival = enters_at[i] if i < stop else INF
            elif follow_ups and follow_ups[0][0] <= now:
                self.push(heappop(follow_ups)[2], False)
            else:
                break
            taken += 1
        self.next_arrival = i
        return taken

    def next_due(self) -> float:
        """When the next lead not yet taken in falls due (inf if none)."""
        i = self.next_arrival
        arrival = self.enters_at[i] if i < self.stop else INF
        if self.follow_ups and self.follow_ups[0][0] < arrival:
            return self.follow_ups[0][0]
        return arrival

    def went_idle(self) -> None:
        """A rep found the queue empty: everything due so far has been taken in and worked."""


class FifoQueue(SalQueue):
    """Oldest ready lead first.

    MQLs wait in the stream itself (the next lead to serve is `head`) and due follow-ups in
    `ready`, both in time order, so taking a lead in costs nothing; `next_arrival` only tracks
    which MQLs have been announced to waiting reps.
    """

    def __init__(self, enters_at: memoryview, first: int, step: int, stop: int) -> None:
        super().__init__(enters_at, first, step, stop)
        self.head = first
        self.ready: deque[tuple[float, int, int]] = deque()
        self.urgent = True  # whether the last `admit` was in an URGENT step

    def admit(self, now: float, urgent: bool) -> int:
        self.urgent = urgent
        taken = 0
        follow_ups = self.follow_ups
        while follow_ups and follow_ups[0][0] <= now:
            self.ready.append(heappop(follow_ups))
            taken += 1
        if self.idle_reps:  # only then does it matter which MQLs have been announced
            enters_at, step, stop = self.enters_at, self.step, self.stop
            i = self.next_arrival
            while i < stop and (enters_at[i] < now or (enters_at[i] == now and not urgent)):
                i += step
                taken += 1
            self.next_arrival = i
        return taken

    def take(self, now: float, urgent: bool) -> int:
        # the common case inlined: nothing to take in, the head MQL due and no follow-up older
        if self.follow_ups or self.idle_reps:
            self.taken = self.admit(now, urgent)
        else:
            self.taken = 0
            self.urgent = urgent
        i = self.head
        if i < self.stop and not self.ready:
            arrival = self.enters_at[i]
            if arrival < now or (arrival == now and not urgent):
                self.head = i + self.step
                return i
        return self.pop(now)

    def pop(self, now: float) -> int:
        # the MQL at the head is in the queue once due; it goes first unless a follow-up is older
        i, ready = self.head, self.ready
        if i < self.stop:
            arrival = self.enters_at[i]
            if (arrival < now or (arrival == now and not self.urgent)) and (not ready or arrival <= ready[0][0]):
                self.head = i + self.step
                return i
        return ready.popleft()[2] if ready else -1

    def went_idle(self) -> None:
        if self.head > self.next_arrival:
            self.next_arrival = self.head


class LifoQueue(SalQueue):
    """Newest ready lead first."""

    def __init__(self, enters_at: memoryview, first: int, step: int, stop: int) -> None:
        super().__init__(enters_at, first, step, stop)
        self.leads: list[int] = []

    def push(self, lead: int, first_attempt: bool) -> None:
        self.leads.append(lead)

    def pop(self, now: float) -> int:
        return self.leads.pop() if self.leads else -1


class ScoreQueue(SalQueue):
    """Best-fit lead first; ties go to the oldest."""

    def __init__(self, enters_at: memoryview, first: int, step: int, stop: int, fit: memoryview) -> None:
        super().__init__(enters_at, first, step, stop)
        self.fit = fit
        self.heap: list[tuple[float, int, int]] = []
        self.seq = count()

    def push(self, lead: int, first_attempt: bool) -> None:
        heappush(self.heap, (-self.fit[lead], next(self.seq), lead))

    def pop(self, now: float) -> int:
        return heappop(self.heap)[2] if self.heap else -1


class SlaQueue(SalQueue):
    """First contacts still inside the SLA first (oldest first: earliest deadline); then the rest."""

    def __init__(
        self, enters_at: memoryview, first: int, step: int, stop: int, sal_at: memoryview, sla_hours: float
    ) -> None:
        super().__init__(enters_at, first, step, stop)
        self.sal_at = sal_at
        self.sla_hours = sla_hours
        self.inside: deque[int] = deque()
        self.breached: deque[int] = deque()

    def push(self, lead: int, first_attempt: bool) -> None:
        (self.inside if first_attempt else self.breached).append(lead)

    def pop(self, now: float) -> int:
        inside, breached, sal_at, sla = self.inside, self.breached, self.sal_at, self.sla_hours
        while inside and sal_at[inside[0]] + sla < now:
            breached.append(inside.popleft())
        if inside:
            return inside.popleft()
        return breached.popleft() if breached else -1


# --- the desk -----------------------------------------------------------------------------


class SalesDesk:
    """Runs the SAL queue and AE pipeline of one replication on a SimPy environment.

    Per-lead inputs and outputs are numpy arrays read and written through memoryviews, so no
    Python object per lead or per event outlives the step that needed it.
    """

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
        m = len(leads.sal_at)
        self.m = m
        self.inputs = leads
        self.out = SalesOutcome(m, len(attempt_offsets))
        view = _view
        self.sal_at = view(leads.sal_at)
        # a lead joins the SAL queue when its first attempt is due: the cadence's first offset, usually 0
        first_offset = float(attempt_offsets[0])
        self.enters_at = self.sal_at if first_offset == 0 else view(leads.sal_at + first_offset)
        self.trial = view(leads.trial, bool)
        self.abandon_at = view(leads.abandon_at)
        self.qualify_chance = view(leads.qualify_chance)
        self.win_chance = view(leads.win_chance)
        self.handle = view(leads.handle_hours)
        self.reach_draw = view(leads.reach_draw)
        self.qualify_draw = view(leads.qualify_draw)
        self.win_draw = view(leads.win_draw)
        self.cycle = view(leads.cycle_hours)
        out = self.out
        self.reached_at, self.sql_at = memoryview(out.reached_at), memoryview(out.sql_at)
        self.opportunity_at, self.closed_at = memoryview(out.opportunity_at), memoryview(out.closed_at)
        self.reason, self.ended_at = memoryview(out.reason), memoryview(out.ended_at)
        self.slot_start, self.slot_sdr = memoryview(out.slot_start), memoryview(out.slot_sdr)
        self.attempts_made = [0] * m  # a list: read and bumped on every attempt

        self.offsets = list(attempt_offsets)
        self.n_attempts = len(self.offsets)
        self.sdr_count = sdr_count
        self.sdr_calendar = sdr_calendar
        self.reach = reach
        self.interest = interest
        self.decays = interest is not no_decay
        self.decay_clock = 1.0 / decay_slowdown
        self.horizon = horizon_hours

        self.ae_free = ae_slots
        self.ae_calendar = ae_calendar
        self.ae_waiting: deque[int] = deque()
        self.ae_closing: list[tuple[float, int, int]] = []  # heap of (closes, seq, lead)
        self.ae_seq = count()
        self.follow_up_seq = count()

        reps = sdr_count or 0
        n_queues = 1 if routing == "pooled" or sdr_count is None else sdr_count
        self.queues = [self._make_queue(discipline, sla_hours, q, n_queues) for q in range(n_queues)]
        self.queue_of_rep = [self.queues[0 if n_queues == 1 else r] for r in range(reps)]
        # under round robin the k-th MQL in SAL order belongs to rep k mod n
        self.n_queues = n_queues
        self.rep_lead = [-1] * reps  # the lead a rep is working on
        self.rep_started = [0.0] * reps
        # one event object per rep, rescheduled for each attempt or shift: a rep has at most one pending
        self.rep_events = [Event(self.env) for _ in range(reps)]
        for rep, event in enumerate(self.rep_events):
            event._ok = True
            event._value = rep
        self.on_attempt_done = [self._on_attempt_done]
        self.on_shift_open = [self._on_shift_open]
        self.shift_from, self.shift_until = INF, -INF  # the SDRs' open interval seen last
        self.on_rep_woken = [self._on_rep_woken]
        self._eid = self.env._eid
        self._heap = self.env._queue

    def _make_queue(self, discipline: str, sla_hours: float, q: int, n_queues: int) -> SalQueue:
        args = (self.enters_at, q, n_queues, self.m)
        if discipline == "fifo":
            return FifoQueue(*args)
        if discipline == "lifo":
            return LifoQueue(*args)
        if discipline == "score":
            return ScoreQueue(*args, fit=_view(self.inputs.fit))
        return SlaQueue(*args, sal_at=self.sal_at, sla_hours=sla_hours)

    def run(self) -> SalesOutcome:
        if self.sdr_count is None:
            self._schedule_next_mql(0)
        else:
            for rep in range(self.sdr_count):
                self._look_for_work(rep, 0.0, True)
        self.env.run(until=self.horizon)
        self._close_books()
        # pending events and the callback lists point back at the desk: cut the cycles so the
        # inputs are freed now rather than at the next full collection
        self.env._queue.clear()
        for callbacks in (self.on_attempt_done, self.on_shift_open, self.on_rep_woken):
            callbacks.clear()
        return self.out

    @property
    def events_scheduled(self) -> int:
        """Events put on the calendar so far, SimPy's own included: the run's `until` event,
        which it queues a second time when it stops the run."""
        return next(self._eid)

    # --- the story -----------------------------------------------------------------------

    def _look_for_work(self, rep: int, now: float, urgent: bool) -> None:
        """A free SDR goes home if its shift is over, else takes the next lead or waits for one."""
        event = self.rep_events[rep]
        if not self.shift_from <= now < self.shift_until:  # outside the shift seen last
            span = self.sdr_calendar.open_span(now)
            if span is None:
                opens = self.sdr_calendar.next_open(now)
                if opens < INF:
                    event.callbacks = self.on_shift_open
                    heappush(self._heap, (opens, URGENT, next(self._eid), event))
                return
            self.shift_from, self.shift_until = span
        queue = self.queue_of_rep[rep]
        lead = queue.take(now, urgent)
        if queue.taken and queue.idle_reps:
            self._wake_later(queue, queue.taken, now)
        abandon_at = self.abandon_at
        while lead >= 0 and abandon_at[lead] <= now:
            self._give_up(lead)
            lead = queue.pop(now)
        if lead < 0:
            queue.went_idle()
            queue.idle_reps.append(rep)
            self._ensure_wake(queue)
            return
        # start the attempt (first contact and rep are read off the attempt slots at the end)
        attempt = self.attempts_made[lead]
        self.attempts_made[lead] = attempt + 1
        slot = lead * self.n_attempts + attempt
        self.slot_start[slot] = now
        self.slot_sdr[slot] = rep
        self.rep_lead[rep] = lead
        self.rep_started[rep] = now
        ends = now + self.handle[slot]
        if ends < self.horizon:  # else still at work when the books close
            event.callbacks = self.on_attempt_done
            heappush(self._heap, (ends, URGENT, next(self._eid), event))

    def _on_attempt_done(self, event: Event) -> None:
        rep = event._value
        now = self.env._now
        lead = self.rep_lead[rep]
        self.rep_lead[rep] = -1
        self._finish_attempt(lead, self.attempts_made[lead] - 1, self.rep_started[rep], now)
        self._look_for_work(rep, now, True)
        queue = self.queues[lead % self.n_queues]  # where a follow-up of the lead went
        if queue.idle_reps:
            self._ensure_wake(queue)

    def _on_shift_open(self, event: Event) -> None:
        self._look_for_work(event._value, self.env._now, True)

    def _on_rep_woken(self, event: Event) -> None:
        self._look_for_work(event._value, self.env._now, False)

    def _wake_later(self, queue: SalQueue, leads: int, now: float) -> None:
        """Leads taken in by a rep at work wake waiting reps in a step of their own, after this one."""
        for _ in range(min(leads, len(queue.idle_reps))):
            event = self.rep_events[queue.idle_reps.popleft()]
            event.callbacks = self.on_rep_woken
            heappush(self._heap, (now, NORMAL, next(self._eid), event))

    def _ensure_wake(self, queue: SalQueue) -> None:
        """While reps wait, the queue's next lead to fall due has a wake-up event."""
        due = queue.next_due()
        if due < self.horizon and (not queue.wake_times or due < queue.wake_times[0]):
            insort(queue.wake_times, due)
            event = Event(self.env)
            event._ok = True
            event._value = queue
            event.callbacks.append(self._on_wake)
            heappush(self._heap, (due, NORMAL, next(self._eid), event))

    def _on_wake(self, event: Event) -> None:
        """Leads fall due while reps wait: each wakes the rep that has waited longest."""
        queue, now = event._value, self.env._now
        queue.wake_times.remove(now)
        for _ in range(queue.admit(now, False)):
            if not queue.idle_reps:
                break
            self._look_for_work(queue.idle_reps.popleft(), now, False)
        if queue.idle_reps:
            self._ensure_wake(queue)

    def _finish_attempt(self, lead: int, attempt: int, started: float, ended: float) -> None:
        """Did the attempt reach the lead, and did the conversation qualify it?"""
        sal_at = self.sal_at[lead]
        interest = self.interest((started - sal_at) * self.decay_clock) if self.decays else 1.0
        if self.reach_draw[lead * self.n_attempts + attempt] < self.reach * interest:
            self.reached_at[lead] = started
            if self.trial[lead]:
                return  # a worked trial converts (or not) at the trial's end
            if self.qualify_draw[lead] < self.qualify_chance[lead] * interest:
                self.sql_at[lead] = ended
                self._open_opportunity(lead, ended)
            else:
                self.reason[lead] = NOT_QUALIFIED
                self.ended_at[lead] = ended
            return
        if attempt + 1 >= self.n_attempts:
            if not self.trial[lead]:
                self.reason[lead] = UNREACHED
                self.ended_at[lead] = ended
            return
        due = sal_at + self.offsets[attempt + 1]
        if due < ended:
            due = ended
        if due >= self.abandon_at[lead]:
            self._give_up(lead)
        elif due < self.horizon:
            if self.sdr_count is None:
                self._unlimited_follow_up(lead, due, ended)
            else:
                heappush(self.queues[lead % self.n_queues].follow_ups, (due, next(self.follow_up_seq), lead))

    def _give_up(self, lead: int) -> None:
        """Patience ran out before a rep reached the lead (a trial lead just stops being worked)."""
        if not self.trial[lead]:
            self.reason[lead] = ABANDONED
            self.ended_at[lead] = self.abandon_at[lead]

    # --- unlimited SDRs: nothing contends, each lead is worked at its own pace ----------------

    def _schedule_next_mql(self, lead: int) -> None:
        if lead < self.m and self.enters_at[lead] < self.horizon:
            self._call_at(self.enters_at[lead], NORMAL, self._on_unlimited_mql, lead)

    def _on_unlimited_mql(self, event: Event) -> None:
        lead = event._value
        self._schedule_next_mql(lead + 1)
        self._unlimited_attempt(lead, self.env._now)

    def _on_unlimited_ready(self, event: Event) -> None:
        self._unlimited_attempt(event._value, self.env._now)

    def _unlimited_follow_up(self, lead: int, due: float, now: float) -> None:
        if due == now:
            self._unlimited_attempt(lead, now)
        else:
            self._call_at(due, NORMAL, self._on_unlimited_ready, lead)

    def _unlimited_attempt(self, lead: int, now: float) -> None:
        """With unlimited reps an attempt starts the moment the calendar allows."""
        starts = self.sdr_calendar.next_open(now)
        if starts > now:
            if starts < self.horizon:
                self._call_at(starts, URGENT, self._on_unlimited_ready, lead)
            return
        if self.abandon_at[lead] <= now:
            self._give_up(lead)
            return
        attempt = self.attempts_made[lead]
        self.attempts_made[lead] = attempt + 1
        slot = lead * self.n_attempts + attempt
        self.slot_start[slot] = now
        ends = now + self.handle[slot]
        if ends < self.horizon:
            self._call_at(ends, URGENT, self._on_unlimited_attempt_done, (lead, attempt, now))

    def _on_unlimited_attempt_done(self, event: Event) -> None:
        lead, attempt, started = event._value
        self._finish_attempt(lead, attempt, started, self.env._now)

    def _call_at(self, when: float, priority: int, callback: Callable[[Event], None], value: object) -> None:
        event = Event(self.env)
        event._ok = True
        event._value = value
        event.callbacks.append(callback)
        heappush(self._heap, (when, priority, next(self._eid), event))

    # --- the AE pipeline: a queue for AE slots, worked out in time order without events -----

    def _open_opportunity(self, lead: int, now: float) -> None:
        if self.ae_free is None:
            self._start_opportunity(lead, now)
            return
        self._close_deals_before(now)  # deals closing at `now` itself free their slot after this SQL
        if self.ae_free > 0:
            self.ae_free -= 1
            self._start_opportunity(lead, now)
        else:
            self.ae_waiting.append(lead)

    def _start_opportunity(self, lead: int, now: float) -> None:
        """An AE takes the deal at the next opening and works it for its sales cycle."""
        opens = self.ae_calendar.next_open(now)
        self.opportunity_at[lead] = opens
        closes = self.ae_calendar.next_open(opens + self.cycle[lead])
        if closes >= self.horizon:
            return
        if self.ae_free is None:  # nothing waits for the slot: close the deal now
            self._close_deal(lead, closes)
        else:
            heappush(self.ae_closing, (closes, next(self.ae_seq), lead))

    def _close_deals_before(self, until: float) -> None:
        closing = self.ae_closing
        while closing and closing[0][0] < until:
            closes, _, lead = heappop(closing)
            self._close_deal(lead, closes)
            if self.ae_waiting:
                self._start_opportunity(self.ae_waiting.popleft(), closes)
            else:
                self.ae_free += 1  # type: ignore[operator]

    def _close_deal(self, lead: int, closes: float) -> None:
        self.closed_at[lead] = closes
        self.reason[lead] = ASSISTED if self.win_draw[lead] < self.win_chance[lead] else DEAL_LOST
        self.ended_at[lead] = closes

    # --- bookkeeping ---------------------------------------------------------------------

    def _close_books(self) -> None:
        """At the horizon: attempts as rows, and what the unresolved leads are doing."""
        self._close_deals_before(self.horizon)
        out, inputs, horizon, k = self.out, self.inputs, self.horizon, self.n_attempts
        out.attempts = np.asarray(self.attempts_made, dtype=np.int16)
        tried = np.flatnonzero(out.attempts)
        out.first_contact_at[tried] = out.slot_start[tried * k]
        out.sdr[tried] = out.slot_sdr[tried * k]
        # a lead whose last attempt runs past the horizon is still being worked
        last = tried * k + out.attempts[tried] - 1
        at_work = np.zeros(self.m, dtype=bool)
        at_work[tried[out.slot_start[last] + inputs.handle_hours[last] >= horizon]] = True
        made = ~np.isnan(out.slot_start)
        out.attempt_start = out.slot_start[made]
        out.attempt_end = np.minimum(out.attempt_start + inputs.handle_hours[made], horizon)
        out.attempt_sdr = out.slot_sdr[made]
        del self.slot_start, self.slot_sdr
        out.slot_start = out.slot_sdr = None  # type: ignore[assignment]
        reason = out.reason
        unresolved = (reason == UNRESOLVED) & ~inputs.trial
        in_opportunity = unresolved & ~np.isnan(out.sql_at)
        reason[in_opportunity] = R["in_opportunity"]
        waiting = unresolved & ~in_opportunity
        gone = waiting & (inputs.abandon_at <= horizon) & ~at_work & (inputs.sal_at < horizon)
        reason[gone] = ABANDONED
        out.ended_at[gone] = inputs.abandon_at[gone]
        reason[waiting & ~gone] = R["in_sal"]


def _view(values: np.ndarray, dtype: type = float) -> memoryview:
    """A zero-copy memoryview whose items read as Python floats (or bools)."""
    wanted = np.bool_ if dtype is bool else np.float64
    return memoryview(np.ascontiguousarray(values, dtype=wanted))
