"""Charts, report.html and the workbook show the numbers the results folder holds, and refuse bad folders."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import funnelsim
from funnelsim.cli import app
from funnelsim.report import charts
from funnelsim.report.folder import open_folder
from funnelsim.report.outputs import draw_charts, folder_charts
from funnelsim.report.results import write_run

runner = CliRunner()
SHORT = ["horizon=60d", "warmup=7d"]
FAST = ["--reps", "3", "--workers", "1", "--set", "horizon=60d", "--set", "warmup=7d", "--quiet"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    result = funnelsim.run("baseline", reps=3, seed=11, overrides=SHORT, workers=1, executor="serial")
    return write_run(result, tmp_path_factory.mktemp("run") / "baseline", command=["test"])


@pytest.fixture(scope="module")
def compare_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "cmp"
    args = ["compare", "baseline", "--vary", "sales.sdr.count=2,1,3", *FAST, "-m", "sqls", "-m", "answered_within_1h"]
    result = runner.invoke(app, [*args, "-m", "cac", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "sw"
    args = ["sweep", "--param", "sales.sdr.count", "--values", "1,2,4", "-m", "answered_within_1h", "-m", "cac"]
    result = runner.invoke(app, [*args, *FAST, "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _chart(folder, name):
    return next(c for c in folder_charts(open_folder(folder)) if c.name == name)


# --- what each chart plots --------------------------------------------------------------------


def test_funnel_bars_equal_the_summary_counts(run_folder):
    summary = pd.read_csv(run_folder / "summary.csv").set_index("metric")["mean"]
    chart = _chart(run_folder, "funnel")
    widths = [p.get_width() for p in chart.figure.axes[0].patches]
    assert widths == pytest.approx(list(chart.data["mean"]))
    for row in chart.data.itertuples():
        assert row.mean == pytest.approx(summary[row.metric])
    assert [m for m in chart.data["metric"]][:3] == ["leads", "mqls", "sals"]
    # the baseline's AE pipeline never fills, so SQLs and opportunities are one bar that says so
    assert summary["sqls"] == summary["opportunities"]
    assert "opportunities" not in set(chart.data["metric"]) and chart.notes["merged_opportunities"]
    mql_share = chart.data.set_index("metric").loc["mqls", "conversion"]
    assert mql_share == pytest.approx(summary["mqls"] / summary["leads"])


def test_speed_to_lead_shares_equal_the_summary_figures(run_folder):
    summary = pd.read_csv(run_folder / "summary.csv").set_index("metric")["mean"]
    shares = _chart(run_folder, "speed_to_lead").data.set_index("within")["mean"]
    for label, metric in (
        ("5 min", "answered_within_5min"),
        ("1 h", "answered_within_1h"),
        ("24 h", "answered_within_24h"),
    ):
        assert shares[label] == pytest.approx(summary[metric], abs=1e-12)


def test_conversion_by_delay_counts_every_sal_once(run_folder):
    delays = pd.read_parquet(run_folder / "response_delays.parquet")
    replications = pd.read_parquet(run_folder / "replications.parquet").set_index("replication")
    per_rep = delays.groupby("replication")[["sals", "sqls"]].sum()
    assert per_rep["sals"].tolist() == replications["sals"].tolist()
    assert per_rep["sqls"].tolist() == replications["sqls"].tolist()  # reps do not work trials in the baseline
    frame = _chart(run_folder, "conversion_by_delay").data
    answered = delays[delays["delay_upto_hours"].notna()]
    assert frame["sals_per_replication"].sum() == pytest.approx(answered["sals"].sum() / 3)
    first = answered[answered["delay_upto_hours"] <= 5 / 60].groupby("replication")[["sals", "sqls"]].sum()
    assert frame["mean"].iloc[0] == pytest.approx((first["sqls"] / first["sals"]).mean())


def test_capacity_and_revenue_charts_read_the_stored_tables(run_folder):
    trend = _chart(run_folder, "capacity_trend")
    assert trend.notes["ae_slots"] == 4 * 40
    queue = trend.data[trend.data["metric"] == "sal_queue"]
    series = pd.read_parquet(run_folder / "timeseries.parquet")
    week0 = series[series["t_hours"] < 168].groupby("replication")["sal_queue"].mean().mean()
    assert queue.iloc[0]["mean"] == pytest.approx(week0)
    heat = _chart(run_folder, "capacity_by_hour").data
    busy = heat[heat["metric"] == "sdrs_busy"]
    assert busy[busy["weekday"] >= 5]["mean"].max() == 0  # nobody works weekends in the baseline
    revenue = _chart(run_folder, "revenue").data
    mrr = pd.read_parquet(run_folder / "mrr.parquet")
    last_day = mrr["day"].max()
    shown = revenue[(revenue["panel"] == "mrr") & (revenue["x"] == last_day)]["mean"].iloc[0]
    assert shown == pytest.approx(mrr[mrr["day"] == last_day]["mrr"].mean())
    survival = revenue[revenue["panel"] == "survival"]
    assert set(survival["group"]) <= {"good fit", "poor fit"} and (survival["mean"] <= 1).all()


def test_compare_chart_plots_exactly_the_paired_differences_asked(compare_folder):
    table = pd.read_csv(compare_folder / "comparison.csv").set_index("metric")
    chart = _chart(compare_folder, "comparison")
    ref = "baseline[count=2]"
    assert list(dict.fromkeys(chart.data["metric"])) == ["sqls", "answered_within_1h", "cac"]
    for row in chart.data.itertuples():
        assert row.difference == table.loc[row.metric, f"{row.variant} - {ref}"]
        assert (row.ci_low, row.ci_high) == (table.loc[row.metric, f"{row.variant} ci_low"],
                                             table.loc[row.metric, f"{row.variant} ci_high"])  # fmt: skip
        assert row.significant == (row.ci_low > 0 or row.ci_high < 0)
    # the points drawn on the answered-within-1h panel are the differences in percentage points
    panel = next(ax for ax in chart.figure.axes if ax.get_title() == "SALs answered within 1 h")
    drawn = sorted(float(line.get_xdata()[0]) for line in panel.lines if line.get_marker() == "o")
    columns = [f"{v} - {ref}" for v in ("baseline[count=1]", "baseline[count=3]")]
    expected = sorted(100 * table.loc["answered_within_1h", columns])
    assert drawn == pytest.approx(expected)
    assert "pp" in panel.get_xlabel()
    assert (compare_folder / "charts" / "comparison.png").is_file()


def test_sweep_chart_marks_the_best_mean(sweep_folder):
    table = pd.read_csv(sweep_folder / "sweep.csv")
    for metric, pick in (("answered_within_1h", "idxmax"), ("cac", "idxmin")):
        part = table[table["metric"] == metric].reset_index(drop=True)
        chart = _chart(sweep_folder, metric)
        best = part.loc[getattr(part["mean"], pick)(), "sales.sdr.count"]
        assert chart.notes["best"] == best
        star = next(line for line in chart.figure.axes[0].lines if line.get_marker() == "*")
        scale = 100 if metric == "answered_within_1h" else 1
        assert float(star.get_xdata()[0]) == best
        assert float(star.get_ydata()[0]) == pytest.approx(scale * part["mean"].max() if pick == "idxmax"
                                                           else part["mean"].min())  # fmt: skip


def test_sweep_chart_rings_the_overloaded_values(sweep_folder):
    points = json.loads((sweep_folder / "manifest.json").read_text())["points"]
    flags = [p["overloaded"] for p in points]
    assert flags[0] and not flags[-1]  # one SDR cannot keep up; four can
    chart = _chart(sweep_folder, "cac")
    assert list(chart.data["overloaded"]) == flags
    (ring,) = [line for line in chart.figure.axes[0].lines if line.get_label().startswith("⚠ overloaded")]
    swept = [int(p["value"]) for p in points]
    assert list(ring.get_xdata()) == [v for v, f in zip(swept, flags) if f]


def test_grid_lines_chart_rings_the_overloaded_points():
    from funnelsim.report.decision_charts import grid_lines_chart

    rows = pd.DataFrame({"sales.sdr.count": [1, 2, 1, 2], "sales.queue": ["fifo", "fifo", "lifo", "lifo"],
                         "mean": [10.0, 20.0, 12.0, 22.0], "ci_low": [9.0, 19, 11, 21],
                         "ci_high": [11.0, 21, 13, 23]})  # fmt: skip
    keys = ["sales.sdr.count", "sales.queue"]
    chart = grid_lines_chart(rows, keys, "customers", overloaded=[True, False, True, False])
    rings = [line for line in chart.figure.axes[0].lines if line.get_marker() == "o" and line.get_mfc() == "none"]
    assert sorted(float(y) for line in rings for y in line.get_ydata()) == [10.0, 12.0]
    legend = [t.get_text() for t in chart.figure.axes[0].get_legend().get_texts()]
    assert legend.count("⚠ overloaded (a queue grows)") == 1
    assert list(chart.data["overloaded"]) == [True, False, True, False]
    unmarked = grid_lines_chart(rows, keys, "customers", overloaded=[True])  # flags not one per row: none marked
    assert not unmarked.data["overloaded"].any()


def test_no_data_instead_of_a_crash(tmp_path):
    from tests.conftest import MINIMAL

    scenario = funnelsim.load_scenario(
        {
            **MINIMAL,
            "sales": {**MINIMAL["sales"], "sdr": {"count": "unlimited"}},
            "channels": {"web": {"leads_per_week": 0}},
        }
    )
    result = funnelsim.run(scenario, reps=2, seed=1, workers=1, executor="serial")
    folder = write_run(result, tmp_path / "empty", command=["test"])
    assert {p.name for p in (folder / "charts").iterdir()} == {f"{n}.png" for n in charts.RUN_CHARTS}
    for chart in folder_charts(open_folder(folder)):
        texts = [t.get_text() for ax in chart.figure.axes for t in ax.texts]
        assert any(t.startswith("no data") for t in texts), chart.name
    empty = charts.compare_chart(pd.DataFrame({"metric": []}), "a", ["b"], ["sqls"])
    assert any("no data" in t.get_text() for ax in empty.figure.axes for t in ax.texts)
    swept = charts.sweep_chart(pd.DataFrame(columns=["value", "mean", "ci_low", "ci_high"]), "k", "sqls")
    assert swept.notes["best"] is None


def test_money_axes_carry_the_scenario_currency(tmp_path):
    result = funnelsim.run("baseline", reps=2, seed=3, overrides=[*SHORT, "currency=EUR"], workers=1, executor="serial")
    folder = write_run(result, tmp_path / "eur", command=["test"], charts=False)
    revenue = _chart(folder, "revenue")
    assert revenue.figure.axes[0].get_ylabel() == "MRR (EUR per month)"
    bad = runner.invoke(app, ["run", "--set", "currency=euro", "--quiet"])
    assert bad.exit_code == 2 and "3-letter ISO 4217" in bad.output


def test_chart_command_redraws_from_the_files_alone(run_folder, tmp_path):
    copy = shutil.copytree(run_folder, tmp_path / "copy")
    shutil.rmtree(copy / "charts")
    result = runner.invoke(app, ["chart", str(copy)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (copy / "charts").iterdir()) == sorted(f"{n}.png" for n in charts.RUN_CHARTS)


# --- bad folders: a clear message and exit 2 --------------------------------------------------


def _bad_folders(run_folder, tmp_path):
    not_results = tmp_path / "plain"
    not_results.mkdir()
    (not_results / "notes.txt").write_text("hello")
    newer = shutil.copytree(run_folder, tmp_path / "newer")
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["versions"]["funnelsim"] = "99.0.0"
    (newer / "manifest.json").write_text(json.dumps(manifest))
    missing = shutil.copytree(run_folder, tmp_path / "missing")
    (missing / "timeseries.parquet").unlink()
    return {
        "not a results folder": (not_results, "not a funnelsim results folder"),
        "newer funnelsim": (newer, "newer than this funnelsim"),
        "missing file": (missing, "timeseries.parquet is missing"),
        "no such folder": (tmp_path / "nowhere", "no such folder"),
    }


@pytest.mark.parametrize("command", [["chart"], ["report"], ["export", "--xlsx"]])
def test_bad_folders_exit_2_with_a_clear_message(command, run_folder, tmp_path):
    for case, (folder, message) in _bad_folders(run_folder, tmp_path).items():
        result = runner.invoke(app, [command[0], str(folder), *command[1:]])
        assert result.exit_code == 2, (case, result.output)
        assert message in result.output.replace("\n", ""), (case, result.output)
        assert "Traceback" not in result.output


# --- the workbook -----------------------------------------------------------------------------


def test_workbook_holds_the_numbers_of_the_csvs(run_folder, compare_folder, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "run.xlsx"
    assert runner.invoke(app, ["export", str(run_folder), "--xlsx", "--out", str(out)]).exit_code == 0
    book = load_workbook(out)
    assert {"summary", "replications", "response_delays", "retention", "mrr"} <= set(book.sheetnames)
    sheet = book["summary"]
    rows = list(sheet.values)
    header, body = rows[0], rows[1:]
    summary = pd.read_csv(run_folder / "summary.csv")
    assert "mean (unit per row)" in header
    mean_col = header.index("mean (unit per row)")
    assert [r[0] for r in body] == list(summary["metric"])
    for r, expected in zip(body, summary["mean"]):
        assert (r[mean_col] is None and np.isnan(expected)) or r[mean_col] == pytest.approx(expected, rel=1e-12)
        assert r[mean_col] is None or isinstance(r[mean_col], (int, float))
    units = dict(zip(summary["metric"], [r[header.index("unit")] for r in body]))
    assert units["cac"] == "USD" and units["lead_to_mql"] == "%"
    replications = list(book["replications"].values)
    assert "lead_to_mql (share, %)" in replications[0] and "cac (USD)" in replications[0]

    cmp = tmp_path / "cmp.xlsx"
    assert runner.invoke(app, ["export", str(compare_folder), "--xlsx", "--out", str(cmp)]).exit_code == 0
    rows = list(load_workbook(cmp)["comparison"].values)
    table = pd.read_csv(compare_folder / "comparison.csv")
    column = "baseline[count=1] - baseline[count=2]"
    index = [h.split(" (")[0] for h in rows[0]].index(column)
    assert [r[index] for r in rows[1:]] == pytest.approx(list(table[column]))


# --- report.html ------------------------------------------------------------------------------

PROBE = (
    "<script>window.addEventListener('load', () => { const images = [...document.images];"
    " document.body.setAttribute('data-probe', JSON.stringify({images: images.length,"
    " rendered: images.filter(i => i.complete && i.naturalWidth > 0).length,"
    " tables: document.querySelectorAll('table').length, rows: document.querySelectorAll('tbody tr').length,"
    " fetched: performance.getEntriesByType('resource').map(e => e.name)})); });</script>"
)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.parametrize("kind", ["run", "compare", "sweep"])
def test_report_is_one_self_contained_file(kind, run_folder, compare_folder, sweep_folder):
    folder = {"run": run_folder, "compare": compare_folder, "sweep": sweep_folder}[kind]
    result = runner.invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    page = (folder / "report.html").read_text()
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page) + re.findall(r"url\(", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert page.count("<img") == len(list((folder / "charts").glob("*.png")))
    assert "default-src 'none'" in page
    if kind == "run":
        assert "Sources and assumptions" in page and "HBR 2011" in page and "95% CI" in page
    else:
        assert "Decision table" in page


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("kind", ["run", "compare"])
def test_report_renders_in_headless_chromium_without_errors_or_network(kind, run_folder, compare_folder, tmp_path):
    folder = {"run": run_folder, "compare": compare_folder}[kind]
    assert runner.invoke(app, ["report", str(folder)]).exit_code == 0
    page = (folder / "report.html").read_text()
    # The probe copy drops the page's Content-Security-Policy so that any reference to the network
    # would really be requested (and show up in the resource timings) instead of being blocked.
    probe = re.sub(r"<meta http-equiv='Content-Security-Policy'[^>]*>", "", page).replace("</body>", PROBE + "</body>")
    path = tmp_path / "probe.html"
    path.write_text(probe)
    done = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=5000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    probe_result = json.loads(html.unescape(found.group(1)))
    assert probe_result["images"] == len(list((folder / "charts").glob("*.png"))) > 0
    assert probe_result["rendered"] == probe_result["images"]
    assert probe_result["tables"] >= 2 and probe_result["rows"] > 10
    assert probe_result["fetched"] == []
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []


def test_drawing_charts_is_the_only_thing_that_imports_matplotlib():
    code = (
        "import sys, funnelsim, funnelsim.cli, funnelsim.report.results, funnelsim.report.folder\n"
        "r = funnelsim.run('baseline', reps=1, overrides=['horizon=14d', 'warmup=0d'], executor='serial')\n"
        "print(repr(r)); r._repr_html_()\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported before drawing'\n"
        "r.plot('funnel'); assert 'matplotlib' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_draw_charts_of_a_compare_folder_writes_one_chart(compare_folder):
    assert [p.name for p in draw_charts(compare_folder)] == ["comparison.png"]


def test_warnings_and_overloaded_variants_are_shown(run_folder, compare_folder, tmp_path):
    run_copy = shutil.copytree(run_folder, tmp_path / "warned")
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["warnings"] = [{"message": "SDR desk overloaded: offered load 1.3 of 1.0"}, "AE pipeline backlog grows"]
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    funnel = _chart(run_copy, "funnel")
    assert any("SDR desk overloaded" in t.get_text() for t in funnel.figure.texts)
    assert runner.invoke(app, ["report", str(run_copy)]).exit_code == 0
    page = (run_copy / "report.html").read_text()
    assert "SDR desk overloaded: offered load 1.3 of 1.0" in page and "AE pipeline backlog grows" in page

    cmp_copy = shutil.copytree(compare_folder, tmp_path / "overloaded")
    manifest = json.loads((cmp_copy / "manifest.json").read_text())
    manifest["variants"][0]["overloaded"] = False  # the reference, baseline[count=2]
    manifest["variants"][1]["overloaded"] = True
    (cmp_copy / "manifest.json").write_text(json.dumps(manifest))
    chart = _chart(cmp_copy, "comparison")
    labels = {t.get_text() for ax in chart.figure.axes for t in ax.get_yticklabels()}
    assert "baseline[count=1] ⚠ overloaded" in labels and "baseline[count=3]" in labels
    texts = [t.get_text() for t in chart.figure.texts]
    assert not any("(⚠ overloaded)?" in t for t in texts)  # the reference is not overloaded
    assert charts.comparison.OVERLOAD_NOTE in texts  # the note says what the mark means

    manifest["variants"][0]["overloaded"] = True  # now the reference too
    (cmp_copy / "manifest.json").write_text(json.dumps(manifest))
    texts = [t.get_text() for t in _chart(cmp_copy, "comparison").figure.texts]
    assert any(t.endswith("compared with baseline[count=2] (⚠ overloaded)?") for t in texts), texts


def test_charts_drawn_side_by_side_are_the_files_drawn_in_turn(run_folder, tmp_path):
    data = open_folder(run_folder).run_data()
    timings: dict[str, float] = {}
    forked = charts.run_charts(data, tmp_path / "forked", workers=2, timings=timings)
    in_turn = charts.run_charts(data, tmp_path / "in_turn", workers=1)
    assert [p.name for p in forked] == [f"{name}.png" for name in charts.RUN_CHARTS]
    assert [p.read_bytes() for p in forked] == [p.read_bytes() for p in in_turn]
    assert sorted(timings) == sorted(f"chart_{name}_seconds" for name in charts.RUN_CHARTS)
    assert all(seconds > 0 for seconds in timings.values())


def test_a_run_folder_records_each_phase_in_its_manifest(run_folder):
    import json

    timings = json.loads((run_folder / "manifest.json").read_text())["timings"]
    phases = {"wall_seconds", "replication_seconds_total", "write_seconds", "charts_seconds"}
    assert phases | {f"chart_{name}_seconds" for name in charts.RUN_CHARTS} == set(timings)
    assert timings["charts_seconds"] >= max(v for k, v in timings.items() if k.startswith("chart_")) > 0
