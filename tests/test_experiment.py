"""Replications: bit-identical across executors and worker counts; failures recorded, not lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnelsim import compare, run, sweep
from funnelsim.experiment import runner
from funnelsim.metrics import interval, t_quantile_975

from .conftest import MINIMAL

SHORT = {"horizon": "45d", "warmup": "5d"}


def figures_only(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["seconds"])


def test_results_are_bit_identical_across_executors_and_workers():
    serial = run("baseline", reps=4, seed=11, overrides=SHORT, executor="serial", timeseries_step_hours=None)
    two = run("baseline", reps=4, seed=11, overrides=SHORT, executor="processes", workers=2, timeseries_step_hours=None)
    assert figures_only(serial.replications).equals(figures_only(two.replications))
    assert serial.summary.equals(two.summary)


def test_dask_executor_gives_the_same_figures():
    pytest.importorskip("dask.distributed")
    serial = run("baseline", reps=3, seed=11, overrides=SHORT, executor="serial", timeseries_step_hours=None)
    dask = run("baseline", reps=3, seed=11, overrides=SHORT, executor="dask", workers=2, timeseries_step_hours=None)
    assert figures_only(serial.replications).equals(figures_only(dask.replications))


def test_unknown_executor_is_a_clear_error():
    from funnelsim.experiment.executors import ExecutorError

    with pytest.raises(ExecutorError, match="expected serial, processes or dask"):
        run("baseline", reps=2, overrides=SHORT, executor="threads")


def test_replication_i_does_not_depend_on_how_many_were_asked_for():
    three = run("baseline", reps=3, seed=2, overrides=SHORT, executor="serial", timeseries_step_hours=None)
    five = run("baseline", reps=5, seed=2, overrides=SHORT, executor="serial", timeseries_step_hours=None)
    assert figures_only(three.replications).equals(figures_only(five.replications.iloc[:3]))


def test_a_failed_replication_is_recorded_and_the_rest_kept(monkeypatch):
    real = runner.simulate

    def flaky(scenario, seed):
        if seed.spawn_key == (1,):
            raise RuntimeError("disk full")
        return real(scenario, seed)

    monkeypatch.setattr(runner, "simulate", flaky)
    result = run(MINIMAL, reps=3, seed=1, executor="serial")
    assert result.replications["error"].notna().tolist() == [False, True, False]
    assert "disk full" in result.replications.loc[1, "error"]
    assert result.summary.set_index("metric").loc["leads", "n"] == 2


def test_compare_shares_arrivals_so_marketing_differences_vanish():
    outcome = compare(["baseline", "baseline"], reps=3, seed=4, overrides=SHORT, executor="serial",
                      timeseries_step_hours=None)  # fmt: skip
    diff = outcome.differences["baseline#2"].set_index("metric")
    assert diff.loc["leads", "difference"] == 0 and diff.loc["customers", "difference"] == 0
    assert outcome.names == ["baseline", "baseline#2"]


def test_sweep_runs_each_value_with_the_same_seeds():
    result = sweep("baseline", "sales.sdr.count", [1, 4], reps=3, seed=3, overrides=SHORT, executor="serial",
                   timeseries_step_hours=None)  # fmt: skip
    table = result.metric("sdr_utilisation")
    assert list(table["value"]) == [1, 4]
    assert table["mean"].iloc[0] > 2 * table["mean"].iloc[1]  # one SDR is far busier than each of four
    leads = result.metric("leads")["mean"]
    assert leads.iloc[0] == leads.iloc[1]


def test_interval_uses_student_t():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    mean, _, high, n = interval(values)
    assert (mean, n) == (2.5, 4)
    assert high - mean == pytest.approx(3.182 * np.std(values, ddof=1) / 2)
    assert t_quantile_975(200) == pytest.approx(1.97190, abs=1e-4)
    assert t_quantile_975(31) == pytest.approx(2.03951, abs=1e-4)
