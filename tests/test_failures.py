"""Failures keep work: failed and killed replications, signals, all on real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from funnelsim.cli import app
from funnelsim.experiment import runner as runner_module
from funnelsim.experiment.executors import Lost, run_tasks
from tests.conftest import make_scenario

cli = CliRunner()
SLOW = """\
name: slow
start: 2026-01-05
horizon: 365d
channels:
  web: {leads_per_week: 4000}
sales:
  sdr: {count: 3}
"""


def square_or_die(index: int, doomed: int) -> int:
    if index == doomed:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return index * index


def test_a_task_that_always_kills_its_worker_is_reported_lost_and_the_rest_finish():
    notes: list[str] = []
    arguments = [(i, 3) for i in range(8)]
    results = dict(run_tasks(square_or_die, arguments, "processes", workers=2, notes=notes))
    assert sorted(results) == list(range(8))
    assert isinstance(results[3], Lost) and "died" in results[3].reason
    assert {i: r for i, r in results.items() if i != 3} == {i: i * i for i in range(8) if i != 3}
    assert any("replication 3 was lost" in n for n in notes)


def _failing_simulate(real):
    def simulate(scenario, seed):
        if seed.spawn_key[-1] % 2 == 1:
            raise RuntimeError("a replication went wrong")
        return real(scenario, seed)

    return simulate


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_a_replication_that_raises_is_recorded_and_the_rest_finish(monkeypatch, executor):
    monkeypatch.setattr(runner_module, "simulate", _failing_simulate(runner_module.simulate))
    result = runner_module.run(make_scenario(), reps=4, seed=3, executor=executor, workers=2)
    assert list(result.replications["replication"]) == [0, 1, 2, 3]
    assert list(result.failed["replication"]) == [1, 3]
    assert all("a replication went wrong" in e for e in result.failed["error"])
    assert result.figure("leads")[0] > 0  # the two that finished are summarised


def test_when_every_replication_fails_the_manifest_is_still_written(monkeypatch, tmp_path):
    def broken(scenario, seed):
        raise ValueError(f"broken {seed.spawn_key}")

    monkeypatch.setattr(runner_module, "simulate", broken)
    out = tmp_path / "r"
    result = cli.invoke(app, ["run", "--reps", "3", "--workers", "1", "--quiet", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "every replication failed" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["replication"] for f in manifest["failed_replications"]] == [0, 1, 2]
    assert all("broken" in f["error"] for f in manifest["failed_replications"])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _start_slow_run(tmp_path: Path, out: Path, reps: int, workers: int, sets: tuple[str, ...] = ()) -> subprocess.Popen:
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(SLOW)
    command = [sys.executable, "-m", "funnelsim.cli", "run", str(scenario), "--reps", str(reps)]
    command += ["--workers", str(workers), "--quiet", "--no-charts", "--out", str(out)]
    command += [part for item in sets for part in ("--set", item)]
    env = dict(os.environ, PYTHONFAULTHANDLER="1")  # SIGABRT then prints every thread's stack
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)


def _finish_or_dump(process: subprocess.Popen, seconds: float) -> str:
    """The run's stderr; if it has not ended within `seconds`, fail with its threads' stacks."""
    try:
        return process.communicate(timeout=seconds)[1]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        _, stderr = process.communicate(timeout=30)
        pytest.fail(f"the run did not end within {seconds:.0f} s; its threads were at:\n{stderr[-8000:]}")


def _wait_for_workers(process: subprocess.Popen, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = _children(process.pid)
        if len(workers) >= count:
            return workers
        time.sleep(0.05)
    raise AssertionError("the worker processes never started")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_a_killed_worker_process_costs_nothing_its_replications_are_rerun(tmp_path):
    out = tmp_path / "killed"
    # a third of SLOW's horizon, 8 times: on a quiet machine the pool is busy for about 3 s, so the
    # kill lands mid-run (4 replications ended in 1.4 s, before a kill 0.5 s in); on a loaded machine
    # it still ends in well under a minute (a slow run was once taken for a hang)
    short = ("horizon=120d",)
    reps = 8
    process = _start_slow_run(tmp_path, out, reps=reps, workers=2, sets=short)
    workers = _wait_for_workers(process, 2)
    time.sleep(0.2)
    os.kill(workers[0], signal.SIGKILL)
    stderr = _finish_or_dump(process, 300)
    assert process.returncode == 0, stderr
    assert "worker process died" in stderr and "rerun" in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failed_replications"] == [] and manifest["replications"] == reps
    assert any("rerun" in note for note in manifest["notes"])
    clean = runner_module.run(
        tmp_path / "slow.yaml", reps=reps, overrides=short, executor="serial", timeseries_step_hours=None
    )
    killed = pd.read_parquet(out / "replications.parquet")
    assert killed["leads"].tolist() == clean.replications["leads"].tolist()  # same seeds, same figures
    assert killed["customers"].tolist() == clean.replications["customers"].tolist()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_every_worker_cleans_up_and_exits_within_2_seconds(tmp_path, signum, code):
    out = tmp_path / "interrupted"
    process = _start_slow_run(tmp_path, out, reps=40, workers=2)
    workers = _wait_for_workers(process, 2)
    time.sleep(0.3)
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=10)
    took = time.monotonic() - sent
    assert process.returncode == code, stderr
    assert took < 2.0, f"took {took:.2f} s"
    assert f"interrupted by {signal.Signals(signum).name}" in stderr
    assert "Traceback" not in stderr
    time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.yaml"]  # no partial folder, no lock, no results


@pytest.mark.parametrize("broken", ["lifo", "fifo"])  # a variant, then the reference itself
def test_compare_where_one_scenario_always_fails_writes_the_rest_and_exits_1(monkeypatch, tmp_path, broken):
    real = runner_module.simulate

    def simulate(scenario, seed):
        if scenario.sales.queue == broken:
            raise RuntimeError(f"{broken} is broken")
        return real(scenario, seed)

    monkeypatch.setattr(runner_module, "simulate", simulate)
    out = tmp_path / "cmp"
    result = cli.invoke(
        app, ["compare", "baseline", "--vary", "sales.queue=fifo,lifo,score", "--reps", "2", "--workers", "1",
              "--set", "horizon=45d", "--set", "warmup=5d", "--quiet", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"every replication of baseline[queue={broken}] failed" in " ".join(result.output.split())
    manifest = json.loads((out / "manifest.json").read_text())
    failed = {v["name"]: v["failed_replications"] for v in manifest["variants"]}
    assert [f["replication"] for f in failed[f"baseline[queue={broken}]"]] == [0, 1]
    assert all(f"{broken} is broken" in f["error"] for f in failed[f"baseline[queue={broken}]"])
    assert sum(len(f) for f in failed.values()) == 2
    short = ["horizon=45d", "warmup=5d", "sales.queue=score"]
    clean = runner_module.run("baseline", 2, runner_module.DEFAULT_SEED, overrides=short, executor="serial")
    score = pd.read_csv(out / "summary-baseline_queue_score.csv").set_index("metric")
    assert score.loc["customers", "mean"] == pytest.approx(clean.figure("customers")[0])
    comparison = pd.read_csv(out / "comparison.csv").set_index("metric")
    other = "baseline[queue=score]"
    if broken == "lifo":  # the surviving variant is still paired with the reference
        assert comparison.loc["customers", f"{other} - baseline[queue=fifo]"] == pytest.approx(
            clean.figure("customers")[0] - comparison.loc["customers", "baseline[queue=fifo]"]
        )
    assert (out / "charts" / "comparison.png").is_file()
