"""A real Dask cluster on the loopback address gives the same figures as a serial run, bit for bit."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from funnelsim import compare, grid, load_scenario
from funnelsim.cli import app

SHORT = ["horizon=45d", "warmup=5d"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1; yields the scheduler address."""
    distributed = pytest.importorskip("dask.distributed")
    dask = shutil.which("dask") or str(Path(sys.executable).parent / "dask")
    if not Path(dask).exists():
        pytest.skip("the dask command is not installed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    quiet = {"cwd": tmp_path, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], **quiet)
    ]
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"], **quiet
            )
        )
    try:
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):  # workers first, then the scheduler
            process.terminate()
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_a_sweep_through_a_real_dask_cluster_matches_a_serial_run_bit_for_bit(dask_cluster, tmp_path):
    vary = {"sales.sdr.count": [1, 3], "sales.queue": ["fifo", "lifo"]}
    on_dask = grid("baseline", vary, reps=3, seed=9, overrides=SHORT, executor="dask", dask_address=dask_cluster)
    serial = grid("baseline", vary, reps=3, seed=9, overrides=SHORT, executor="serial")
    for a, b in zip(on_dask.results, serial.results):
        columns = [c for c in a.replications.columns if c != "seconds"]
        assert a.replications[columns].equals(b.replications[columns])
    assert on_dask.table.equals(serial.table)

    runner = CliRunner()
    common = ["sweep", "baseline", "--vary", "sales.sdr.count=1,3", "-n", "3", "-s", "9", "--set", SHORT[0],
              "--set", SHORT[1], "--no-resume", "-q", "-m", "answered_within_1h", "-m", "customers"]  # fmt: skip
    dask_run = runner.invoke(app, [*common, "--executor", "dask", "--dask-address", dask_cluster,
                                   "--out", str(tmp_path / "dask")])  # fmt: skip
    serial_run = runner.invoke(app, [*common, "--executor", "serial", "--out", str(tmp_path / "serial")])
    assert dask_run.exit_code == 0 and serial_run.exit_code == 0, dask_run.output + serial_run.output
    assert pd.read_csv(tmp_path / "dask" / "sweep.csv").equals(pd.read_csv(tmp_path / "serial" / "sweep.csv"))


def test_a_compare_on_dask_starts_one_local_cluster_for_all_its_scenarios(monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    started = []

    class CountedCluster(distributed.LocalCluster):
        def __init__(self, *args, **kwargs):
            started.append(kwargs.get("n_workers"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", CountedCluster)
    scenarios = [load_scenario("baseline", [*SHORT, f"sales.sdr.count={n}"]) for n in (1, 2, 3)]
    on_dask = compare(scenarios, reps=2, seed=5, executor="dask", workers=2)
    assert started == [2]
    serial = compare(scenarios, reps=2, seed=5, executor="serial")
    for a, b in zip(on_dask.results, serial.results):
        pd.testing.assert_frame_equal(a.summary, b.summary)
