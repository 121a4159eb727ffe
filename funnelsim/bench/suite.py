"""The whole benchmark in one sitting: the ceiling and the M/M/c contenders, then the funnel at scale.

Contenders take turns within each repeat and memory is measured in fresh child processes, so the
ratios compare like with like on a noisy machine. The result is a JSON-ready dict; the CLI prints it.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from funnelsim import metrics
from funnelsim._version import __version__
from funnelsim.bench.config import (
    FULL,
    MEMORY_TARGET_LEADS,
    TARGET_EVENTS_PER_LEAD,
    TARGET_MB_WITH_RECORDS,
    TARGET_MB_WITHOUT_RECORDS,
    TARGET_SCALING,
    TARGET_VS_CIW,
    TARGET_VS_SIMPY,
    BenchConfig,
)
from funnelsim.bench.funnel import FunnelRun, peak_memory_mb, scaled_baseline, time_funnel
from funnelsim.bench.mmc import (
    QueueRun,
    ceiling_events_per_second,
    ciw_available,
    ciw_mmc,
    funnelsim_mmc,
    mmc_rates,
    mmc_scenario,
    simpy_mmc,
)
from funnelsim.bench.phases import TARGET_SIMULATE_SHARE, run_phases
from funnelsim.model.simulate import simulate
from funnelsim.scenario.schema import Scenario
from funnelsim.theory import erlang_c_mean_wait


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def _interval(values: list[float]) -> tuple[float, float]:
    """Mean and 95% t half-width of independent replications."""
    mean, low, high, _ = metrics.interval(np.asarray(values, dtype=np.float64))
    return mean, (high - low) / 2 if len(values) > 1 else math.nan


def run_bench(config: BenchConfig = FULL, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
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
        ours = runs["funnelsim"]
        return {
            "customers_per_second": _median([r.per_second for r in done]),
            # funnelsim's rate over this contender's, repeat by repeat (the two ran back to back)
            "funnelsim_ratio": _median([a.per_second / b.per_second for a, b in zip(ours, done)]),
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
        timings, size_ceiling = _time_funnel_size(scaled, size, config, say)
        run = FunnelRun(
            target_leads=size,
            leads=int(_median([t[0] for t in timings])),
            events=int(_median([t[1] for t in timings])),
            sdrs=int(scaled.sales.sdr.count) if isinstance(scaled.sales.sdr.count, int) else -1,
            horizon_days=scaled.horizon / 24,
            model_seconds=_median([t[2] for t in timings]),
            seconds=_median([t[3] for t in timings]),
            repeats=len(timings),
            ceiling_events_per_second=size_ceiling,
        )
        if config.memory:
            say(f"full funnel, {size:,} leads: peak memory in fresh processes")
            without = peak_memory_mb(size, False, config.seed)
            run.peak_mb_without_records = without["peak_mb"]
            run.import_mb = without["import_mb"]
            run.peak_mb_with_records = peak_memory_mb(size, True, config.seed)["peak_mb"]
        funnels.append(run)

    wait_theory = erlang_c_mean_wait(config.mmc_servers, arrival_rate, service_rate)
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
                # against SimPy's ceiling measured alongside this size, not an hour earlier
                "bare_events_per_lead": f.seconds / f.leads * f.ceiling_events_per_second,
                "model_bare_events_per_lead": f.model_seconds / f.leads * f.ceiling_events_per_second,
                "engine_events_per_lead": f.events / f.leads,
            }
            for f in funnels
        ],
    }
    if config.phase_runs > 0:
        say(f"funnelsim run baseline, by phase: {config.phase_runs} fresh processes")
        result["run_phases"] = run_phases(config.phase_runs)
    result["targets"] = _targets(result)
    return result


def _time_funnel_size(
    scenario: Scenario, size: int, config: BenchConfig, say: Callable[[str], None]
) -> tuple[list[tuple[int, int, float, float]], float]:
    """Timed replications of one funnel size, and SimPy's ceiling measured between them.

    A small funnel repeats until about `config.funnel_seconds` are timed (a 10,000-lead
    replication takes some 40 ms, so three of them are at the mercy of one hiccup); the
    ceiling runs before every third of the repeats, so bare-event equivalents compare two
    speeds of the machine measured in the same minute."""
    first = time_funnel(scenario, config.seed)
    repeats = max(config.funnel_repeats, math.ceil(config.funnel_seconds / max(first[3], 1e-9)))
    every = math.ceil(repeats / 3)
    timings, ceilings = [first], []
    for r in range(repeats):
        if r % every == 0:
            ceilings.append(ceiling_events_per_second(config.ceiling_events // 2))
        if r > 0:
            say(f"full funnel, {size:,} leads: repeat {r + 1}/{repeats}")
            timings.append(time_funnel(scenario, config.seed + r))
    return timings, _median(ceilings)


def _environment() -> dict[str, Any]:
    versions = {"python": platform.python_version(), "simpy": simpy.__version__, "numpy": np.__version__}
    if ciw_available():
        versions["ciw"] = metadata.version("ciw")
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
    rows: list[dict[str, Any]] = []

    def add(name: str, measured: float | None, limit: float, at_least: bool, **extra: float | None) -> None:
        met = None
        if measured is not None and not math.isnan(measured):
            met = measured >= limit if at_least else measured <= limit
        rows.append({"target": name, "limit": limit, "at_least": at_least, "measured": measured, "met": met, **extra})

    add("M/M/c: funnelsim / SimPy Resource (customers/s, median of paired repeats)",
        contenders["simpy"]["funnelsim_ratio"], TARGET_VS_SIMPY, True)  # fmt: skip
    ciw = contenders.get("ciw")
    vs_ciw = ciw["funnelsim_ratio"] if ciw else None
    add("M/M/c: funnelsim / Ciw (customers/s)", vs_ciw, TARGET_VS_CIW, True)
    funnel = result["funnel"]
    if funnel:
        add("full funnel: bare-event equivalents per lead (worst size)", max(f["bare_events_per_lead"] for f in funnel),
            TARGET_EVENTS_PER_LEAD, False)  # fmt: skip
        smallest, largest = min(funnel, key=lambda f: f["leads"]), max(funnel, key=lambda f: f["leads"])
        # the cost in bare SimPy events (each size's seconds times the ceiling measured beside it), so
        # a machine that slows down between the sizes does not read as the engine scaling badly;
        # the plain ratio of microseconds is kept beside it
        several = len(funnel) > 1
        scaling = largest["bare_events_per_lead"] / smallest["bare_events_per_lead"] if several else None
        seconds = largest["microseconds_per_lead"] / smallest["microseconds_per_lead"] if several else None
        add(f"full funnel: cost per lead at {largest['target_leads']:,} / at {smallest['target_leads']:,}"
            " (in bare SimPy events)", scaling, TARGET_SCALING, False, wall_clock_ratio=seconds)  # fmt: skip
        at_target = [f for f in funnel if f["target_leads"] == MEMORY_TARGET_LEADS]
        big = at_target[0] if at_target else None
        add(f"peak MB at {MEMORY_TARGET_LEADS:,} leads, without per-lead records",
            big["peak_mb_without_records"] if big else None, TARGET_MB_WITHOUT_RECORDS, False)  # fmt: skip
        add(f"peak MB at {MEMORY_TARGET_LEADS:,} leads, with per-lead records",
            big["peak_mb_with_records"] if big else None, TARGET_MB_WITH_RECORDS, False)  # fmt: skip
    phases = result.get("run_phases")
    if phases:
        add("funnelsim run baseline (20 replications): share of wall time simulating", phases["simulate_share"],
            TARGET_SIMULATE_SHARE, True)  # fmt: skip
        if "simulate_alone_share" in phases:
            add("  the same, counting the simulation alone (a paired --no-charts run)", phases["simulate_alone_share"],
                TARGET_SIMULATE_SHARE, True)  # fmt: skip
    return rows


def write_bench(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
    tmp.replace(path)
