"""One pool serves a whole command: compare's scenarios share one process pool, and reruns still work."""

from __future__ import annotations

import os
import signal
import time

import pytest

from funnelsim.experiment import executors
from funnelsim.experiment.executors import Lost, one_pool, run_tasks
from funnelsim.experiment.runner import compare
from tests.conftest import make_scenario


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the process pools started (each entry: its worker count)."""
    started: list[int] = []
    real = executors.ProcessPoolExecutor

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, max_workers: int | None = None, **kwargs: object) -> None:
            started.append(int(max_workers or 0))
            super().__init__(max_workers, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(executors, "ProcessPoolExecutor", Counted)
    return started


def worker_pid(index: int) -> int:
    time.sleep(0.02)
    return os.getpid()


def test_compare_runs_every_scenario_on_one_pool(pools: list[int]):
    scenarios = [
        make_scenario(),
        make_scenario(name="three", sales={"sdr": {"count": 3}}),
        make_scenario(name="four", sales={"sdr": {"count": 4}}),
    ]
    pooled = compare(scenarios, reps=3, seed=5, executor="processes", workers=2)
    assert pools == [2]  # not one pool per scenario
    serial = compare(scenarios, reps=3, seed=5, executor="serial")
    for a, b in zip(pooled.results, serial.results):
        assert a.replications["customers"].tolist() == b.replications["customers"].tolist()
        assert a.replications["answered_within_1h"].tolist() == b.replications["answered_within_1h"].tolist()


def test_calls_inside_one_pool_share_its_worker_processes(pools: list[int]):
    with one_pool("processes", workers=2):
        first = dict(run_tasks(worker_pid, [(i,) for i in range(6)], "processes", workers=2))
        second = dict(run_tasks(worker_pid, [(i,) for i in range(6)], "processes", workers=2))
    assert pools == [2]
    assert len(set(first.values()) | set(second.values())) <= 2  # the same two workers served both calls
    without = dict(run_tasks(worker_pid, [(i,) for i in range(6)], "processes", workers=2))
    assert pools == [2, 2] and not set(without.values()) & (set(first.values()) | set(second.values()))


def square_or_die(index: int, doomed: int) -> int:
    if index == doomed:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return index * index


def test_a_worker_killed_on_the_shared_pool_is_rerun_and_the_next_call_gets_a_fresh_pool(pools: list[int]):
    notes: list[str] = []
    with one_pool("processes", workers=2):
        results = dict(run_tasks(square_or_die, [(i, 3) for i in range(6)], "processes", workers=2, notes=notes))
        after = dict(run_tasks(square_or_die, [(i, -1) for i in range(4)], "processes", workers=2))
    assert isinstance(results[3], Lost)
    assert {i: r for i, r in results.items() if i != 3} == {i: i * i for i in range(6) if i != 3}
    assert any("rerun on a new pool" in n for n in notes)
    assert after == {i: i * i for i in range(4)}


def test_one_pool_leaves_serial_and_single_worker_runs_alone(pools: list[int]):
    with one_pool("serial"), one_pool("processes", workers=1):
        assert dict(run_tasks(worker_pid, [(0,), (1,)], "serial"))[1] == os.getpid()
    assert pools == []
