"""Where the wall time of `funnelsim run` goes: start-up and imports, simulating, writing, each chart.

Each run is a fresh `funnelsim run` process, as a user starts it; its manifest's `timings` give the
phases it measured itself, and the rest of the process's wall time is start-up, loading and printing.
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


def one_run(scenario: str = "baseline", extra: Sequence[str] = ()) -> dict[str, float]:
    """The phases of one fresh `funnelsim run SCENARIO --quiet ...`, in seconds."""
    with tempfile.TemporaryDirectory(prefix="funnelsim-phases-") as scratch:
        out = Path(scratch) / "run"
        command = [sys.executable, "-m", "funnelsim.cli", "run", scenario, "--quiet", "--out", str(out), *extra]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        total = time.perf_counter() - started
        timings = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["timings"]
    phases = {SIMULATE: timings["wall_seconds"], WRITE: timings.get("write_seconds", 0.0)}
    phases[CHARTS] = timings.get("charts_seconds", 0.0)
    phases[START_UP] = total - sum(phases.values())
    for key, seconds in timings.items():
        if key.startswith("chart_") and key.endswith("_seconds"):
            phases[f"  chart {key.removeprefix('chart_').removesuffix('_seconds')}"] = seconds
    phases[TOTAL] = total
    return phases


def run_phases(runs: int, scenario: str = "baseline", extra: Sequence[str] = ()) -> dict[str, object]:
    """`runs` fresh runs: each run's phases and the median share of wall time spent simulating."""
    measured = [one_run(scenario, extra) for _ in range(runs)]
    shares = [m[SIMULATE] / m[TOTAL] for m in measured]
    return {
        "command": " ".join(["funnelsim run", scenario, *extra]),
        "runs": measured,
        "simulate_share": statistics.median(shares) if shares else float("nan"),
    }
