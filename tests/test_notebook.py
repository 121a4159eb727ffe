"""What a notebook user sees of a result: repr, HTML, `.plot(kind)` and `.save(dir)` of run, compare and sweep.

The result classes live in experiment/; report/notebook.py registers how they show when funnelsim
is imported (experiment/display.py), so experiment/ never imports report/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from matplotlib.figure import Figure

import funnelsim
from funnelsim.experiment.display import display_of, text_of

SHORT = ["horizon=14d", "warmup=0d"]


@pytest.fixture(scope="module")
def run_result():
    return funnelsim.run("baseline", reps=2, overrides=SHORT, executor="serial")


@pytest.fixture(scope="module")
def compare_result():
    return funnelsim.compare(["baseline", "newest-first"], reps=2, overrides=SHORT, executor="serial")


@pytest.fixture(scope="module")
def sweep_result():
    return funnelsim.sweep("baseline", "sales.sdr.count", [1, 2], reps=2, overrides=SHORT, executor="serial")


def test_a_run_shows_its_headline_figures(run_result):
    text = repr(run_result)
    assert text.startswith("<RunResult baseline: 2 replications, seed 20260105; customers ")
    assert "answered_within_1h" in text and "cac" in text
    page = run_result._repr_html_()
    assert page.startswith("<div><b>baseline</b>: 2 replications, seed 20260105<table>")
    assert "<td>Leads</td>" in page


def test_a_run_plots_each_chart_by_name_and_refuses_an_unknown_one(run_result):
    figure = run_result.plot("funnel")
    assert isinstance(figure, Figure) and figure.axes
    with pytest.raises(ValueError, match="unknown chart 'pie'; expected one of funnel, "):
        run_result.plot("pie")


def test_a_run_saves_the_folder_funnelsim_run_writes(run_result, tmp_path):
    folder = run_result.save(tmp_path / "run")
    assert json.loads((folder / "manifest.json").read_text())["kind"] == "run"
    assert {"summary.csv", "replications.parquet"} <= {p.name for p in folder.iterdir()}
    assert "funnel.png" in {p.name for p in (folder / "charts").iterdir()}
    bare = run_result.save(tmp_path / "bare", charts=False)
    assert not (bare / "charts").exists()


def test_a_comparison_shows_plots_and_saves(compare_result, tmp_path):
    assert repr(compare_result) == "<CompareResult baseline vs newest-first: 2 paired replications, seed 20260105>"
    page = compare_result._repr_html_()
    assert "<th>baseline (reference)</th><th>newest-first</th>" in page
    figure = compare_result.plot(metrics=["sqls"])
    assert [axes.get_title() for axes in figure.axes] == ["SQLs"]
    with pytest.raises(ValueError, match="a comparison draws 'comparison'"):
        compare_result.plot("funnel")
    folder = compare_result.save(tmp_path / "compare")
    assert json.loads((folder / "manifest.json").read_text())["kind"] == "compare"
    assert (folder / "comparison.csv").exists()


def test_a_sweep_shows_plots_and_saves(sweep_result, tmp_path):
    assert repr(sweep_result) == "<SweepResult sales.sdr.count = 1, 2: 2 replications each, seed 20260105>"
    assert sweep_result._repr_html_().startswith("<div><table><thead><tr><th>sales.sdr.count</th>")
    assert isinstance(sweep_result.plot("customers"), Figure)
    folder = sweep_result.save(tmp_path / "sweep")
    assert json.loads((folder / "manifest.json").read_text())["kind"] == "sweep"
    assert (folder / "sweep.csv").exists()


@dataclass
class _Unshown:
    x: int = 1


def test_a_class_with_no_registered_display_says_so_and_keeps_a_plain_repr():
    with pytest.raises(LookupError, match="no display is registered for _Unshown"):
        display_of(_Unshown())
    assert text_of(_Unshown()).startswith("<_Unshown at 0x")
