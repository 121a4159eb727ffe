"""The AE pipeline: an SQL becomes an opportunity that holds an AE slot for its sales cycle.

One process per AE slot (`ae_slot`), the same story as an SDR's: take the deal that has waited
longest for a slot, start it at the AE calendar's next open hour, work it for its sales cycle
(closing at the next open hour after it), win or lose it, and take the next; wait when no deal
is waiting. A slot's process starts with the first deal that finds every open slot busy, up to
the pipeline's capacity; an unlimited pipeline is the same code with no limit.

A deal costs the calendar one event (its close), plus the wake-up of a slot that was waiting for
it; a slot is a process for the rest of the run, so nothing is started or ended per deal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
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
            yield DealCloses(env, closes - now)
            closed_at[lead] = closes
            reason[lead] = ASSISTED if wins[lead] else DEAL_LOST
            ended_at[lead] = closes

    def close_books(self) -> None:
        """Nothing to settle: deals still open at the horizon stay open in the records."""
