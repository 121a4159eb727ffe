"""The AE pipeline: an SQL becomes an opportunity that holds an AE slot for its sales cycle.

One process per AE slot (`ae_slot`), the same story as an SDR's: take the deal that has waited
longest for a slot, start it at the AE calendar's next open hour, work it for its sales cycle
(closing at the next open hour after it), win or lose it, and take the next; wait when no deal
is waiting. A slot's process starts with the first deal that finds every open slot busy, up to
the pipeline's capacity; an unlimited pipeline is the same code with no limit.

A deal costs the calendar one event (its close), plus the wake-up of a slot that was waiting for
it; a slot is a process for the rest of the run, so nothing is started or ended per deal. Only
the earliest closes are on SimPy's calendar at any moment; the others wait here, in close order,
until they are next, so the SDRs' events are not sifted through a heap of every open deal.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from heapq import heappop, heappush
from itertools import count
from typing import Protocol

import numpy as np
import simpy
from simpy.events import Event

from funnelsim.model.calendar import WorkCalendar
from funnelsim.model.columns import bools, floats, ints
from funnelsim.model.environment import DealCloses
from funnelsim.model.records import Reason

ASSISTED, DEAL_LOST = int(Reason.ASSISTED), int(Reason.DEAL_LOST)  # plain ints for the memoryview writes


class DealColumns(Protocol):
    """The per-lead output columns the pipeline writes."""

    ae_slot_at: np.ndarray
    opportunity_at: np.ndarray
    closed_at: np.ndarray
    reason: np.ndarray
    ended_at: np.ndarray


class AePipeline:
    """AE slots (count x capacity, or unlimited) and the deals working through them."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        slots: int | None,
        calendar: WorkCalendar,
        cycle_hours: np.ndarray,
        win_draw: np.ndarray,
        win_chance: np.ndarray,
        out: DealColumns,
    ) -> None:
        self.env = env
        self.capacity = slots  # None: unlimited
        self.opened = 0  # slots whose process has started
        self.waiting: deque[int] = deque()  # deals waiting for a slot, oldest first
        self.idle_slots: deque[Event] = deque()  # wake-up events of slots with no deal, longest idle first
        self.stories: list[Generator[Event, object, None]] = []  # the slots' processes
        self.calendar = calendar
        self.cycle = floats(cycle_hours)
        self.wins = bools(win_draw < win_chance)
        self.ae_slot_at = floats(out.ae_slot_at)
        self.opportunity_at, self.closed_at = floats(out.opportunity_at), floats(out.closed_at)
        self.reason, self.ended_at = ints(out.reason), floats(out.ended_at)
        self.on_calendar: list[float] = []  # heap of the instants of the closes on SimPy's calendar
        self.later: list[tuple[float, int, DealCloses]] = []  # heap of the other closes: (instant, order, event)
        self.order = count()  # deals in the order their closes were made (SimPy's order among equal instants)
        self.closed = self._closed  # bound once: a callback of every close put on the calendar

    def open_opportunity(self, lead: int) -> None:
        """An SQL enters the pipeline now: it waits for a slot, first come first served."""
        self.waiting.append(lead)
        if self.idle_slots:
            self.idle_slots.popleft().succeed()
        elif self.capacity is None or self.opened < self.capacity:
            self.opened += 1
            story = self.ae_slot()
            self.stories.append(story)
            self.env.process(story)

    def ae_slot(self) -> Generator[Event, object, None]:
        """An AE slot's working life: take the oldest waiting deal, start it at the next open hour,
        close it after its cycle; wait when no deal is waiting."""
        env, calendar, waiting = self.env, self.calendar, self.waiting
        cycle, wins = self.cycle, self.wins
        ae_slot_at, opportunity_at, closed_at = self.ae_slot_at, self.opportunity_at, self.closed_at
        reason, ended_at = self.reason, self.ended_at
        while True:
            if not waiting:
                woken = env.event()
                self.idle_slots.append(woken)
                yield woken
                continue
            lead = waiting.popleft()
            now = env.now
            ae_slot_at[lead] = now
            starts = calendar.next_open(now)
            opportunity_at[lead] = starts
            closes = calendar.next_open(starts + cycle[lead])
            yield self.close_at(now + (closes - now))  # the instant SimPy gives a delay of closes - now
            closed_at[lead] = closes
            reason[lead] = ASSISTED if wins[lead] else DEAL_LOST
            ended_at[lead] = closes

    def close_at(self, instant: float) -> DealCloses:
        """The event of a deal closing at `instant`: on the calendar now if it is the earliest
        close, otherwise kept here until it is (equal instants keep the order they were made in)."""
        event = DealCloses(self.env)
        if not self.on_calendar or instant < self.on_calendar[0]:
            self._put_on_calendar(event, instant)
        else:
            heappush(self.later, (instant, next(self.order), event))
        return event

    def _put_on_calendar(self, event: DealCloses, instant: float) -> None:
        heappush(self.on_calendar, instant)
        event.delay = delay_until(self.env.now, instant)
        event.callbacks.insert(0, self.closed)  # before its slot's process resumes
        event.succeed()

    def _closed(self, event: Event) -> None:
        """The earliest close falls due: the next close kept here goes on the calendar if it is
        now the earliest."""
        on_calendar, later = self.on_calendar, self.later
        heappop(on_calendar)
        if later and (not on_calendar or later[0][0] < on_calendar[0]):
            instant, _, next_close = heappop(later)
            self._put_on_calendar(next_close, instant)

    def close_books(self) -> None:
        """Nothing to settle: deals still open at the horizon stay open in the records."""


def delay_until(now: float, instant: float) -> float:
    """The delay SimPy turns into `instant` exactly (it schedules at `now + delay`)."""
    delay = instant - now
    while now + delay < instant:
        delay = math.nextafter(delay, math.inf)
    while now + delay > instant:
        delay = math.nextafter(delay, -math.inf)
    return delay
