"""Where the wall time of `funnelsim run` goes: start-up and imports, simulating, writing, each chart.

    python benchmarks/run_phases.py                 # baseline, 20 replications, 3 runs
    python benchmarks/run_phases.py --runs 5 -- --set horizon=180d

`funnelsim bench` reports the same table (funnelsim/bench/phases.py). On a shared machine compare
the shares within one run, not seconds between runs.
"""

from __future__ import annotations

import argparse

from funnelsim.bench.phases import TOTAL, run_phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", default="baseline")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more `funnelsim run` options, after --")
    args = parser.parse_args()
    measured = run_phases(args.runs, args.scenario, args.extra)
    runs = measured["runs"]
    assert isinstance(runs, list)
    print(f"{measured['command']}: {args.runs} runs, seconds (share of wall)")
    for name in runs[0]:
        cells = [f"{r[name]:6.2f} ({r[name] / r[TOTAL]:4.0%})" for r in runs]
        print(f"{name:45s} " + "  ".join(cells))
    alone = measured["simulate_alone_seconds"]
    assert isinstance(alone, list)
    cells = [f"{a:6.2f} ({a / r[TOTAL]:4.0%})" for a, r in zip(alone, runs)]
    print(f"{'simulate alone (a paired --no-charts run)':45s} " + "  ".join(cells))
    if not measured["bytecode_cached"]:
        print("(funnelsim's modules have no cached bytecode: each run compiled them again, about 0.1 s of start-up)")
    print(
        f"median share simulating: {measured['simulate_share']:.0%} by the run's clock, "
        f"{measured['simulate_alone_share']:.0%} counting the simulation alone"
    )


if __name__ == "__main__":
    main()
