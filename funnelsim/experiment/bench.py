"""`funnelsim bench`: the engine's speed against SimPy's own ceiling and the peer libraries.

Everything runs in one sitting and one process tree (memory in fresh child processes), and
contenders take turns within each repeat, so the ratios compare like with like on a noisy machine.
"""

from __future__ import annotations

import gc
import json
import math
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from funnelsim import metrics
from funnelsim._version import __version__
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario
from funnelsim.scenario.units import HOURS_PER_WEEK
from funnelsim.theory import erlang_c_mean_wait

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
    funnel_repeats: int = 3
    memory: bool = True
    seed: int = 20260105


QUICK = BenchConfig(
    mmc_customers=20_000, repeats=3, ciw_repeats=1, ceiling_events=200_000, funnel_sizes=(10_000, 100_000),
    funnel_repeats=1,
)  # fmt: skip


# --- the ceiling and the peers ---------------------------------------------------------------


def ceiling_events_per_second(events: int) -> float:
    """Bare SimPy: one process yielding `env.timeout` events back to back."""

    def ticker(env: simpy.Environment, n: int):
        timeout = env.timeout
        for _ in range(n):
            yield timeout(1.0)

    gc.collect()
    started = time.perf_counter()
    env = simpy.Environment()
    env.process(ticker(env, events))
    env.run()
    return events / (time.perf_counter() - started)


@dataclass
class QueueRun:
    """One timed run of the M/M/c queue by one contender."""

    customers: int
    seconds: float
    mean_wait_hours: float

    @property
    def per_second(self) -> float:
        return self.customers / self.seconds


def mmc_rates(config: BenchConfig) -> tuple[float, float, float]:
    """(arrival rate per hour, service rate per hour, horizon in hours for the customers)."""
    service_rate = 1.0 / config.mmc_mean_service_hours
    arrival_rate = config.mmc_load * config.mmc_servers * service_rate
    return arrival_rate, service_rate, config.mmc_customers / arrival_rate


def warmup_customers(config: BenchConfig) -> int:
    """The first 1% of customers start an empty queue; their waits are left out of the means."""
    return config.mmc_customers // 100


def simpy_mmc(config: BenchConfig, seed: int) -> QueueRun:
    """The plain hand-written SimPy model: a source process, one process per customer, a Resource."""
    arrival_rate, service_rate, _ = mmc_rates(config)
    gc.collect()
    started = time.perf_counter()
    rng = random.Random(seed)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=config.mmc_servers)
    waits: list[float] = []

    def customer(env: simpy.Environment):
        arrived = env.now
        with desk.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(service_rate))

    def source(env: simpy.Environment):
        for _ in range(config.mmc_customers):
            yield env.timeout(rng.expovariate(arrival_rate))
            env.process(customer(env))

    env.process(source(env))
    env.run()
    seconds = time.perf_counter() - started
    return QueueRun(len(waits), seconds, statistics.fmean(waits[warmup_customers(config) :]))


def ciw_available() -> bool:
    try:
        import ciw  # noqa: F401
    except ImportError:
        return False
    return True


def ciw_mmc(config: BenchConfig, seed: int) -> QueueRun:
    """Ciw's own M/M/c network, run until the customers have completed service."""
    import ciw

    arrival_rate, service_rate, horizon = mmc_rates(config)
    gc.collect()
    started = time.perf_counter()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=arrival_rate)],
        service_distributions=[ciw.dists.Exponential(rate=service_rate)],
        number_of_servers=[config.mmc_servers],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(config.mmc_customers, method="Complete")
    records = sim.get_all_records()
    seconds = time.perf_counter() - started
    warm = horizon / 100
    waits = [r.waiting_time for r in records if r.arrival_date >= warm]
    return QueueRun(len(records), seconds, statistics.fmean(waits))


def mmc_scenario(config: BenchConfig) -> Scenario:
    """The same queue as an ordinary funnelsim scenario: every lead an MQL at arrival, the SAL
    queue the only active stage (one attempt that always reaches, no decay, no patience, 24/7
    reps, nothing qualifies, no trials)."""
    arrival_rate, _, horizon = mmc_rates(config)
    return load_scenario(
        {
            "name": "bench-mmc",
            "description": f"M/M/{config.mmc_servers} at load {config.mmc_load} as a funnel",
            "start": "2026-01-05",
            "horizon": f"{horizon!r}h",
            "warmup": f"{horizon / 100!r}h",
            "channels": {"web": {"leads_per_week": arrival_rate * HOURS_PER_WEEK}},
            "nurture": {"touches": [], "mql": {"engagement_min": 0, "fit_min": 0}},
            "self_serve": {"trial": 0},
            "sales": {
                "sdr": {
                    "count": config.mmc_servers,
                    "calendar": "always",
                    "attempts": ["0h"],
                    "reach": 1,
                    "handle_time": {"exponential": {"mean": f"{config.mmc_mean_service_hours!r}h"}},
                },
                "decay": "none",
                "patience": None,
                "qualify": 0,
            },
        }
    )


def funnelsim_mmc(scenario: Scenario, seed: int) -> QueueRun:
    """One replication of the M/M/c scenario; the wait is response delay (MQL to first contact)."""
    gc.collect()
    started = time.perf_counter()
    records = simulate(scenario, seed)
    seconds = time.perf_counter() - started
    leads = records.leads
    contacted = ~np.isnan(leads["first_contact_at"])
    counted = contacted & (leads["sal_at"] >= scenario.warmup)
    wait = leads["first_contact_at"][counted] - leads["sal_at"][counted]
    return QueueRun(int(contacted.sum()), seconds, float(wait.mean()))


def erlang_c_wait_hours(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue of M/M/c (Erlang C), from the validation suite's closed forms."""
    return float(erlang_c_mean_wait(servers, arrival_rate, service_rate))


# --- the full funnel at scale ----------------------------------------------------------------


def scaled_baseline(leads: int, source: str = "baseline") -> Scenario:
    """The baseline funnel grown to about `leads` leads with the same load on every rep.

    Channel rates, bursts, SDR and AE counts are multiplied by one factor; the SDR count is
    rounded to whole reps first and the factor taken from it, so the leads per SDR per hour are
    exactly the baseline's. The horizon then stretches or shrinks (here by at most about 15%)
    so the expected lead count is `leads`.
    """
    base = load_scenario(source)
    sdrs = base.sales.sdr.count
    if not isinstance(sdrs, int):
        raise ValueError("scaled_baseline needs a whole number of SDRs in the base scenario")
    wanted = leads / base.expected_leads()
    new_sdrs = max(1, round(sdrs * wanted))
    factor = new_sdrs / sdrs
    overrides: dict[str, Any] = {"sales.sdr.count": new_sdrs}
    if isinstance(base.sales.ae.count, int):
        overrides["sales.ae.count"] = max(1, round(base.sales.ae.count * factor))
    for name, channel in base.channels.items():
        overrides[f"channels.{name}.leads_per_week"] = channel.leads_per_week * factor
        for i, burst in enumerate(channel.bursts):
            overrides[f"channels.{name}.bursts.{i}.extra_leads"] = burst.extra_leads * factor
    overrides["horizon"] = f"{base.horizon * wanted / factor!r}h"
    scenario = load_scenario(source, overrides)
    return scenario.model_copy(update={"name": f"{base.name}-{leads}"})


@dataclass
class FunnelRun:
    """Median timings of one size of the scaled funnel."""

    target_leads: int
    leads: int
    events: int
    sdrs: int
    horizon_days: float
    model_seconds: float  # simulate()
    seconds: float  # simulate() + metrics.figures(): one replication as `run` does it
    peak_mb_without_records: float | None = None
    peak_mb_with_records: float | None = None
    import_mb: float | None = None

    @property
    def leads_per_second(self) -> float:
        return self.leads / self.seconds

    @property
    def microseconds_per_lead(self) -> float:
        return 1e6 * self.seconds / self.leads


def time_funnel(scenario: Scenario, seed: int) -> tuple[int, int, float, float]:
    """(leads, events, simulate seconds, simulate + figures seconds) of one replication."""
    gc.collect()
    started = time.perf_counter()
    records = simulate(scenario, seed)
    modelled = time.perf_counter()
    metrics.figures(records, scenario)
    done = time.perf_counter()
    return records.n_leads, records.events, modelled - started, done - started


def peak_memory_mb(leads: int, with_records: bool, seed: int) -> dict[str, float]:
    """Peak resident memory of one replication in a fresh child process."""
    code = f"from funnelsim.experiment.bench import _memory_child; _memory_child({leads!r}, {with_records!r}, {seed!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement for {leads} leads failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _memory_child(leads: int, with_records: bool, seed: int) -> None:
    """In the child: one replication; records dropped after the figures, or the lead table built."""
    scenario = scaled_baseline(leads)
    imported = _peak_rss_mb()
    records = simulate(scenario, seed)
    metrics.figures(records, scenario)
    if with_records:
        frame = records.leads_frame(0)
        del frame
    del records
    print(json.dumps({"peak_mb": _peak_rss_mb(), "import_mb": imported}))


def _peak_rss_mb() -> float:
    """This process's peak resident memory. On Linux VmHWM, because ru_maxrss of a child
    started by fork and exec also counts the parent's memory at the fork."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, kB elsewhere


# --- the whole benchmark ----------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def _interval(values: list[float]) -> tuple[float, float]:
    """Mean and 95% t half-width of independent replications."""
    mean, low, high, _ = metrics.interval(np.asarray(values, dtype=np.float64))
    return mean, (high - low) / 2 if len(values) > 1 else math.nan


def run_bench(config: BenchConfig = BenchConfig(), progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure everything; return a JSON-ready dict (see `print_bench` for the table)."""
    say = progress or (lambda message: None)
    arrival_rate, service_rate, _ = mmc_rates(config)
    scenario = mmc_scenario(config)
    with_ciw = ciw_available()
    ceiling: list[float] = []
    runs: dict[str, list[QueueRun]] = {"simpy": [], "ciw": [], "funnelsim": []}
    simulate(scenario, config.seed)  # warm caches (calendars, hour tables) as later replications find them
    for i in range(config.repeats):
        seed = config.seed + i
        say(f"repeat {i + 1}/{config.repeats}: ceiling, SimPy, {'Ciw, ' if with_ciw else ''}funnelsim")
        ceiling.append(ceiling_events_per_second(config.ceiling_events))
        runs["simpy"].append(simpy_mmc(config, seed))
        if with_ciw and i < config.ciw_repeats:
            runs["ciw"].append(ciw_mmc(config, seed))
        runs["funnelsim"].append(funnelsim_mmc(scenario, seed))
    events_per_second = _median(ceiling)

    def queue_summary(name: str) -> dict[str, Any] | None:
        done = runs[name]
        if not done:
            return None
        wait, half = _interval([r.mean_wait_hours for r in done])
        return {
            "customers_per_second": _median([r.per_second for r in done]),
            "customers": _median([float(r.customers) for r in done]),
            "seconds": _median([r.seconds for r in done]),
            "mean_wait_hours": wait,
            "mean_wait_ci_half_hours": half,
            "repeats": len(done),
            "all_customers_per_second": [r.per_second for r in done],
            "all_mean_wait_hours": [r.mean_wait_hours for r in done],
        }

    queue = {name: queue_summary(name) for name in runs}
    funnel_mmc = queue["funnelsim"]
    assert funnel_mmc is not None
    funnel_events = simulate(scenario, config.seed).events

    funnels: list[FunnelRun] = []
    for size in config.funnel_sizes:
        scaled = scaled_baseline(size)
        timings = []
        for r in range(config.funnel_repeats):
            say(f"full funnel, {size:,} leads: repeat {r + 1}/{config.funnel_repeats}")
            timings.append(time_funnel(scaled, config.seed + r))
        run = FunnelRun(
            target_leads=size,
            leads=int(_median([t[0] for t in timings])),
            events=int(_median([t[1] for t in timings])),
            sdrs=int(scaled.sales.sdr.count) if isinstance(scaled.sales.sdr.count, int) else -1,
            horizon_days=scaled.horizon / 24,
            model_seconds=_median([t[2] for t in timings]),
            seconds=_median([t[3] for t in timings]),
        )
        if config.memory:
            say(f"full funnel, {size:,} leads: peak memory in fresh processes")
            without = peak_memory_mb(size, False, config.seed)
            run.peak_mb_without_records = without["peak_mb"]
            run.import_mb = without["import_mb"]
            run.peak_mb_with_records = peak_memory_mb(size, True, config.seed)["peak_mb"]
        funnels.append(run)

    wait_theory = erlang_c_wait_hours(config.mmc_servers, arrival_rate, service_rate)
    result: dict[str, Any] = {
        "config": asdict(config),
        "environment": _environment(),
        "ceiling": {"events_per_second": events_per_second, "all_events_per_second": ceiling},
        "mmc": {
            "servers": config.mmc_servers,
            "load": config.mmc_load,
            "customers": config.mmc_customers,
            "mean_service_hours": config.mmc_mean_service_hours,
            "erlang_c_mean_wait_hours": wait_theory,
            "funnelsim_events": funnel_events,
            "contenders": queue,
        },
        "funnel": [
            asdict(f)
            | {
                "leads_per_second": f.leads_per_second,
                "microseconds_per_lead": f.microseconds_per_lead,
                "bare_events_per_lead": f.seconds / f.leads * events_per_second,
                "model_bare_events_per_lead": f.model_seconds / f.leads * events_per_second,
                "engine_events_per_lead": f.events / f.leads,
            }
            for f in funnels
        ],
    }
    result["targets"] = _targets(result)
    return result


def _environment() -> dict[str, Any]:
    import os

    versions = {"python": platform.python_version(), "simpy": simpy.__version__, "numpy": np.__version__}
    if ciw_available():
        import ciw

        versions["ciw"] = ciw.__version__
    versions["funnelsim"] = __version__
    return {"versions": versions, "machine": platform.platform(), "cpus": os.cpu_count(), "processor": _cpu_name()}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with the measured value and whether it is met."""
    contenders = result["mmc"]["contenders"]
    ours = contenders["funnelsim"]["customers_per_second"]
    rows: list[dict[str, Any]] = []

    def add(name: str, measured: float | None, limit: float, at_least: bool) -> None:
        met = None
        if measured is not None and not math.isnan(measured):
            met = measured >= limit if at_least else measured <= limit
        rows.append({"target": name, "limit": limit, "at_least": at_least, "measured": measured, "met": met})

    add("M/M/c: funnelsim / SimPy Resource (customers/s)", ours / contenders["simpy"]["customers_per_second"],
        TARGET_VS_SIMPY, True)  # fmt: skip
    ciw = contenders.get("ciw")
    vs_ciw = ours / ciw["customers_per_second"] if ciw else None
    add("M/M/c: funnelsim / Ciw (customers/s)", vs_ciw, TARGET_VS_CIW, True)
    funnel = result["funnel"]
    if funnel:
        add("full funnel: bare-event equivalents per lead (worst size)", max(f["bare_events_per_lead"] for f in funnel),
            TARGET_EVENTS_PER_LEAD, False)  # fmt: skip
        smallest, largest = min(funnel, key=lambda f: f["leads"]), max(funnel, key=lambda f: f["leads"])
        scaling = largest["microseconds_per_lead"] / smallest["microseconds_per_lead"] if len(funnel) > 1 else None
        add(f"full funnel: cost per lead at {largest['target_leads']:,} / at {smallest['target_leads']:,}", scaling,
            TARGET_SCALING, False)  # fmt: skip
        at_target = [f for f in funnel if f["target_leads"] == MEMORY_TARGET_LEADS]
        big = at_target[0] if at_target else None
        add(f"peak MB at {MEMORY_TARGET_LEADS:,} leads, without per-lead records",
            big["peak_mb_without_records"] if big else None, TARGET_MB_WITHOUT_RECORDS, False)  # fmt: skip
        add(f"peak MB at {MEMORY_TARGET_LEADS:,} leads, with per-lead records",
            big["peak_mb_with_records"] if big else None, TARGET_MB_WITH_RECORDS, False)  # fmt: skip
    return rows


def write_bench(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
    tmp.replace(path)
