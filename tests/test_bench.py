"""`funnelsim bench` runs end to end on tiny sizes and measures the queue it claims to measure.

No timing is asserted here: speed is a figure of the benchmark, which machines disagree on.
"""

from __future__ import annotations

import json
import statistics

import pytest
from typer.testing import CliRunner

from funnelsim import bench, theory
from funnelsim.cli import app


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = CliRunner().invoke(app, ["bench", "--quick", "--sizes", "2000", "--repeats", "5", "--out", str(out), "-q"])
    assert done.exit_code == 0, done.output
    return json.loads(out.read_text()), done.output


def test_bench_writes_every_measurement(quick_bench):
    result, _ = quick_bench
    assert result["ceiling"]["events_per_second"] > 0
    contenders = result["mmc"]["contenders"]
    for name in ("simpy", "funnelsim"):
        assert contenders[name]["customers_per_second"] > 0
        assert contenders[name]["repeats"] == 5
    assert contenders["ciw"] is None or contenders["ciw"]["customers_per_second"] > 0
    (funnel,) = result["funnel"]
    assert funnel["target_leads"] == 2000
    for key in ("leads", "events", "seconds", "leads_per_second", "bare_events_per_lead", "engine_events_per_lead",
                "peak_mb_without_records", "peak_mb_with_records"):  # fmt: skip
        assert funnel[key] > 0, key
    assert funnel["peak_mb_with_records"] >= funnel["peak_mb_without_records"]
    memory = [t for t in result["targets"] if t["target"].startswith("peak MB")]
    assert [t["met"] for t in memory] == [None, None]  # no 1,000,000-lead run here
    assert {"versions", "cpus"} <= set(result["environment"])


def test_bench_ratios_pair_the_repeats_and_funnels_use_their_own_ceiling(quick_bench):
    result, _ = quick_bench
    contenders = result["mmc"]["contenders"]
    ours = contenders["funnelsim"]["all_customers_per_second"]
    theirs = contenders["simpy"]["all_customers_per_second"]
    paired = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    assert contenders["simpy"]["funnelsim_ratio"] == pytest.approx(paired)
    (target,) = [t for t in result["targets"] if t["target"].startswith("M/M/c: funnelsim / SimPy")]
    assert target["measured"] == pytest.approx(paired)
    (funnel,) = result["funnel"]
    assert funnel["repeats"] == 1  # the quick bench: one run per size
    assert funnel["bare_events_per_lead"] == pytest.approx(
        funnel["seconds"] / funnel["leads"] * funnel["ceiling_events_per_second"]
    )


def test_the_scaling_target_is_the_cost_in_bare_events_with_the_seconds_beside_it():
    from funnelsim.bench import suite

    def size(leads: int, microseconds: float, ceiling: float) -> dict[str, float]:
        return {"leads": leads, "target_leads": leads, "microseconds_per_lead": microseconds,
                "bare_events_per_lead": microseconds * 1e-6 * ceiling, "peak_mb_without_records": 300.0,
                "peak_mb_with_records": 500.0}  # fmt: skip

    # the machine slowed by a third while the big size ran: 1.5x the seconds, 1.2x the bare events
    funnel = [size(10_000, 2.0, 1.8e6), size(1_000_000, 3.0, 1.44e6)]
    result = {"mmc": {"contenders": {"simpy": {"funnelsim_ratio": 4.0}}}, "funnel": funnel}
    (row,) = [t for t in suite._targets(result) if t["target"].startswith("full funnel: cost per lead")]
    assert row["target"] == "full funnel: cost per lead at 1,000,000 / at 10,000 (in bare SimPy events)"
    assert row["measured"] == pytest.approx(1.2) and row["met"] is True
    assert row["wall_clock_ratio"] == pytest.approx(1.5)


def test_a_small_funnel_repeats_until_a_second_is_timed_with_the_ceiling_between(monkeypatch):
    from funnelsim.bench import suite
    from funnelsim.bench.config import BenchConfig

    seeds, ceilings = [], iter([1e6, 3e6, 2e6])
    monkeypatch.setattr(suite, "time_funnel", lambda scenario, seed: seeds.append(seed) or (100, 90, 0.08, 0.1))
    monkeypatch.setattr(suite, "ceiling_events_per_second", lambda events: next(ceilings))
    config = BenchConfig(funnel_repeats=3, funnel_seconds=1.0, seed=7)
    timings, ceiling = suite._time_funnel_size(None, 100, config, lambda message: None)
    assert len(timings) == 10 and seeds == list(range(7, 17))  # 1.0 s / 0.1 s each, one seed per run
    assert ceiling == 2e6  # the median of the three ceilings, run before repeats 1, 5 and 9


def test_bench_times_a_fresh_funnelsim_run_by_phase(quick_bench):
    result, _ = quick_bench
    (run,) = result["run_phases"]["runs"]  # the quick bench times one run
    phases = ["simulate (replications, summary)", "write tables", "charts (import, draw, save)"]
    assert all(run[p] > 0 for p in phases)
    assert run["start-up, loading, printing"] + sum(run[p] for p in phases) == pytest.approx(run["total wall"])
    assert sum(v for k, v in run.items() if k.startswith("  chart ")) > 0  # each chart's own seconds
    (target,) = [t for t in result["targets"] if "share of wall time simulating" in t["target"]]
    assert target["measured"] == pytest.approx(run["simulate (replications, summary)"] / run["total wall"])
    assert target["met"] == (target["measured"] >= 0.5)
    (alone,) = result["run_phases"]["simulate_alone_seconds"]  # from the paired --no-charts run
    (strict,) = [t for t in result["targets"] if "counting the simulation alone" in t["target"]]
    assert 0 < alone < run["total wall"]
    assert strict["measured"] == pytest.approx(alone / run["total wall"])


@pytest.mark.parametrize("cached", [True, False])
def test_the_phases_say_when_each_run_compiled_funnelsim_again(monkeypatch, tmp_path, cached):
    import importlib.util

    from funnelsim.bench import phases
    from funnelsim.report import terminal_checks

    pyc = tmp_path / "phases.cpython.pyc"
    if cached:
        pyc.write_bytes(b"")
    monkeypatch.setattr(importlib.util, "cache_from_source", lambda source: str(pyc))
    assert phases.bytecode_cached() is cached
    run = {"simulate (replications, summary)": 1.0, "total wall": 2.0}
    measured = {"command": "funnelsim run baseline", "runs": [run], "bytecode_cached": cached}
    table = terminal_checks._phases_table(measured)
    assert (table.caption is None) is cached
    if not cached:
        assert "no cached bytecode" in str(table.caption) and "0.1 s" in str(table.caption)


def test_bench_prints_the_three_tables(quick_bench):
    _, output = quick_bench
    for title in (
        "M/M/5 queue at load 0.9",
        "Full baseline funnel scaled",
        "Targets",
        "Erlang C",
        "where the wall time goes",
    ):
        assert title in output


def test_funnelsim_on_the_bench_queue_waits_as_long_as_erlang_c_says(quick_bench):
    result, _ = quick_bench
    ours = result["mmc"]["contenders"]["funnelsim"]
    theory = result["mmc"]["erlang_c_mean_wait_hours"]
    # five independent replications of 20,000 customers: the 95% interval is tight enough that
    # one server more or less (a mean wait of a quarter or of several times Erlang C's) fails
    assert ours["mean_wait_ci_half_hours"] < 0.3 * theory
    assert abs(ours["mean_wait_hours"] - theory) <= 2 * ours["mean_wait_ci_half_hours"]


def test_the_scaled_baseline_keeps_the_load_per_sdr():
    base = bench.scaled_baseline(20_000)
    big = bench.scaled_baseline(200_000)
    per_sdr = [sum(c.leads_per_week for c in s.channels.values()) / s.sales.sdr.count for s in (base, big)]
    assert per_sdr[0] == pytest.approx(per_sdr[1])
    for scenario, leads in ((base, 20_000), (big, 200_000)):
        assert scenario.expected_leads() == pytest.approx(leads)


def test_the_bench_reports_the_erlang_c_wait_of_its_own_queue(quick_bench):
    result, _ = quick_bench
    # M/M/5 at load 0.9 with 6-minute calls: λ = 45/h, μ = 10/h
    assert result["mmc"]["erlang_c_mean_wait_hours"] == pytest.approx(theory.erlang_c_mean_wait(5, 45.0, 10.0))
    assert result["mmc"]["erlang_c_mean_wait_hours"] == pytest.approx(0.1525, abs=1e-4)
