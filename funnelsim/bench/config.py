"""What `funnelsim bench` measures and how often, and the speed targets it reports against."""

from __future__ import annotations

from dataclasses import dataclass

# Targets (docs/performance.md; the desk-as-processes issue raised them): measured here, never in a timed test.
TARGET_VS_SIMPY = 3.5  # funnelsim customers/s over the hand-written simpy.Resource model's
TARGET_VS_CIW = 8.0
TARGET_EVENTS_PER_LEAD = 6.0  # bare-event equivalents per lead, full funnel
TARGET_SCALING = 1.25  # cost per lead at the largest size over the smallest
TARGET_MB_WITHOUT_RECORDS = 400.0  # peak memory at 1,000,000 leads
TARGET_MB_WITH_RECORDS = 1500.0
MEMORY_TARGET_LEADS = 1_000_000


@dataclass(frozen=True)
class BenchConfig:
    """What to measure and how often; `quick` is a smoke run of the same code."""

    mmc_servers: int = 5
    mmc_load: float = 0.9
    mmc_customers: int = 200_000
    mmc_mean_service_hours: float = 0.1  # a 6-minute call; arrivals every 80 s on average
    repeats: int = 5  # M/M/c and ceiling repeats (median taken); each repeat has its own seed
    ciw_repeats: int = 3  # Ciw is the slowest contender; its median is over fewer repeats
    ceiling_events: int = 1_000_000
    funnel_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    funnel_repeats: int = 3  # at least; a small funnel repeats until about `funnel_seconds` are timed
    funnel_seconds: float = 1.0
    memory: bool = True
    phase_runs: int = 3  # fresh `funnelsim run baseline` processes timed by phase (0: none)
    seed: int = 20260105


FULL = BenchConfig()
QUICK = BenchConfig(
    mmc_customers=20_000, repeats=3, ciw_repeats=1, ceiling_events=200_000, funnel_sizes=(10_000, 100_000),
    funnel_repeats=1, funnel_seconds=0.0, phase_runs=1,
)  # fmt: skip
