"""The command line as a user meets it: exit codes, messages, tables and results folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from funnelsim.cli import app

runner = CliRunner()
FAST = ["--reps", "3", "--workers", "1", "--set", "horizon=60d", "--set", "warmup=7d", "--quiet"]

VALID = """\
name: tiny
start: 2026-01-05
horizon: 30d
channels:
  web: {leads_per_week: 50}
sales:
  sdr: {count: 1}
"""


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_run_prints_the_table_and_writes_the_results_folder(tmp_path):
    out = tmp_path / "baseline"
    result = invoke("run", *FAST, "--out", str(out), "--keep-leads")
    assert result.exit_code == 0, result.output
    for label in ("Leads", "MQLs", "SALs answered within 5 min", "SDR utilisation", "CAC", "95% CI", "By channel"):
        assert label in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "charts", "leads.parquet", "manifest.json", "mrr.parquet", "replications.parquet", "response_delays.parquet",
        "retention.parquet", "summary.csv", "timeseries.parquet",
    ]  # fmt: skip
    assert {p.name for p in (out / "charts").iterdir()} == {
        "funnel.png", "speed_to_lead.png", "conversion_by_delay.png", "capacity_by_hour.png", "capacity_trend.png",
        "revenue.png",
    }  # fmt: skip
    summary = pd.read_csv(out / "summary.csv")
    row = summary.set_index("metric").loc["lead_to_mql"]
    assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    assert row["unit"] == "%"
    replications = pd.read_parquet(out / "replications.parquet")
    assert list(replications["replication"]) == [0, 1, 2]
    leads = pd.read_parquet(out / "leads.parquet")
    # leads.parquet holds every lead; the `leads` figure counts the window's cohort (warm-up 7 d to horizon 60 d)
    window = leads[(leads["arrival_at"] >= 7 * 24) & (leads["arrival_at"] < 60 * 24)]
    assert window.groupby("replication").size().tolist() == replications["leads"].astype(int).tolist()
    assert len(leads) > len(window)  # the warm-up's leads are there too
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 20260105
    assert manifest["replications"] == 3
    assert manifest["scenario"]["horizon"] == "1440.0h"
    assert manifest["failed_replications"] == []


def test_default_output_is_results_slash_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "newest-first" if _bundled("newest-first") else "baseline", *FAST, "--no-charts")
    assert result.exit_code == 0, result.output
    written = list((tmp_path / "results").iterdir())
    assert len(written) == 1 and (written[0] / "summary.csv").is_file()
    assert not list((tmp_path / "results").glob(".*partial"))


def _bundled(name: str) -> bool:
    from funnelsim.scenario.loader import bundled_scenarios

    return name in bundled_scenarios()


def test_same_seed_same_summary(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("run", *FAST, "--seed", "5", "--out", str(a), "--no-charts").exit_code == 0
    assert invoke("run", *FAST, "--seed", "5", "--out", str(b), "--no-charts").exit_code == 0
    assert pd.read_csv(a / "summary.csv").equals(pd.read_csv(b / "summary.csv"))


def test_failed_write_leaves_nothing_that_looks_whole(tmp_path, monkeypatch):
    import funnelsim.report.charts as charts

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(charts, "run_charts", disk_full)
    out = tmp_path / "interrupted"
    result = runner.invoke(app, ["run", *FAST, "--out", str(out)])
    assert result.exit_code == 1
    assert f"cannot write the results to {out}" in result.output.replace("\n", "")
    assert "No space left on device" in result.output
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a partial one


# --- bad input: exit 2, file, field path, what was expected, no traceback -------------------

BAD_CASES = {
    "unknown key": (VALID.replace("count: 1", "count: 1, colour: red"), "sales.sdr.colour", "unknown field 'colour'"),
    "wrong type": (VALID.replace("count: 1", "count: many"), "sales.sdr.count", "whole number of people"),
    "negative rate": (VALID.replace("leads_per_week: 50", "leads_per_week: -50"), "channels.web.leads_per_week",
                      "greater than or equal to 0"),
    "probability above 1": (VALID + "nurture: {engage: 1.4}\n", "nurture.engage", "less than or equal to 1"),
    "duration without unit": (VALID.replace("horizon: 30d", "horizon: 30"), "horizon", "duration with a unit"),
    "bad distribution": (VALID.replace("count: 1", "count: 1, handle_time: {weibull: {k: 2}}"), "sales.sdr.handle_time",
                         "unknown distribution 'weibull'"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_scenario_exits_2_naming_file_field_and_expectation(case, scenario_file):
    text, field, expected = BAD_CASES[case]
    path = scenario_file(text)
    for command in (["run", str(path), "--quiet"], ["validate", str(path)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        message = result.stderr if hasattr(result, "stderr") else result.output
        assert str(path) in message
        assert f"{field}:" in message
        assert expected in message
        assert "Traceback" not in result.output


def test_missing_extends_file_is_named(scenario_file):
    path = scenario_file("extends: nowhere.yaml\nname: x\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:1: extends: the file 'nowhere.yaml' does not exist" in result.output.replace("\n", "")


def test_malformed_yaml_names_the_line(scenario_file):
    path = scenario_file("name: x\nchannels: {web: {leads_per_week: 5}\nsales: [\n")
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "malformed YAML" in result.output


def test_missing_scenario_file_lists_the_bundled_ones():
    result = runner.invoke(app, ["run", "no-such-scenario.yaml"])
    assert result.exit_code == 2
    assert "no such file" in result.output and "baseline" in result.output


def test_bad_override_names_the_set_flag():
    result = runner.invoke(app, ["run", "--set", "sales.sdr.count=-1", "--quiet"])
    assert result.exit_code == 2
    message = result.output.replace("\n", "")
    assert "--set sales.sdr.count: sales.sdr.count: expected a whole number of people" in message
    result = runner.invoke(app, ["run", "--set", "sales.sdr.count"])
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.output


def test_absurd_workload_is_refused_with_estimate_and_flag():
    result = runner.invoke(app, ["run", "--set", "channels.paid_search.leads_per_week=2000000", "--reps", "2"])
    assert result.exit_code == 2
    text = result.output.replace("\n", " ")
    assert "about 2" in text and "leads" in text and "--allow-large" in text


def test_console_script_gives_no_traceback(scenario_file):
    path = scenario_file(VALID.replace("count: 1", "count: -3"))
    done = subprocess.run([sys.executable, "-m", "funnelsim.cli", "run", str(path)], capture_output=True, text=True,
                          env=os.environ | {"COLUMNS": "200"})  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    expected = "sales.sdr.count: expected a whole number of people (at least 1) or 'unlimited', got -3"
    assert expected in done.stderr.replace("\n", "")


# --- other commands ------------------------------------------------------------------------


def test_validate_accepts_good_files(scenario_file):
    result = invoke("validate", str(scenario_file(VALID)), "baseline")
    assert result.exit_code == 0
    assert result.output.count("ok:") == 2


def test_scenarios_lists_bundled_with_descriptions():
    result = invoke("scenarios")
    assert result.exit_code == 0
    assert "baseline" in result.output and "two SDRs" in result.output
    assert "validation/" not in result.output


def test_show_prints_the_resolved_scenario():
    result = invoke("show", "--set", "sales.sdr.count=4")
    assert result.exit_code == 0
    assert "count: 4" in result.output


def test_compare_pairs_policies_with_common_random_numbers(tmp_path):
    out = tmp_path / "cmp"
    result = invoke("compare", "baseline", "--vary", "sales.queue=fifo,lifo", *FAST, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "difference [95% CI]" in result.output
    table = pd.read_csv(out / "comparison.csv").set_index("metric")
    fifo, lifo = "baseline[queue=fifo]", "baseline[queue=lifo]"
    # same seeds: the marketing funnel is identical, so the lead count difference is exactly zero
    assert table.loc["leads", f"{lifo} - {fifo}"] == 0
    assert table.loc["leads", f"{lifo} ci_low"] == 0
    assert (out / "charts" / "comparison.png").is_file()


def test_compare_shows_every_variant_side_by_side(tmp_path):
    out = tmp_path / "three"
    result = invoke(
        "compare", "baseline", "--vary", "sales.queue=fifo,lifo,sla", *FAST, "-m", "sqls", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    for header in ("baseline[queue=fifo]", "baseline[queue=lifo]", "baseline[queue=sla]"):
        assert header in result.output
    row = pd.read_csv(out / "comparison.csv").set_index("metric").loc["sqls"]
    for variant in ("lifo", "sla"):
        name = f"baseline[queue={variant}]"
        assert row[f"{name} - baseline[queue=fifo]"] == pytest.approx(row[name] - row["baseline[queue=fifo]"])
        assert row[f"{name} ci_low"] <= row[f"{name} - baseline[queue=fifo]"] <= row[f"{name} ci_high"]
    assert "–" not in result.output.split("SQLs", 1)[1].splitlines()[0]


def test_compare_needs_two_scenarios():
    result = runner.invoke(app, ["compare", "baseline"])
    assert result.exit_code == 2 and "at least two" in result.output


def test_sweep_writes_one_row_per_value_and_metric(tmp_path):
    out = tmp_path / "sweep"
    result = invoke("sweep", "--param", "sales.sdr.count", "--values", "1,3", "-m", "answered_within_1h", *FAST,
                    "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["sales.sdr.count"]) == [1, 3]
    one, three = table["mean"]
    assert three > one  # more SDRs answer more leads within the hour
    assert Path(out / "charts" / "answered_within_1h.png").is_file()


@pytest.mark.parametrize(
    ("command", "points"),
    [
        (["run"], 1),
        (["compare", "baseline", "--vary", "sales.queue=fifo,lifo"], 2),
        (["sweep", "--vary", "sales.sdr.count=1,2,3", "--no-resume"], 3),
    ],
)
def test_the_size_guard_runs_once_per_scenario_of_a_command(tmp_path, monkeypatch, command, points):
    from funnelsim.experiment import size as api  # the size guard looks estimate_work up there

    estimates = []
    real = api.estimate_work
    monkeypatch.setattr(api, "estimate_work", lambda scenario, reps: estimates.append(reps) or real(scenario, reps))
    result = invoke(*command, *FAST, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert estimates == [3 * points] * points  # each scenario once, for the replications of the whole command


def test_executor_is_a_choice_listed_in_help_and_refused_otherwise():
    result = runner.invoke(app, ["run", "--executor", "threads"])
    assert result.exit_code == 2
    assert "'threads' is not one of" in result.output.replace("\n", " ")
    assert "serial" in result.output and "processes" in result.output and "dask" in result.output


def test_an_unknown_metric_is_refused_with_the_registry_names():
    from funnelsim import metrics

    result = runner.invoke(app, ["sweep", "--vary", "sales.sdr.count=1,2", "-m", "speed", "--quiet"])
    assert result.exit_code == 2
    text = result.output.replace("\n", "")
    assert "unknown metric(s) speed; valid metrics: " + ", ".join(metrics.FIGURES) in text
    assert "channel.<channel>.<leads|mqls|customers|lead_to_customer|cost_per_customer>" in text
    shown = " ".join(runner.invoke(app, ["sweep", "--help"]).output.split())
    assert f"default: {', '.join(metrics.SWEEP_DEFAULT)}). Valid: {', '.join(metrics.FIGURES)}." in shown


def test_the_registry_names_each_figure_and_labels_channel_figures():
    from funnelsim import metrics
    from funnelsim.report.formatting import figure_info

    assert all(figure.name == name for name, figure in metrics.FIGURES.items())
    assert set(metrics.SWEEP_DEFAULT + metrics.ONE_LINE + metrics.SPEED_SHARES) <= set(metrics.FIGURES)
    assert metrics.SPEED_SHARES == (
        "answered_within_5min",
        "answered_within_1h",
        "answered_within_24h",
        "sla_attainment",
    )
    cost = figure_info("channel.web.cost_per_customer")
    assert (cost.label, cost.unit, cost.section, cost.name) == ("web: cost per customer", "money", "By channel",
                                                                "channel.web.cost_per_customer")  # fmt: skip
    assert figure_info("channel.web.lead_to_customer").label == "web: Lead -> customer"


@pytest.mark.parametrize(
    ("command", "api"),
    [
        (["compare", "baseline", "--vary", "sales.queue=fifo,lifo"], "funnelsim.cli.compare.api_compare"),
        (["sweep", "--vary", "sales.sdr.count=1,2", "--no-resume"], "funnelsim.experiment.grid.grid"),
    ],
)
def test_an_interrupted_compare_or_sweep_leaves_nothing_behind(tmp_path, monkeypatch, command, api):
    import signal

    from funnelsim.experiment.signals import Interrupted

    def stopped(*args, **kwargs):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(api, stopped)
    out = tmp_path / "out"
    result = runner.invoke(app, [*command, *FAST, "--out", str(out)])
    assert result.exit_code == 143, result.output
    assert (
        f"interrupted by SIGTERM: worker processes stopped, temporary folder removed; nothing was written to {out}"
        in (result.output.replace("\n", ""))
    )
    assert list(tmp_path.iterdir()) == []  # no folder, no partial one, no lock
