"""The SAL queue of a pool of SDRs: leads fall due (MQLs and follow-ups) and are taken in, in time order.

The desk's processes (`model/sales.py`) look here for work; the order among waiting leads is
the queue discipline's (`model/queues.py`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count

from simpy.events import Event

from funnelsim.model.columns import Column
from funnelsim.model.environment import Handoff, LeadDue
from funnelsim.model.queues import QueueDiscipline

INF = math.inf


def _unset(event: Event) -> None:
    raise RuntimeError("a SalQueue's `hand_out` is set by the desk that works it")


class SalQueue:
    """The SAL queue of one pool of SDRs (all of them, or one SDR under round robin).

    Its MQLs come in SAL order from its share of the MQL feed (`enters_at[first::step]`); its
    follow-ups come from the desk as they are scheduled. A lead is in the queue from the moment
    its attempt is due; the queue takes it in, in time order (an MQL before a follow-up due at
    the same instant), when an SDR looks for work, so a lead that falls due while every SDR is
    busy or off shift costs no event. Leads wait in `waiting`, ordered by the discipline; SDRs
    with nothing to do wait in `idle_reps` (the events they wait on), first come first served.
    """

    def __init__(self, discipline: QueueDiscipline, enters_at: Column[float], first: int, step: int) -> None:
        self.waiting = discipline
        self.idle_reps: deque[Handoff | LeadDue] = deque()
        self.enters_at = enters_at
        self.next_mql = first  # the first MQL of this queue's share not yet taken in
        self.step = step
        self.stop = len(enters_at)
        self.next_mql_at = enters_at[first] if first < self.stop else INF  # when it falls due
        self.follow_ups: list[tuple[float, int, int]] = []  # heap of (due, order, lead) not yet taken in
        self.follow_up_order = count()
        self.next_due_at = self.next_mql_at  # when the next lead not yet taken in falls due
        # times of the events waiting to hand out leads (LeadDue, or an idle SDR's Handoff), latest
        # first: a new one is only scheduled before all of them, and they fire in time order, so
        # it is a stack; `wake_events` holds the events themselves
        self.wake_times: list[float] = []
        self.wake_events: list[Handoff | LeadDue] = []
        self.hand_out: Callable[[Event], None] = _unset  # the desk's callback of those events

    def add_follow_up(self, due: float, lead: int) -> None:
        """A follow-up that falls due later joins the queue then."""
        heappush(self.follow_ups, (due, next(self.follow_up_order), lead))
        if due < self.next_due_at:
            self.next_due_at = due

    def take_in(self, now: float, including_now: bool) -> int:
        """Take in the leads due by `now`, in time order; how many.

        An SDR freed at `now` takes in only those due before it: a lead due at the same
        instant goes to the SDR that has waited longest (see model/environment.py)."""
        enters_at, step, stop, waiting, follow_ups = self.enters_at, self.step, self.stop, self.waiting, self.follow_ups
        i, mql_at, taken = self.next_mql, self.next_mql_at, 0
        while True:
            if follow_ups and follow_ups[0][0] < mql_at:
                due = follow_ups[0][0]
                if not (due < now or (including_now and due == now)):
                    break
                waiting.push(heappop(follow_ups)[2], False)
            elif mql_at < now or (including_now and mql_at == now):
                waiting.push(i, True)
                i += step
                mql_at = enters_at[i] if i < stop else INF
            else:
                break
            taken += 1
        self.next_mql = i
        self.next_mql_at = mql_at
        follow_up_at = follow_ups[0][0] if follow_ups else INF
        self.next_due_at = follow_up_at if follow_up_at < mql_at else mql_at  # min(), without the call
        return taken
