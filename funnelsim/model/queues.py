"""SAL queue disciplines: which waiting lead an SDR takes next.

A discipline is a small class behind one protocol (`push`, `pop`, `len`), registered under the
name a scenario's `sales.queue` gives. Leads are pushed in the order they become due (MQLs
when their first attempt is due, follow-ups when they fall due); a lead is an integer index
into the desk's per-lead arrays, which a discipline reads through `LeadView`.

A discipline of your own is a class with these three methods, registered with
`register_discipline(name)`: the README shows one in a few lines (newest first among paid leads).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappop, heappush
from itertools import count
from typing import Protocol, TypeVar

from funnelsim.model.columns import Column
from funnelsim.scenario.schema import QUEUE_DISCIPLINES

NO_LEAD = -1
"""What `pop` returns when no lead is waiting."""
NO_CHANNEL = -1
"""What `LeadView.channel_code` returns for a channel the scenario does not have."""


@dataclass(frozen=True)
class LeadView:
    """What a discipline may read of the leads in the SAL queue (indexed by lead, read-only)."""

    sal_at: Column[float]  # clock hours at which the lead was accepted by sales
    fit: Column[float]  # ICP fit in [0, 1]
    channel: Column[int]  # channel code: an index into `channel_names`
    channel_names: tuple[str, ...]
    sla_hours: float  # the scenario's first-response SLA

    def channel_code(self, name: str) -> int:
        """The code of a channel by name (NO_CHANNEL if the scenario has no such channel)."""
        return self.channel_names.index(name) if name in self.channel_names else NO_CHANNEL


class QueueDiscipline(Protocol):
    """The order in which an SDR takes waiting leads."""

    def push(self, lead: int, first_attempt: bool) -> None:
        """A lead becomes due: its first attempt (`first_attempt`) or a follow-up."""

    def pop(self, now: float) -> int:
        """The lead to call next at clock time `now`, removed from the queue; NO_LEAD if none."""

    def __len__(self) -> int:
        """Leads waiting."""


DisciplineFactory = Callable[[LeadView], QueueDiscipline]
DISCIPLINES: dict[str, DisciplineFactory] = {}
D = TypeVar("D")


def register_discipline(name: str, description: str = "") -> Callable[[D], D]:
    """Register a discipline class under `name`, so `sales.queue: <name>` selects it."""

    def register(factory: D) -> D:
        DISCIPLINES[name] = factory  # type: ignore[assignment]
        summary = (getattr(factory, "__doc__", None) or name).strip().splitlines()[0]
        QUEUE_DISCIPLINES[name] = description or summary
        return factory

    return register


def make_discipline(name: str, leads: LeadView) -> QueueDiscipline:
    """A new, empty queue of the discipline registered as `name`."""
    return DISCIPLINES[name](leads)


@register_discipline("fifo")
class OldestFirst:
    """Oldest ready lead first (MQLs and follow-ups in the order they fell due)."""

    def __init__(self, leads: LeadView) -> None:
        self.waiting: deque[int] = deque()

    def push(self, lead: int, first_attempt: bool) -> None:
        self.waiting.append(lead)

    def pop(self, now: float) -> int:
        return self.waiting.popleft() if self.waiting else NO_LEAD

    def __len__(self) -> int:
        return len(self.waiting)


@register_discipline("lifo")
class NewestFirst:
    """Newest ready lead first."""

    def __init__(self, leads: LeadView) -> None:
        self.waiting: list[int] = []

    def push(self, lead: int, first_attempt: bool) -> None:
        self.waiting.append(lead)

    def pop(self, now: float) -> int:
        return self.waiting.pop() if self.waiting else NO_LEAD

    def __len__(self) -> int:
        return len(self.waiting)


@register_discipline("score")
class BestFitFirst:
    """Best-fit lead first; ties go to the lead that fell due first."""

    def __init__(self, leads: LeadView) -> None:
        self.fit = leads.fit
        self.waiting: list[tuple[float, int, int]] = []
        self.order = count()

    def push(self, lead: int, first_attempt: bool) -> None:
        heappush(self.waiting, (-self.fit[lead], next(self.order), lead))

    def pop(self, now: float) -> int:
        return heappop(self.waiting)[2] if self.waiting else NO_LEAD

    def __len__(self) -> int:
        return len(self.waiting)


@register_discipline("sla")
class SlaFirst:
    """First contacts still inside the SLA first (oldest first: earliest deadline); then the rest."""

    def __init__(self, leads: LeadView) -> None:
        self.sal_at = leads.sal_at
        self.sla_hours = leads.sla_hours
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
        return breached.popleft() if breached else NO_LEAD

    def __len__(self) -> int:
        return len(self.inside) + len(self.breached)
