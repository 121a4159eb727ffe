"""Where the wall time of `funnelsim run` goes: start-up and imports, simulating, writing, each chart.

    python benchmarks/run_phases.py                 # baseline, 20 replications, 3 runs
    python benchmarks/run_phases.py --runs 5 -- --set horizon=180d

Each run is a fresh `funnelsim run` process (as a user starts it); its manifest's `timings` give the
phases it measured itself, and the rest of the process's wall time is start-up, loading and printing.
On a shared machine compare the shares within one run, not seconds between runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(scenario: str, extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="funnelsim-phases-") as scratch:
        out = Path(scratch) / "run"
        command = [sys.executable, "-m", "funnelsim.cli", "run", scenario, "--quiet", "--out", str(out), *extra]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        total = time.perf_counter() - started
        timings = json.loads((out / "manifest.json").read_text())["timings"]
    phases = {"simulate (replications, summary)": timings["wall_seconds"]}
    phases["write tables"] = timings.get("write_seconds", 0.0)
    charts = timings.get("charts_seconds", 0.0)
    per_chart = {k: v for k, v in timings.items() if k.startswith("chart_")}
    phases["charts (import, draw, save; side by side)"] = charts
    phases["start-up, loading, printing"] = total - sum(phases.values())
    phases.update({f"  {k.removeprefix('chart_').removesuffix('_seconds')} (its own process)": v
                   for k, v in per_chart.items()})  # fmt: skip
    phases["total wall"] = total
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", default="baseline")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more `funnelsim run` options, after --")
    args = parser.parse_args()
    runs = [one_run(args.scenario, args.extra) for _ in range(args.runs)]
    print(f"funnelsim run {args.scenario} {' '.join(args.extra)}: {args.runs} runs, seconds (share of wall)")
    for name in runs[0]:
        cells = [f"{r[name]:6.2f} ({r[name] / r['total wall']:4.0%})" for r in runs]
        print(f"{name:45s} " + "  ".join(cells))


if __name__ == "__main__":
    main()
