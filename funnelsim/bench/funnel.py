"""The full baseline funnel grown to a given number of leads: its speed per lead and its peak memory."""

from __future__ import annotations

import gc
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from funnelsim import metrics
from funnelsim.model.simulate import simulate
from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario


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
    repeats: int = 0  # timed replications (the medians are over these)
    ceiling_events_per_second: float = math.nan  # SimPy's ceiling measured between them

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
    code = f"from funnelsim.bench.funnel import _memory_child; _memory_child({leads!r}, {with_records!r}, {seed!r})"
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
