"""Where the wall time of `funnelsim run` goes: start-up and imports, simulating, writing, each chart.

Each run is a fresh `funnelsim run` process, as a user starts it; its manifest's `timings` give the
phases it measured itself, and the rest of the process's wall time is start-up, loading and printing.

While the worker processes simulate, `run` imports matplotlib in its own process (report/charts_ahead.py),
which takes some CPU from them; so each run is paired with a fresh `--no-charts` run, whose
simulating time is the simulation alone, and the share is given both ways.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

SIMULATE = "simulate (replications, summary)"
WRITE = "write tables"
CHARTS = "charts (import, draw, save)"
START_UP = "start-up, loading, printing"
TOTAL = "total wall"
TARGET_SIMULATE_SHARE = 0.5  # the charts issue: a typical run spends at least half its wall time simulating


def _fresh_run(scenario: str, extra: Sequence[str]) -> tuple[float, dict[str, float]]:
    """The wall seconds and the manifest's timings of one fresh `funnelsim run SCENARIO --quiet ...`."""
    with tempfile.TemporaryDirectory(prefix="funnelsim-phases-") as scratch:
        out = Path(scratch) / "run"
        command = [sys.executable, "-m", "funnelsim.cli", "run", scenario, "--quiet", "--out", str(out), *extra]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        total = time.perf_counter() - started
        return total, json.loads((out / "manifest.json").read_text(encoding="utf-8"))["timings"]


def one_run(scenario: str = "baseline", extra: Sequence[str] = ()) -> dict[str, float]:
    """The phases of one fresh `funnelsim run SCENARIO --quiet ...`, in seconds."""
    total, timings = _fresh_run(scenario, extra)
    phases = {SIMULATE: timings["wall_seconds"], WRITE: timings.get("write_seconds", 0.0)}
    phases[CHARTS] = timings.get("charts_seconds", 0.0)
    phases[START_UP] = total - sum(phases.values())
    for key, seconds in timings.items():
        if key.startswith("chart_") and key.endswith("_seconds"):
            phases[f"  chart {key.removeprefix('chart_').removesuffix('_seconds')}"] = seconds
    phases[TOTAL] = total
    return phases


def simulate_alone(scenario: str = "baseline", extra: Sequence[str] = ()) -> float:
    """Seconds simulating in a fresh `--no-charts` run: the simulation with nothing beside it."""
    return _fresh_run(scenario, [*extra, "--no-charts"])[1]["wall_seconds"]


def bytecode_cached() -> bool:
    """Whether funnelsim's modules have cached bytecode, as `pip install .` leaves them. Without it
    (an editable install run with PYTHONDONTWRITEBYTECODE set) every fresh run compiles them again,
    which reads as start-up (about 0.1 s on the 2-core VM)."""
    import importlib.util

    return Path(importlib.util.cache_from_source(__file__)).exists()  # this module's, as the others


def run_phases(runs: int, scenario: str = "baseline", extra: Sequence[str] = ()) -> dict[str, object]:
    """`runs` fresh runs, each paired with a `--no-charts` run: each run's phases, and the median
    share of wall time spent simulating, by the run's own clock and counting the simulation alone."""
    measured, alone = [], []
    for _ in range(runs):
        measured.append(one_run(scenario, extra))
        alone.append(simulate_alone(scenario, extra))
    shares = [m[SIMULATE] / m[TOTAL] for m in measured]
    strict = [a / m[TOTAL] for a, m in zip(alone, measured)]
    return {
        "command": " ".join(["funnelsim run", scenario, *extra]),
        "runs": measured,
        "simulate_alone_seconds": alone,
        "simulate_share": statistics.median(shares) if shares else float("nan"),
        "simulate_alone_share": statistics.median(strict) if strict else float("nan"),
        "bytecode_cached": bytecode_cached(),
    }
