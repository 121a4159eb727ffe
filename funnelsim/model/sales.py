"""The sales desk as SimPy processes: MQLs joining the SAL queue, SDRs working it, follow-ups.

The story, one process each:
- the MQL feed (`feed`): each lead accepted by sales joins the SAL queue when its first
  attempt is due (the cadence's first offset after its SAL time) and wakes the SDR that has
  waited longest. That SDR waits on the lead's own event (its `Handoff`, delivered when the
  lead falls due), so the lead's arrival resumes it directly: one event, not two;
- an SDR's day (`sdr_shift`): wait for the shift, take the next lead by the queue discipline,
  make the attempt (a timeout of the handle time), schedule the lead's follow-up, and wait for a
  lead when the queue is empty. An SDR handed a lead before the one its event waits for (a
  follow-up falling due sooner) is interrupted. An unlimited desk is the same code with no
  capacity limit: a lead that finds no SDR waiting gets one of its own, hired on the spot;
- a lead's patience is a race between an SDR taking it and the lead giving up: when an SDR
  reaches for a lead whose patience ran out first, the lead has gone to a competitor;
- a deal is handed to the AE pipeline (`model/pipeline.py`).

Every random number a lead needs (handle times, reach and qualification draws, patience, cycle
length) is drawn beforehand per lead, so two policies compared with one seed differ only in who
is served when. Same-instant order: `model/environment.py`.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import cast

import numpy as np
from simpy import Interrupt, Process
from simpy.events import Event

from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.columns import bools, floats, ints
from funnelsim.model.decay import InterestCurve, no_decay
from funnelsim.model.environment import LEAD_DUE, DeskEnvironment, Handoff, LeadDue
from funnelsim.model.pipeline import AePipeline
from funnelsim.model.queues import NO_LEAD, LeadView, make_discipline
from funnelsim.model.records import NO_REASON, NO_REP, Reason
from funnelsim.model.sal_queue import SalQueue

INF = math.inf
UNRESOLVED = NO_REASON  # a lead the desk has not settled yet
# plain ints: written one lead at a time through memoryviews on the hot path
NOT_QUALIFIED, UNREACHED, ABANDONED = int(Reason.NOT_QUALIFIED), int(Reason.UNREACHED), int(Reason.ABANDONED)


@dataclass
class SalesLeads:
    """Per-lead inputs of the sales stage as numpy arrays (index = position in SAL order)."""

    sal_at: np.ndarray  # sorted
    fit: np.ndarray
    channel: np.ndarray  # channel codes
    trial: np.ndarray  # bool
    gives_up_at: np.ndarray  # when its patience runs out; inf if never, and for a trial lead
    trial_ends_at: np.ndarray  # when its trial ends; inf for a lead not on trial
    qualify_chance: np.ndarray  # for a perfect response: chance x fit effect
    win_chance: np.ndarray
    handle_hours: np.ndarray  # flattened [lead * attempts + k]
    reach_draw: np.ndarray  # flattened like handle_hours
    qualify_draw: np.ndarray
    win_draw: np.ndarray
    cycle_hours: np.ndarray

    @cached_property
    def abandon_at(self) -> np.ndarray:
        """When reps stop working the lead: its patience, or the end of its trial."""
        return np.where(self.trial, self.trial_ends_at, self.gives_up_at)


class SalesOutcome:
    """Per-lead results of the sales stage in preallocated arrays, and one slot per possible attempt."""

    def __init__(self, m: int, n_attempts: int) -> None:
        self.first_contact_at = np.full(m, np.nan)
        self.attempts = np.zeros(m, dtype=np.int16)
        self.sdr = np.full(m, NO_REP, dtype=np.int32)
        self.reached_at = np.full(m, np.nan)
        self.sql_at = np.full(m, np.nan)
        self.ae_slot_at = np.full(m, np.nan)
        self.opportunity_at = np.full(m, np.nan)
        self.closed_at = np.full(m, np.nan)
        self.reason = np.full(m, UNRESOLVED, dtype=np.int8)
        self.ended_at = np.full(m, np.nan)
        # attempt k of lead i is slot i * n_attempts + k; compressed to one row per attempt at the end
        self.slot_start = np.full(m * n_attempts, np.nan)
        self.slot_sdr = np.full(m * n_attempts, NO_REP, dtype=np.int32)
        self.attempt_start = np.empty(0)
        self.attempt_end = np.empty(0)
        self.attempt_sdr = np.empty(0, dtype=np.int32)
        self.attempt_lead = np.empty(0, dtype=np.int64)  # position of the attempt's lead in SAL order


class SalesDesk:
    """The SAL queue, the SDRs and the AE pipeline of one replication on a SimPy environment.

    Per-lead inputs and outputs are numpy arrays read and written through memoryviews, so no
    Python object per lead outlives the step that needed it.
    """

    def __init__(
        self,
        leads: SalesLeads,
        *,
        channel_names: tuple[str, ...] = (),
        attempt_offsets: Sequence[float],
        sdr_count: int | None,
        sdr_calendar: WorkCalendar,
        discipline: str,
        routing: str,
        sla_hours: float,
        reach: float,
        interest: InterestCurve,
        decay_slowdown: float,
        ae_slots: int | None,
        ae_calendar: WorkCalendar,
        horizon_hours: float,
        min_gap_hours: float = 0.0,
    ) -> None:
        self.env = DeskEnvironment()
        self.stories: list[Generator[Event, object, None]] = []  # the desk's processes, SDR shifts
        self.events_scheduled = 0  # events put on the calendar, SimPy's own included: set by `run`
        m = len(leads.sal_at)
        self.m = m
        self.inputs = leads
        self.out = out = SalesOutcome(m, len(attempt_offsets))
        self.sal_at = floats(leads.sal_at)
        self.enters_at = floats(leads.sal_at + float(attempt_offsets[0]))  # when the first attempt is due
        self.trial = bools(leads.trial)
        self.abandon_at = floats(leads.abandon_at)
        self.qualify_chance = floats(leads.qualify_chance)
        self.handle = floats(leads.handle_hours)
        self.reach_draw = floats(leads.reach_draw)
        self.qualify_draw = floats(leads.qualify_draw)
        self.reached_at, self.sql_at = floats(out.reached_at), floats(out.sql_at)
        self.reason, self.ended_at = ints(out.reason), floats(out.ended_at)
        self.slot_start, self.slot_sdr = floats(out.slot_start), ints(out.slot_sdr)
        self.attempts_made = [0] * m  # a list: read and bumped on every attempt

        self.offsets = [float(o) for o in attempt_offsets]
        self.n_attempts = len(self.offsets)
        self.unlimited = sdr_count is None
        self.sdr_calendar = sdr_calendar
        self.reach = reach
        self.interest = interest
        self.decays = interest is not no_decay
        self.decay_clock = 1.0 / decay_slowdown
        self.horizon = horizon_hours  # the end of the run: the scenario's horizon plus its follow-up
        self.min_gap = min_gap_hours
        self.pipeline = AePipeline(
            self.env,
            slots=ae_slots,
            calendar=ae_calendar,
            cycle_hours=leads.cycle_hours,
            win_draw=leads.win_draw,
            win_chance=leads.win_chance,
            out=out,
        )

        lead_view = LeadView(
            sal_at=self.sal_at,
            fit=floats(leads.fit),
            channel=ints(np.ascontiguousarray(leads.channel, dtype=np.int64)),
            channel_names=channel_names,
            sla_hours=sla_hours,
        )
        n_queues = 1 if routing == "pooled" or sdr_count is None else sdr_count
        # under round robin the k-th MQL in SAL order, and its follow-ups, belong to SDR k mod n
        self.queues = [
            SalQueue(make_discipline(discipline, lead_view), self.enters_at, q, n_queues) for q in range(n_queues)
        ]
        self.n_queues = n_queues
        for queue in self.queues:
            queue.hand_out = partial(self._leads_due, queue)
        self.reps = 0 if sdr_count is None else sdr_count

    def run(self) -> SalesOutcome:
        env = self.env
        for rep in range(self.reps):
            self.start(self.sdr_shift(rep, self.queues[rep % self.n_queues]))
        if self.unlimited:
            self.feed(self.queues[0])
        env.run(until=self.horizon)
        self._close_books()
        out = self.out
        self._let_go()
        return out

    def start(self, story: Generator[Event, object, None]) -> None:
        """Start a process of the desk (kept, to be stopped when the run is over)."""
        self.stories.append(story)
        self.env.process(story)

    def _let_go(self) -> None:
        """The run is over. The events still pending at the horizon refer, through reference cycles
        (event -> process -> generator -> desk -> environment -> event), to the desk and every
        per-lead array it holds, which would stay in memory until the next full garbage
        collection. Stop the processes and drop everything but the outcome and the event count."""
        events, out = self.env.events_scheduled, self.out  # (the run's `until` event among them)
        for story in [*self.stories, *self.pipeline.stories]:
            story.close()
        for part in [*self.queues, self.pipeline]:
            vars(part).clear()
        vars(self).clear()
        self.events_scheduled, self.out = events, out

    # --- the story -----------------------------------------------------------------------

    def feed(self, queue: SalQueue) -> None:
        """While SDRs wait (always, for an unlimited desk), the next lead to fall due, MQL or
        follow-up, has an event that hands it out: the Handoff of the SDR that has waited
        longest, delivered when the lead falls due, or a LeadDue (no SDR waiting, or that SDR's
        event already waits for a later lead)."""
        due, wake_times = queue.next_due_at, queue.wake_times
        if due < self.horizon and (not wake_times or due < wake_times[-1]):
            wake_times.append(due)
            idle, env = queue.idle_reps, self.env
            event = idle[0] if idle else None
            if event is not None and not event.on_calendar:  # a Handoff not yet sent
                event = cast(Handoff, event)
                event.delay, event.priority, event.on_calendar = due - env.now, LEAD_DUE, True
                event.callbacks.insert(0, queue.hand_out)  # hands out the leads before its SDR picks
                event.succeed()
            else:
                event = LeadDue(env, due - env.now)
                event.callbacks.append(queue.hand_out)
            queue.wake_events.append(event)

    def _leads_due(self, queue: SalQueue, event: Event) -> None:
        """A lead of `queue` falls due (`event`): take in the leads due now and hand them out."""
        due = queue.wake_times.pop()  # this event's time: the earliest waiting
        queue.wake_events.pop()
        for _ in range(queue.take_in(due, including_now=True)):
            self.wake_a_rep(queue, event)
        if queue.idle_reps or self.unlimited:
            self.feed(queue)

    def wake_a_rep(self, queue: SalQueue, delivered: Event | None = None) -> None:
        """A lead just became due: the SDR that has waited longest is handed it (unlimited: a new one).

        If that SDR waits on the event being `delivered`, it resumes when the event's callbacks
        are done; if it waits on a later lead's event, it is interrupted (at REP_FREE, like a
        wake-up); otherwise its Handoff is sent now."""
        if queue.idle_reps:
            woken = queue.idle_reps.popleft()
            if woken is delivered:
                return
            if woken.on_calendar:
                cast(Process, woken.process).interrupt()
            else:
                woken.succeed()
        elif self.unlimited:
            self.start(self.sdr_shift(NO_REP, queue))

    def wait_for_a_lead(self, queue: SalQueue, process: Process | None) -> Handoff | LeadDue:
        """No lead for an SDR: the event it waits on, behind the SDRs idle longer. The first to go
        idle waits on the event of the next lead to fall due, if one is on the calendar already."""
        idle, wake_times = queue.idle_reps, queue.wake_times
        woken: Handoff | LeadDue
        if not idle and wake_times and wake_times[-1] == queue.next_due_at:
            woken = queue.wake_events[-1]
            woken.process = process
            idle.append(woken)
            return woken
        woken = Handoff(self.env)
        woken.process = process
        idle.append(woken)
        self.feed(queue)
        return woken

    def sdr_shift(self, rep: int, queue: SalQueue) -> Generator[Event, object, None]:
        """An SDR's working life: on shift, take the next lead, call it, follow up; wait when idle."""
        env, calendar, abandon_at, handle = self.env, self.sdr_calendar, self.abandon_at, self.handle
        attempts_made, n_attempts = self.attempts_made, self.n_attempts
        slot_start, slot_sdr = self.slot_start, self.slot_sdr
        sal_at, reach_draw, reach = self.sal_at, self.reach_draw, self.reach
        interest_after, decay_clock = (self.interest, self.decay_clock) if self.decays else (None, 1.0)
        trial, reached_at, sql_at, qualify_draw = self.trial, self.reached_at, self.sql_at, self.qualify_draw
        qualify_chance, reason, ended_at = self.qualify_chance, self.reason, self.ended_at
        open_opportunity, follow_up, give_up = self.pipeline.open_opportunity, self.follow_up, self.give_up
        timeout, take_next, take_in = env.timeout, queue.waiting.pop, queue.take_in
        wait_for_a_lead, no_lead, me = self.wait_for_a_lead, NO_LEAD, env.active_process
        shift_ends = -INF
        now = env.now
        while True:
            if now >= shift_ends:  # the shift seen last is over: is another one on?
                span = calendar.open_span(now)
                if span is None:
                    opens = calendar.next_open(now)
                    if opens == INF:
                        return
                    yield timeout(opens - now)
                    now = env.now
                    continue
                shift_ends = span[1]
            if queue.next_due_at < now:
                take_in(now, False)
            lead = take_next(now)
            while lead != no_lead and abandon_at[lead] <= now:  # it gave up before anyone called
                give_up(lead)
                lead = take_next(now)
            if lead == no_lead:
                try:  # noqa: SIM105 (contextlib.suppress: a context manager per idle spell on the hot path)
                    yield wait_for_a_lead(queue, me)
                except Interrupt:  # handed a lead before the one its event waits for
                    pass
                now = env.now
                continue
            # the call: it takes the handle time, and reaches the lead with a chance that decays
            attempt = attempts_made[lead]
            attempts_made[lead] = attempt + 1
            slot = lead * n_attempts + attempt
            slot_start[slot] = now
            slot_sdr[slot] = rep
            handle_hours = handle[slot]
            yield timeout(handle_hours)
            ended = now + handle_hours  # the clock now: the timeout's due time, to the bit
            interest = interest_after((now - sal_at[lead]) * decay_clock) if interest_after else 1.0
            if reach_draw[slot] < reach * interest:  # got through: the conversation qualifies the lead or not
                reached_at[lead] = now
                if trial[lead]:
                    pass  # a worked trial converts (or not) at the trial's end
                elif qualify_draw[lead] < qualify_chance[lead] * interest:
                    sql_at[lead] = ended
                    open_opportunity(lead)
                else:
                    reason[lead] = NOT_QUALIFIED
                    ended_at[lead] = ended
            elif attempt + 1 < n_attempts:
                follow_up(lead, attempt + 1, ended)
            elif not trial[lead]:
                reason[lead] = UNREACHED
                ended_at[lead] = ended
            now = ended

    def follow_up(self, lead: int, attempt: int, ended: float) -> None:
        """Not reached: the cadence's next attempt falls due at its offset from the first call, and
        at least the minimum gap after this one ended, unless the lead's patience runs out first."""
        by_cadence, after_gap = self.slot_start[lead * self.n_attempts] + self.offsets[attempt], ended + self.min_gap
        due = after_gap if after_gap > by_cadence else by_cadence  # max(), without a call per follow-up
        queue = self.queues[lead % self.n_queues]
        if due >= self.abandon_at[lead]:
            self.give_up(lead)
        elif due == ended:  # already due: it waits behind the leads due before this instant
            taken = queue.take_in(ended, including_now=False)
            queue.waiting.push(lead, False)
            for _ in range(taken + 1):
                self.wake_a_rep(queue)
        elif due < self.horizon:
            queue.add_follow_up(due, lead)
            if queue.idle_reps or self.unlimited:
                self.feed(queue)

    def give_up(self, lead: int) -> None:
        """Patience ran out before an SDR reached the lead (a trial lead just stops being worked)."""
        if not self.trial[lead]:
            self.reason[lead] = ABANDONED
            self.ended_at[lead] = self.abandon_at[lead]

    # --- bookkeeping ---------------------------------------------------------------------

    def _close_books(self) -> None:
        """At the horizon: attempts as rows, and what the unresolved leads are doing."""
        out, inputs, horizon, k = self.out, self.inputs, self.horizon, self.n_attempts
        self.pipeline.close_books()
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
        out.attempt_lead = np.flatnonzero(made) // k
        del self.slot_start, self.slot_sdr
        out.slot_start = out.slot_sdr = None  # type: ignore[assignment]
        reason = out.reason
        unresolved = (reason == UNRESOLVED) & ~inputs.trial
        in_opportunity = unresolved & ~np.isnan(out.sql_at)
        reason[in_opportunity] = Reason.IN_OPPORTUNITY
        waiting = unresolved & ~in_opportunity
        gone = waiting & (inputs.abandon_at <= horizon) & ~at_work & (inputs.sal_at < horizon)
        reason[gone] = ABANDONED
        out.ended_at[gone] = inputs.abandon_at[gone]
        reason[waiting & ~gone] = Reason.IN_SAL
