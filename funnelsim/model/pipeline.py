"""The AE pipeline: an SQL becomes an opportunity that holds an AE slot for its sales cycle.

One process per open deal (`opportunity`): wait for a free AE slot (a SimPy resource, first come
first served), start at the AE calendar's next open hour, work the deal for its sales cycle
(closing at the next open hour after it), then win or lose it and free the slot. An unlimited
pipeline is the same code on a resource with no practical limit.
"""

from __future__ import annotations

import sys
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
        self.slots = simpy.Resource(env, capacity=sys.maxsize if slots is None else slots)
        self.calendar = calendar
        self.cycle = floats(cycle_hours)
        self.wins = bools(win_draw < win_chance)
        self.ae_slot_at = floats(out.ae_slot_at)
        self.opportunity_at, self.closed_at = floats(out.opportunity_at), floats(out.closed_at)
        self.reason, self.ended_at = ints(out.reason), floats(out.ended_at)

    def open_opportunity(self, lead: int) -> None:
        """An SQL enters the pipeline now."""
        self.env.process(self.opportunity(lead))

    def opportunity(self, lead: int) -> Generator[Event, object, None]:
        """A deal's life: wait for an AE slot, start at the next open hour, close after its cycle."""
        env, calendar = self.env, self.calendar
        with self.slots.request() as slot:
            yield slot
            self.ae_slot_at[lead] = env.now
            starts = calendar.next_open(env.now)
            self.opportunity_at[lead] = starts
            closes = calendar.next_open(starts + self.cycle[lead])
            yield DealCloses(env, closes - env.now)
            self.closed_at[lead] = closes
            self.reason[lead] = ASSISTED if self.wins[lead] else DEAL_LOST
            self.ended_at[lead] = closes

    def close_books(self) -> None:
        """Nothing to settle: deals still open at the horizon stay open in the records."""
