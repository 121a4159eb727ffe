"""The desk's SimPy environment and the one rule for events at the same instant.

Events at one instant run in this order, by SimPy event priority (then in the order scheduled):

1. ``URGENT`` (SimPy's own): a process starting, e.g. an SDR hired for an unlimited desk or an
   AE slot opened for a deal;
2. ``REP_FREE`` (SimPy's ``NORMAL``): an SDR finishing an attempt or coming on shift, a
   waiting SDR being handed a lead and a waiting AE slot a deal (plain ``env.timeout``,
   ``event.succeed()``, and ``process.interrupt()``, which the desk uses only to hand a lead
   to an idle SDR and so ranks here, not at SimPy's ``URGENT``);
3. ``LEAD_DUE``: an MQL joining the SAL queue, a follow-up falling due (a ``LeadDue``, or the
   ``Handoff`` of the SDR that has waited longest, delivered when the lead falls due);
4. ``DEAL_CLOSES``: an AE deal closing, after every SQL of that instant.

So a rep that finishes at 10:00 is free before a lead arriving at 10:00 is handed out, and the
lead goes to the rep that has waited longest. Leads falling due at the same instant (two
follow-ups of leads first called when the shift opened, say) all join the SAL queue before
any SDR picks among them. Nothing else orders simultaneous events.
"""

from __future__ import annotations

import simpy
from simpy.core import SimTime
from simpy.events import NORMAL, URGENT, Event, EventPriority, Interruption, Timeout

REP_FREE = NORMAL
LEAD_DUE = EventPriority(NORMAL + 1)
DEAL_CLOSES = EventPriority(NORMAL + 2)

__all__ = ["DEAL_CLOSES", "LEAD_DUE", "REP_FREE", "URGENT", "DealCloses", "DeskEnvironment", "Handoff", "LeadDue"]


class LeadDue(Timeout):
    """A lead becoming due for an attempt: an MQL joining the SAL queue, a follow-up falling due."""

    process: simpy.Process | None = None  # an idle SDR's process waiting on it, if one does
    on_calendar = True  # triggered when made (`event.triggered`, without a property call on the hot path)


class DealCloses(Event):
    """The end of a deal's sales cycle, the event its AE slot's process waits on.

    The AE pipeline puts only the earliest closes on the calendar (succeeded with a ``delay``)
    and keeps the rest itself until they are next, so SimPy's heap holds about one event per
    busy SDR, not one per open deal as well (a thousand at a million leads a year).
    """

    delay: SimTime = 0
    priority: EventPriority = DEAL_CLOSES


class Handoff(Event):
    """An idle SDR's wake-up, the event its process waits on.

    Succeeded as it is, it is delivered now (``REP_FREE``): a lead for that SDR now. Given a
    ``delay`` and the ``LEAD_DUE`` priority before it is succeeded, it is delivered when the
    next lead falls due, in the place of a `LeadDue`: the lead's event resumes the SDR
    itself, so a lead that finds an SDR idle costs one event, not two.
    """

    delay: SimTime = 0
    priority: EventPriority = REP_FREE
    process: simpy.Process | None = None  # the SDR's process, which waits on this event (set by the desk)
    on_calendar = False  # set when the desk succeeds it with its lead's delay


PRIORITY_OF_EVENT: dict[type, EventPriority] = {LeadDue: LEAD_DUE, Interruption: REP_FREE}
_priority_of_event = PRIORITY_OF_EVENT.get
_schedule = simpy.Environment.schedule


class DeskEnvironment(simpy.Environment):
    """SimPy's environment, giving the desk's own events their same-instant priority.

    It also counts every event put on the calendar (the work a replication schedules), which the
    event-count tests pin.
    """

    def __init__(self, initial_time: SimTime = 0) -> None:
        super().__init__(initial_time)
        self.events_scheduled = 0

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: SimTime = 0) -> None:
        self.events_scheduled += 1
        # SimPy's own schedule, called directly: `super()` would cost as much as the rest of this
        # method on every event
        kind = event.__class__
        if kind is Timeout:  # an attempt, or a rep waiting for the shift: first, the most frequent
            _schedule(self, event, priority, delay)
        elif kind is Handoff or kind is DealCloses:  # succeeded now, delivered after their delay
            _schedule(self, event, event.priority, event.delay)  # type: ignore[attr-defined]
        else:
            _schedule(self, event, _priority_of_event(kind, priority), delay)
