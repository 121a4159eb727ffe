"""`funnelsim bench` runs end to end on tiny sizes and measures the queue it claims to measure.

No timing is asserted here: speed is a figure of the benchmark, which machines disagree on.
"""

from __future__ import annotations

import json

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
