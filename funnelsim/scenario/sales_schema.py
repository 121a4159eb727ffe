"""The scenario's sales section: the SAL queue, speed to lead, decay, qualification, the AE pipeline.

Split from `schema.py` to keep each file readable; `schema.py` re-exports every name here.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from funnelsim.scenario.distributions import Distribution, constant
from funnelsim.scenario.fields import (
    ALWAYS,
    AmountDist,
    Cadence,
    DurationDist,
    Factor,
    Headcount,
    Hours,
    Money,
    PositiveHours,
    Probability,
    Strict,
)


class FitChance(Strict):
    """A chance for a perfect-fit lead, scaled by (1 - fit_weight) + fit_weight * fit."""

    chance: Probability
    fit_weight: Probability = 0.0

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"chance": value}
        return value

    def at(self, fit: Any) -> Any:
        """The chance for a lead of ICP fit `fit` (a number or an array of them)."""
        return self.chance * ((1.0 - self.fit_weight) + self.fit_weight * fit)


class AutoTouch(Strict):
    """An instant automated reply on MQL; it is not a contact attempt but slows the decay."""

    enabled: bool = False
    decay_slowdown: float = Field(2.0, ge=1, le=1000, allow_inf_nan=False)
    cost_per_month: Money = 0.0  # the tool's cost, counted in CAC when enabled

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value


class FastDecay(Strict):
    """The hot part of a lead's interest: the share that fades within minutes."""

    share: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
    half_life: PositiveHours


class SlowDecay(Strict):
    """The lasting part of a lead's interest: the rest, fading over days."""

    half_life: PositiveHours


class Decay(Strict):
    """How a lead's interest falls with the time since MQL (f(0) = 1, never rising).

    Three forms: `half_life` (one exponential), `fast` + `slow` (a mixture of two exponentials,
    f(d) = share x 2^(-d / fast.half_life) + (1 - share) x 2^(-d / slow.half_life), smooth and
    monotone: the bundled form, fitted to the published lead-response figures), or a `table` of
    (delay, factor) points interpolated linearly, for users with their own data. None: no decay.
    """

    half_life: PositiveHours | None = None
    fast: FastDecay | None = None
    slow: SlowDecay | None = None
    table: list[tuple[Hours, Probability]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value is None or value == "none":
            return {}
        return value

    @field_validator("table", mode="before")
    @classmethod
    def _table_pairs(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, list) or not value:
            raise ValueError("expected a list of [delay, factor] points, e.g. [[0min, 1.0], [1h, 0.4]]")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Decay:
        forms = [name for name, value in (("half_life", self.half_life), ("table", self.table)) if value is not None]
        if self.fast is not None or self.slow is not None:
            forms.insert(1 if self.half_life is not None else 0, "fast/slow")
        if len(forms) > 1:
            nulls = {"half_life": ["half_life"], "fast/slow": ["fast", "slow"], "table": ["table"]}
            switch = " ".join(f"--set sales.decay.{key}=null" for form in forms[1:] for key in nulls[form])
            raise ValueError(
                f"give one form of decay, not both {' and '.join(forms)} (to switch form, set the other to null, "
                f"e.g. {switch})"
            )
        if (self.fast is None) != (self.slow is None):
            raise ValueError(
                "a two-speed decay needs both parts, e.g. {fast: {share: 0.8, half_life: 10min}, slow: {half_life: 1d}}"
            )
        if self.fast is not None and self.slow is not None and self.fast.half_life >= self.slow.half_life:
            raise ValueError(
                f"expected fast.half_life shorter than slow.half_life, got {self.fast.half_life:g} h "
                f"and {self.slow.half_life:g} h"
            )
        if self.table is not None:
            delays = [d for d, _ in self.table]
            if any(b <= a for a, b in pairwise(delays)):
                raise ValueError("expected table delays in increasing order")
        return self

    @property
    def decays(self) -> bool:
        """Whether interest fades at all."""
        return self.half_life is not None or self.fast is not None or bool(self.table)


class SdrPool(Strict):
    """SDRs who make first contact: how many, when they work, how long an attempt takes."""

    count: Headcount = 2
    calendar: str = ALWAYS
    handle_time: DurationDist = Field(default_factory=lambda: constant(0.25, "duration"))
    attempts: Cadence = Field(default_factory=lambda: [0.0], min_length=1, max_length=100)
    """The cadence: the first entry is when the first attempt falls due after the SAL (usually 0h);
    each later entry is when that follow-up falls due, counted from the start of the first attempt,
    because a cadence is a sequence a rep starts with the first call."""
    min_gap: Hours = 0.5
    """No attempt on a lead starts sooner than this after its previous attempt ended. Default 30 min:
    an assumption (a redial within half an hour of a missed call reads as pestering)."""
    reach: Probability = 1.0


class AePool(Strict):
    """Account executives who work opportunities through the sales cycle."""

    count: Headcount = 1
    capacity: int = Field(25, ge=1, le=10_000)
    calendar: str = ALWAYS
    cycle: DurationDist = Field(default_factory=lambda: constant(21 * 24.0, "duration"))
    win: FitChance = Field(default_factory=lambda: FitChance(chance=0.25))


QUEUE_DISCIPLINES: dict[str, str] = {
    "fifo": "Oldest ready lead first",
    "lifo": "Newest ready lead first",
    "score": "Best-fit lead first",
    "sla": "First contacts inside the SLA first, then the rest",
}
"""Queue disciplines by name: the built-in ones, and any registered with `register_discipline`."""
Routing = Literal["pooled", "round_robin"]


class Sales(Strict):
    """The sales funnel: SAL queue, speed to lead, qualification and the AE pipeline."""

    accept: Probability = 1.0
    sdr: SdrPool = Field(default_factory=SdrPool)
    queue: str = "fifo"
    routing: Routing = "pooled"
    sla: PositiveHours = 1.0
    auto_touch: AutoTouch = Field(default_factory=AutoTouch)
    decay: Decay = Field(default_factory=Decay)
    patience: DurationDist | None = None
    qualify: FitChance = Field(default_factory=lambda: FitChance(chance=0.45))
    ae: AePool = Field(default_factory=AePool)
    assisted_uplift: Factor = 1.0
    deal_mrr: AmountDist = Field(default_factory=lambda: constant(500.0))

    @field_validator("queue")
    @classmethod
    def _known_discipline(cls, value: str) -> str:
        if value not in QUEUE_DISCIPLINES:
            known = ", ".join(QUEUE_DISCIPLINES)
            raise ValueError(f"expected one of {known} (or a discipline registered with register_discipline)")
        return value

    @field_validator("patience")
    @classmethod
    def _patience_positive(cls, value: Distribution | None) -> Distribution | None:
        if value is not None and not value.mean() > 0:
            raise ValueError("expected a patience above zero (leave patience out for leads that never give up)")
        return value
