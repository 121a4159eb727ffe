"""The desk's SimPy environment and the one rule for events at the same instant.

Events at one instant run in this order, by SimPy event priority (then in the order scheduled):

1. ``URGENT`` (SimPy's own): a process starting, e.g. an SDR hired for an unlimited desk or an
   AE slot opened for a deal;
2. ``REP_FREE`` (SimPy's ``NORMAL``): an SDR finishing an attempt or coming on shift, a
   waiting SDR being handed a lead and a waiting AE slot a deal (plain ``env.timeout`` and
   ``event.succeed()``);
3. ``LEAD_DUE``: an MQL joining the SAL queue, a follow-up falling due;
4. ``DEAL_CLOSES``: an AE deal closing, after every SQL of that instant.

So a rep that finishes at 10:00 is free before a lead arriving at 10:00 is handed out, and the
lead goes to the rep that has waited longest. Leads falling due at the same instant (two
follow-ups of leads first called when the shift opened, say) all join the SAL queue before
any SDR picks among them. Nothing else orders simultaneous events.
"""

from __future__ import annotations

import simpy
from simpy.core import SimTime
from simpy.events import NORMAL, URGENT, Event, EventPriority, Timeout

REP_FREE = NORMAL
LEAD_DUE = EventPriority(NORMAL + 1)
DEAL_CLOSES = EventPriority(NORMAL + 2)

__all__ = ["DEAL_CLOSES", "LEAD_DUE", "REP_FREE", "URGENT", "DealCloses", "DeskEnvironment", "LeadDue"]


class LeadDue(Timeout):
    """A lead becoming due for an attempt: an MQL joining the SAL queue, a follow-up falling due."""


class DealCloses(Timeout):
    """The end of a deal's sales cycle."""


PRIORITY_OF_EVENT: dict[type, EventPriority] = {LeadDue: LEAD_DUE, DealCloses: DEAL_CLOSES}
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
        _schedule(self, event, _priority_of_event(event.__class__, priority), delay)
