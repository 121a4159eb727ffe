"""Decisions in one command: factorial grids that resume, runs to a precision, plans, sensitivity."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from funnelsim import grid
from funnelsim.cli import app
from funnelsim.experiment.grid import GridError, parse_values
from funnelsim.experiment.points import PointStore

runner = CliRunner()
SHORT = ["horizon=45d", "warmup=5d"]
FAST = ["--reps", "3", "--workers", "1", "--set", "horizon=45d", "--set", "warmup=5d", "--quiet"]


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


# --- grids ------------------------------------------------------------------------------------


def test_values_are_lists_integer_ranges_or_stepped_float_ranges():
    assert parse_values("1..8") == [1, 2, 3, 4, 5, 6, 7, 8]
    assert parse_values("0.1..0.5:0.1") == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert parse_values("fifo,lifo") == ["fifo", "lifo"]
    assert parse_values("2..10:4") == [2, 6, 10]


@pytest.mark.parametrize(
    ("text", "message"),
    [("4..1", "reversed"), ("", "no values"), ("0.2..0.5", "needs a step"), ("1..3:0", "step must be positive")],
)
def test_bad_ranges_are_refused(text, message):
    with pytest.raises(GridError, match=message):
        parse_values(text)


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        ("sales.sdr.cont=1..2", "unknown field 'cont'"),
        ("sales.sdr.count=a,b", "expected a whole number of people"),
        ("sales.sdr.count=3..1", "reversed"),
        ("sales.sdr.count=", "no values"),
    ],
)
def test_sweep_refuses_a_bad_vary_with_exit_2(vary, message):
    result = invoke("sweep", "baseline", "--vary", vary, *FAST)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_unknown_metric_is_refused_before_anything_runs_and_lists_the_valid_ones(tmp_path):
    for command in (["sweep", "baseline", "--vary", "sales.sdr.count=1..2"], ["compare", "baseline", "--vary",
                                                                               "sales.sdr.count=1..2"]):  # fmt: skip
        result = invoke(*command, "-m", "customerz", *FAST, "--out", str(tmp_path / "out"))
        assert result.exit_code == 2
        assert "unknown metric(s) customerz" in result.output and "answered_within_1h" in result.output
    assert not (tmp_path / "out").exists()  # refused up front: nothing was simulated or written


def test_a_second_vary_gives_the_full_factorial_grid_and_a_rerun_computes_nothing(tmp_path):
    args = ["sweep", "baseline", "--vary", "sales.sdr.count=1..4", "--vary", "sales.queue=fifo,lifo", *FAST,
            "-m", "answered_within_1h", "-m", "abandon_rate", "--store", str(tmp_path / "points")]  # fmt: skip
    first = invoke(*args, "--out", str(tmp_path / "one"))
    assert first.exit_code == 0, first.output
    assert "points: 8 computed, 0 reused" in first.output
    table = pd.read_csv(tmp_path / "one" / "sweep.csv")
    assert len(table) == 16  # 4 counts x 2 queues x 2 metrics
    assert list(table.columns[:3]) == ["sales.sdr.count", "sales.queue", "metric"]
    assert {"mean", "ci_low", "ci_high"} <= set(table.columns)
    assert sorted(set(zip(table["sales.sdr.count"], table["sales.queue"]))) == [
        (c, q) for c in (1, 2, 3, 4) for q in ("fifo", "lifo")
    ]
    answered = table[table["metric"] == "answered_within_1h"].set_index(["sales.sdr.count", "sales.queue"])["mean"]
    assert answered[(4, "fifo")] > answered[(1, "fifo")] + 0.2  # one SDR answers far fewer within the hour
    assert answered[(1, "lifo")] > answered[(1, "fifo")]  # newest-first answers the fresh leads when overloaded
    _check_the_grid_folder(tmp_path / "one", table)
    second = invoke(*args, "--out", str(tmp_path / "two"))
    assert "points: 0 computed, 8 reused" in second.output
    assert pd.read_csv(tmp_path / "two" / "sweep.csv").equals(table)


def _check_the_grid_folder(folder, table):
    """A two-field sweep's folder: a manifest like other results folders, a heatmap per metric whose
    cells are the table's means, and a report with the decision table."""
    import json

    import numpy as np

    from funnelsim.report.folder import open_folder
    from funnelsim.report.outputs import folder_charts

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["params"] == ["sales.sdr.count", "sales.queue"]
    assert manifest["metrics"] == ["answered_within_1h", "abandon_rate"] and manifest["replications"] == 3
    assert [p["setting"] for p in manifest["points"]] == [
        {"sales.sdr.count": c, "sales.queue": q} for c in (1, 2, 3, 4) for q in ("fifo", "lifo")
    ]
    assert sorted(p.name for p in (folder / "charts").iterdir()) == ["abandon_rate.png", "answered_within_1h.png"]
    charts = {chart.name: chart for chart in folder_charts(open_folder(folder))}
    for metric in ("answered_within_1h", "abandon_rate"):
        chart = charts[metric]
        means = table[table["metric"] == metric].pivot(index="sales.queue", columns="sales.sdr.count", values="mean")
        assert chart.notes["across"] == [1, 2, 3, 4] and chart.notes["down"] == ["fifo", "lifo"]
        np.testing.assert_allclose(chart.notes["means"], means.loc[["fifo", "lifo"], [1, 2, 3, 4]].to_numpy())
        shown = np.asarray(chart.figure.axes[0].images[0].get_array())  # the colours: the means, in %
        np.testing.assert_allclose(shown, 100 * means.loc[["fifo", "lifo"], [1, 2, 3, 4]].to_numpy())
        best = chart.data[chart.data["best"]]
        part = table[table["metric"] == metric]
        expected = part.loc[part["mean"].idxmax() if metric == "answered_within_1h" else part["mean"].idxmin()]
        assert len(best) == 1 and best.iloc[0]["mean"] == expected["mean"]
        # overloaded points (one SDR, at least) are flagged in their cells, as the manifest says
        settings = [(p["setting"]["sales.sdr.count"], p["setting"]["sales.queue"]) for p in manifest["points"]]
        flags = dict(zip(settings, (p["overloaded"] for p in manifest["points"])))
        marked = {(c, q): o for c, q, o in zip(chart.data["sales.sdr.count"], chart.data["sales.queue"],
                                                chart.data["overloaded"])}  # fmt: skip
        assert marked == flags and flags[(1, "fifo")] and not flags[(4, "fifo")]
        warned = [t.get_text() for t in chart.figure.axes[0].texts if t.get_text().startswith("⚠")]
        assert len(warned) == sum(flags.values())
    report = invoke("report", str(folder))
    assert report.exit_code == 0, report.output
    html = (folder / "report.html").read_text()
    assert "sales.sdr.count, sales.queue" in html and "<td>4, fifo</td>" in html
    assert html.count("data:image/png;base64,") == 2


def test_an_interrupted_grid_keeps_every_finished_point(tmp_path):
    store = PointStore(tmp_path / "points")
    seen = []

    def stop_after_two_points(n: int) -> None:
        seen.append(n)
        if len(seen) == 4:  # 2 replications per point: the second point has just finished
            raise KeyboardInterrupt

    vary = {"sales.sdr.count": [1, 2, 3]}
    with pytest.raises(KeyboardInterrupt):
        grid("baseline", vary, reps=2, seed=5, overrides=SHORT, store=store, executor="serial",
             progress=stop_after_two_points)  # fmt: skip
    assert store.computed == 2 and len(list((tmp_path / "points").glob("*.parquet"))) == 2
    again = grid("baseline", vary, reps=2, seed=5, overrides=SHORT, store=store, executor="serial")
    assert (again.computed, again.reused) == (1, 2)
    fresh = grid("baseline", vary, reps=2, seed=5, overrides=SHORT, executor="serial")
    assert again.table.drop(columns="point").equals(fresh.table.drop(columns="point"))


def test_a_stored_point_is_keyed_by_scenario_seed_and_replications(tmp_path):
    store = tmp_path / "points"
    grid("baseline", {"sales.sdr.count": [2]}, reps=2, seed=5, overrides=SHORT, store=store, executor="serial")
    other_seed = grid("baseline", {"sales.sdr.count": [2]}, reps=2, seed=6, overrides=SHORT, store=store,
                      executor="serial")  # fmt: skip
    more_reps = grid("baseline", {"sales.sdr.count": [2]}, reps=3, seed=5, overrides=SHORT, store=store,
                     executor="serial")  # fmt: skip
    other_scenario = grid("baseline", {"sales.sdr.count": [2]}, reps=2, seed=5, overrides=[*SHORT, "sales.sla=2h"],
                          store=store, executor="serial")  # fmt: skip
    assert [g.computed for g in (other_seed, more_reps, other_scenario)] == [1, 1, 1]


def test_compare_with_two_varies_runs_every_combination_paired(tmp_path):
    result = invoke("compare", "baseline", "--vary", "sales.sdr.count=1..2", "--vary", "sales.queue=fifo,lifo",
                    *FAST, "-m", "leads", "--out", str(tmp_path / "compare"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 scenarios" in result.output


# --- plan -------------------------------------------------------------------------------------

PLAN_HORIZON = ["horizon=120d", "warmup=14d"]
PLAN_SETS = ["--set", PLAN_HORIZON[0], "--set", PLAN_HORIZON[1]]


def test_plan_finds_the_smallest_sdr_count_that_meets_the_target_and_run_confirms_it():
    from funnelsim import plan, run

    result = plan("baseline", ["answered_within_1h>=0.35"], ["sales.sdr.count=1..8"], reps=6, seed=3,
                  overrides=PLAN_HORIZON, executor="serial")  # fmt: skip
    count = result.plan.counts["sales.sdr.count"]
    assert 2 < count < 8
    assert len(result.teams) < 8  # bisection from the warm start, not the whole grid
    assert result.binding == ["answered_within_1h>=0.35"]

    def conservative(c: int) -> float:
        checked = run("baseline", reps=6, seed=3, overrides=[*PLAN_HORIZON, f"sales.sdr.count={c}"],
                      executor="serial", timeseries_step_hours=None)  # fmt: skip
        return checked.figure("answered_within_1h")[1]  # the interval's lower end

    assert conservative(count) >= 0.35 > conservative(count - 1)
    assert result.plan.cost_per_month == count * 7000 + 4 * 12000


def test_plan_cli_prints_the_plan_runners_up_and_the_frontier(tmp_path):
    out = tmp_path / "plan"
    result = invoke("plan", "baseline", "--target", "answered_within_1h>=0.35", "--vary", "sales.sdr.count=1..8",
                    "-n", "4", "-w", "1", "-q", *PLAN_SETS, "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "plan: " in result.output and "binding: answered_within_1h>=0.35" in result.output
    assert "runners-up" in result.output and "Cost / month" in result.output
    assert (out / "charts" / "frontier.png").is_file()
    table = pd.read_csv(out / "plan.csv")
    assert table["plan"].sum() == 1


def test_a_target_no_headcount_can_meet_is_unreachable_and_the_calendar_is_named(tmp_path):
    result = invoke("plan", "baseline", "--target", "answered_within_1h>=0.8", "--vary", "sales.sdr.count=1..8",
                    "-n", "3", "-w", "1", "-q", *PLAN_SETS,
                    "--out", str(tmp_path / "plan"))  # fmt: skip
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "no plan" in text and "unreachable: answered_within_1h>=0.8" in text
    assert "best reached" in text and "with 8 SDR" in text
    assert "bounded by the calendar" in text and "24/7" in text and "automated first touch" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "answerd_within_1h>=0.8"], "unknown metric(s) answerd_within_1h"),
        (["--target", "answered_within_1h=0.8"], "expected METRIC>=VALUE or METRIC<=VALUE"),
        (["--target", "answered_within_1h>=high"], "expected a number"),
        (["--target", "answered_within_1h>=0.3", "--objective", "most:profit"], "expected max:METRIC"),
        (["--target", "answered_within_1h>=0.3", "--vary", "sales.sdr.reach=0.5..0.9:0.1"], "varies headcounts"),
        (["--target", "answered_within_1h>=0.3", "--vary", "sales.sdr.count=5..2"], "reversed"),
        (["--target", "answered_within_1h>=0.3", "--precision", "1.5"], "at most 1"),
    ],
)
def test_plan_refuses_bad_targets_and_bounds_with_exit_2(args, message):
    vary = [] if "--vary" in args else ["--vary", "sales.sdr.count=1..3"]
    result = invoke("plan", "baseline", *args, *vary, "-n", "2", "-q")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


# --- sensitivity ------------------------------------------------------------------------------


def test_sensitivity_pairs_each_parameter_low_and_high_against_the_scenario():
    from funnelsim.experiment.sensitivity import sensitivity

    result = sensitivity("baseline", ["sales.sdr.reach=0.6..0.9", "sales.auto_touch.decay_slowdown=1..3"],
                         ["customers"], reps=4, seed=2, overrides=["horizon=90d", "warmup=7d"],
                         executor="serial")  # fmt: skip
    rows = result.metric("customers").set_index("parameter")
    assert list(rows.index) == ["sales.sdr.reach", "sales.auto_touch.decay_slowdown"]  # largest swing first
    reach = rows.loc["sales.sdr.reach"]
    assert reach["low_ci_high"] < 0 < reach["high_ci_low"]  # fewer calls connect -> fewer customers, and back
    assert (reach["low"], reach["base"], reach["high"]) == (0.6, 0.8, 0.9)
    slowdown = rows.loc["sales.auto_touch.decay_slowdown"]
    # the baseline has no automated touch: same seeds, same leads, exactly the same customers
    assert slowdown["low_effect"] == slowdown["high_effect"] == 0.0
    assert "auto_touch is disabled" in result.notes[0]


def test_sensitivity_by_default_covers_the_scenarios_assumptions_and_draws_a_tornado(tmp_path):
    out = tmp_path / "sens"
    result = invoke("sensitivity", "baseline", "-n", "2", "-w", "1", "-q", "--set", "horizon=30d", "--set",
                    "warmup=3d", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sensitivity.csv")
    assert {"sales.sdr.reach", "sales.patience.exponential.mean", "sales.ae.capacity"} <= set(table["parameter"])
    assert "sales.auto_touch.decay_slowdown" not in set(table["parameter"])  # off in the baseline: not an assumption
    reach = table.set_index("parameter").loc["sales.sdr.reach"]
    assert (reach["low"], reach["high"]) == (0.6, 1.0)  # -25%, and +25% capped at a probability of 1
    assert (out / "charts" / "tornado-customers.png").is_file()


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("sales.sdr.reach=0.85..0.95", "excludes the scenario's own value sales.sdr.reach = 0.8"),
        ("sales.sdr.reach=0.9..0.6", "reversed"),
        ("sales.sdr.reach=0.8..0.8", "empty"),
        ("sales.sdr.rech=0.6..0.9", "no such field"),
        ("sales.patience.exponential.mean=3..14", "takes a duration"),
        ("sales.sdr.reach=0.6", "expected KEY=LOW..HIGH"),
    ],
)
def test_sensitivity_refuses_bad_ranges_with_exit_2(param, message):
    result = invoke("sensitivity", "baseline", "--param", param, "-n", "2", "-q")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


# --- precision --------------------------------------------------------------------------------


def test_precision_adds_replications_until_the_half_width_is_within_the_share_of_the_mean():
    from funnelsim import load_scenario, run, run_to_precision

    scenario = load_scenario("baseline", SHORT)
    result, report = run_to_precision(scenario, 0.1, reps=3, seed=8, names=["customers"], executor="serial")
    assert report.met and report.reps > 3  # three replications were not enough for ±10%
    mean, low, high = result.figure("customers")
    assert (high - low) / 2 <= 0.1 * mean
    # replication i always uses child i of the seed: the longer run starts with the shorter one
    shorter = run(scenario, reps=3, seed=8, executor="serial", timeseries_step_hours=None)
    columns = [c for c in shorter.replications.columns if c != "seconds"]
    assert result.replications[columns].iloc[:3].equals(shorter.replications[columns])


def test_precision_stops_at_the_cap_and_says_so():
    from funnelsim import load_scenario, run_to_precision

    scenario = load_scenario("baseline", SHORT)
    result, report = run_to_precision(scenario, 0.001, reps=3, seed=8, max_reps=6, names=["customers"],
                                      executor="serial")  # fmt: skip
    assert len(result.replications) == 6 and report.cap_reached
    assert "cap of 6 replications hit" in report.describe() and "customers" in report.describe()


def test_a_share_is_held_to_half_a_percentage_point():
    from funnelsim.experiment.precision import tolerance

    assert tolerance("answered_within_1h", 0.3, 0.02) == 0.005
    assert tolerance("customers", 200.0, 0.02) == 4.0


def test_run_to_precision_on_the_command_line_reports_the_cap(tmp_path):
    result = invoke("run", "baseline", "--precision", "0.001", "-n", "3", "--max-reps", "4", *FAST[2:],
                    "--no-charts", "--out", str(tmp_path / "r"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "precision NOT reached: cap of 4 replications hit" in " ".join(result.output.split())
    assert len(pd.read_parquet(tmp_path / "r" / "replications.parquet")) == 4


@pytest.mark.parametrize("command", [["run"], ["compare", "baseline", "--vary", "sales.queue=fifo,lifo"],
                                     ["sweep", "--vary", "sales.sdr.count=1..2"]])  # fmt: skip
@pytest.mark.parametrize("value", ["0", "1.5", "-0.1"])
def test_precision_of_zero_or_above_one_is_exit_2(command, value):
    result = invoke(*command, "--precision", value, "-n", "2", "-q")
    assert result.exit_code == 2 and "--precision" in result.output and "at most 1" in result.output


def test_an_objective_picks_the_best_feasible_team_by_that_figure():
    from funnelsim import plan

    result = plan("baseline", ["answered_within_1h>=0.3"], ["sales.sdr.count=1..6"], objective="max:profit", reps=4,
                  seed=3, overrides=PLAN_HORIZON, executor="serial")  # fmt: skip
    feasible = [t for t in result.teams if t.feasible]
    assert result.plan in feasible
    assert result.plan.figure("profit")[0] == max(t.figure("profit")[0] for t in feasible)
    assert result.objective.text == "max:profit"


def test_sweep_and_plan_take_precision_and_stop_at_the_cap(tmp_path):
    from funnelsim import plan

    store = tmp_path / "points"
    sweep = grid("baseline", {"sales.sdr.count": [2, 3]}, reps=3, overrides=SHORT, store=store, executor="serial",
                 precision=0.001, max_reps=5)  # fmt: skip
    assert [len(r.replications) for r in sweep.results] == [5, 5]
    again = grid("baseline", {"sales.sdr.count": [2, 3]}, reps=3, overrides=SHORT, store=store, executor="serial",
                 precision=0.001, max_reps=5)  # fmt: skip
    assert (again.computed, again.reused) == (0, 2)
    team = plan("baseline", ["answered_within_1h>=0.3"], ["sales.sdr.count=1..4"], reps=3, overrides=PLAN_HORIZON,
                executor="serial", precision=0.001, max_reps=5)  # fmt: skip
    assert all(len(t.result.replications) == 5 for t in team.teams)


def test_help_and_readme_list_the_valid_metric_names():
    from pathlib import Path

    from funnelsim.metrics import FIGURES

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for command in ("sweep", "compare", "plan", "sensitivity"):
        text = " ".join(invoke(command, "--help").output.split())
        assert "answered_within_1h" in text and "payback_months" in text, command
    assert all(f"`{name}`" in readme for name in FIGURES)
