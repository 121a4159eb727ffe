"""The what-if page without a browser: overrides from the levers, schema messages, paired figures, saving."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

import funnelsim
from funnelsim import metrics
from funnelsim.app.levers import SDR_CALENDAR, SaveError, build_variant, levers_for, save_variant
from funnelsim.cli import app as cli

SMALL = "extends: baseline\nname: small\nhorizon: 60d\nwarmup: 7d\n"
REPS, SEED = 2, 11


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_levers_default_to_the_scenario():
    scenario = funnelsim.load_scenario("baseline")
    levers = {lever.id: lever for lever in levers_for(scenario)}
    assert levers["sdr_count"].default == "2"
    assert levers["sdr_hours"].default == "09:00-17:00"
    assert levers["sdr_days"].default == ["mon", "tue", "wed", "thu", "fri"]
    assert levers["queue"].default == "fifo" and "sla" in levers["queue"].options
    assert levers["sla"].default == "1h"
    assert levers["auto_touch"].default is False
    assert (levers["ae_count"].default, levers["ae_capacity"].default) == ("4", "40")
    assert levers["fit_min"].default == "0.3"
    assert {k for k in levers if k.startswith("volume.")} == {f"volume.{c}" for c in scenario.channels}


def test_unchanged_levers_make_no_overrides():
    scenario = funnelsim.load_scenario("baseline")
    values = {lever.id: lever.default for lever in levers_for(scenario)}
    variant = build_variant("baseline", scenario, values)
    assert variant.overrides == {} and variant.errors == {}
    assert variant.scenario == scenario


def test_changed_levers_become_set_overrides():
    scenario = funnelsim.load_scenario("baseline")
    values = {"sdr_count": "3", "volume.social": "150", "auto_touch": True, "sla": "30min", "queue": "score"}
    variant = build_variant("baseline", scenario, values, [{"path": "sales.sdr.reach", "value": "0.9"}])
    assert variant.errors == {}
    assert variant.overrides == {
        "sales.sdr.count": 3,
        "channels.social.leads_per_week": 156.0,  # 150% of 104 a week
        "sales.auto_touch.enabled": True,
        "sales.sla": "30min",
        "sales.queue": "score",
        "sales.sdr.reach": 0.9,
    }
    assert variant.scenario == funnelsim.load_scenario("baseline", variant.sets)  # the same as --set on the CLI
    assert variant.scenario.sales.sla == 0.5


def test_sdr_days_give_the_sdrs_a_calendar_of_their_own():
    scenario = funnelsim.load_scenario("baseline")
    days = ["mon", "tue", "wed", "thu", "fri", "sat"]
    variant = build_variant("baseline", scenario, {"sdr_days": days, "sdr_hours": "08:00-12:00, 13:00-18:00"})
    loaded = variant.scenario
    assert loaded is not None and loaded.sales.sdr.calendar == SDR_CALENDAR
    sdr = loaded.calendar(SDR_CALENDAR)
    assert sdr.days == days and sdr.hours == [(8.0, 12.0), (13.0, 18.0)]
    assert sdr.holidays == scenario.calendar("office").holidays  # copied, not lost
    assert loaded.calendar(loaded.sales.ae.calendar) == scenario.calendar("office")  # the AEs keep their hours


def test_a_bad_value_gets_the_schema_message_beside_its_control():
    scenario = funnelsim.load_scenario("baseline")
    variant = build_variant("baseline", scenario, {"sdr_count": "0", "sdr_hours": "9-17", "ae_capacity": "5"})
    assert variant.scenario is None
    assert set(variant.errors) == {"sdr_count", "sdr_hours"}
    with pytest.raises(funnelsim.ScenarioError) as expected:
        funnelsim.load_scenario("baseline", {"sales.sdr.count": 0})
    assert variant.errors["sdr_count"] == str(expected.value)
    assert "expected a whole number of people (at least 1)" in variant.errors["sdr_count"]
    assert "expected office hours like '09:00-17:00'" in variant.errors["sdr_hours"]
    bad_extra = build_variant("baseline", scenario, {}, [{"path": "sales.sdr.reech", "value": "1"}])
    assert "reech" in bad_extra.errors["extra.0"]


starlette = pytest.importorskip("starlette", reason="the app extra is not installed")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")
with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its TestClient; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from funnelsim.app.server import create_app  # noqa: E402


@pytest.fixture
def client(small: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(small.parent)
    with TestClient(create_app(str(small), REPS, SEED, workers=1)) as test_client:
        yield test_client


def test_the_page_is_self_contained(client: TestClient):
    html = client.get("/").text
    assert "<script>" in html and "http://" not in html and "https://" not in html
    assert " src=" not in html and "<link" not in html and "@import" not in html


def test_an_invalid_value_never_reaches_the_model(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    simulator = client.app.state.simulator
    monkeypatch.setattr(simulator, "run", lambda *a, **k: pytest.fail("the model ran on an invalid value"))
    answer = client.post("/api/simulate", json={"page": "p", "request_id": 4, "values": {"sdr_count": "two"}}).json()
    assert answer["status"] == "invalid" and answer["request_id"] == 4
    assert "expected a whole number of people" in answer["errors"]["sdr_count"]


def test_figures_equal_funnelsim_run_with_the_same_overrides_and_seed(client: TestClient, small: Path):
    answer = client.post("/api/simulate", json={"page": "p", "request_id": 1, "values": {"sdr_count": "3"}}).json()
    assert answer["status"] == "ok" and answer["sets"] == ["sales.sdr.count=3"]
    expected = funnelsim.run(str(small), REPS, SEED, overrides=["sales.sdr.count=3"], executor="serial")
    base = funnelsim.run(str(small), REPS, SEED, executor="serial")
    for name in ("customers", "answered_within_1h", "sdr_utilisation", "bookings_arr"):
        shown = answer["figures"][name]
        assert shown["variant"] == pytest.approx(list(expected.figure(name)), rel=1e-12)
        assert shown["base"] == pytest.approx(list(base.figure(name)), rel=1e-12)
        paired = (expected.replications[name] - base.replications[name]).mean()
        assert shown["difference"][0] == pytest.approx(paired, rel=1e-9, abs=1e-12)
    assert answer["figures"]["customers"]["label"] == "New customers"
    assert answer["warnings"] == []
    # which way is better travels with each figure, from the registry (the page colours the cards by it)
    directions = {name: answer["figures"][name]["better"] for name in ("customers", "cac", "sdr_utilisation")}
    assert directions == {"customers": "higher", "cac": "lower", "sdr_utilisation": None}


def test_the_pages_sections_are_the_registrys(client: TestClient):
    sections = client.get("/api/state").json()["sections"]
    assert sections["headline"] == ["customers", "answered_within_1h", "abandon_rate", "sdr_utilisation",
                                    "ae_utilisation", "cac", "bookings_arr"]  # fmt: skip
    assert sections["funnel"][0] == "leads" and sections["funnel"][-1] == "customers"
    assert sections["speed"] == ["answered_within_5min", "answered_within_1h", "answered_within_24h", "sla_attainment"]
    assert {key: tuple(names) for key, names in sections.items()} == metrics.PAGE_SECTIONS
    assert "HIGHER_BETTER" not in client.get("/").text  # no list of directions of the page's own


def test_a_newer_request_supersedes_the_older(client: TestClient, small: Path):
    simulator = client.app.state.simulator
    older = simulator.start("p", 1)
    newer = simulator.start("p", 2)
    assert older.cancelled.is_set() and not newer.cancelled.is_set()
    assert simulator.run(funnelsim.load_scenario(str(small)), older) is None
    other_page = simulator.start("q", 1)
    assert not newer.cancelled.is_set() and not other_page.cancelled.is_set()


def test_save_writes_a_scenario_that_extends_the_original(client: TestClient, small: Path):
    values = {"sdr_count": "3", "sdr_days": ["mon", "tue", "wed", "thu", "fri", "sat"]}
    saved = client.post("/api/save", json={"values": values, "path": "whatif.yaml"}).json()
    assert saved["status"] == "saved"
    path = Path(saved["path"])
    assert path.read_text().count("extends: small.yaml") == 1
    variant = build_variant(str(small), funnelsim.load_scenario(str(small)), values).scenario
    assert funnelsim.load_scenario(path).model_copy(update={"name": variant.name}) == variant
    again = client.post("/api/save", json={"values": {"sdr_count": "4"}, "path": "whatif.yaml"})
    assert again.status_code == 409 and again.json()["status"] == "exists"
    assert funnelsim.load_scenario(path).sales.sdr.count == 3  # not overwritten without confirmation
    confirmed = client.post("/api/save", json={"values": {"sdr_count": "4"}, "path": "whatif.yaml", "overwrite": True})
    assert confirmed.json()["status"] == "saved" and funnelsim.load_scenario(path).sales.sdr.count == 4
    outside = client.post("/api/save", json={"values": values, "path": "../elsewhere.yaml"}).json()
    assert outside["status"] == "error" and "only files under the current directory" in outside["message"]


def test_save_refuses_paths_outside_the_current_directory(tmp_path: Path):
    with pytest.raises(SaveError, match="only files under the current directory"):
        save_variant("baseline", {}, "/etc/whatif.yaml", root=tmp_path)
    with pytest.raises(SaveError, match=r"ending in \.yaml"):
        save_variant("baseline", {}, "whatif.txt", root=tmp_path)
    path = save_variant("baseline", {"sales.sdr.count": 3}, "w.yaml", root=tmp_path)
    assert funnelsim.load_scenario(path).sales.sdr.count == 3  # extends the bundled scenario by name


def test_app_without_the_extra_exits_2_with_the_install_hint(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "starlette", None)
    for name in [m for m in sys.modules if m.startswith(("funnelsim.app.server", "starlette."))]:
        monkeypatch.delitem(sys.modules, name)
    result = CliRunner().invoke(cli, ["app", "--no-browser"])
    assert result.exit_code == 2
    assert 'pip install ".[app]"' in result.output


def test_app_with_a_bad_scenario_exits_2(tmp_path: Path):
    result = CliRunner().invoke(cli, ["app", str(tmp_path / "missing.yaml"), "--no-browser"])
    assert result.exit_code == 2 and "no such file" in result.output


def test_serve_prints_the_address_and_warns_off_loopback(monkeypatch: pytest.MonkeyPatch):
    import uvicorn

    from funnelsim.app import server

    started: list[tuple[str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, log_level: started.append((host, port)))
    said: list[str] = []
    warned: list[str] = []
    server.serve("baseline", 1, 1, open_browser=False, workers=1, say=said.append, warn=warned.append)
    ((host, port),) = started
    assert host == "127.0.0.1" and port > 0 and warned == []
    assert said == [f"funnelsim what-if page for baseline at http://127.0.0.1:{port}/ (Ctrl+C to stop)"]
    server.serve(
        "baseline", 1, 1, host="0.0.0.0", port=8123, open_browser=False, workers=1, say=said.append, warn=warned.append
    )
    assert started[-1] == ("0.0.0.0", 8123) and len(warned) == 1 and "0.0.0.0" in warned[0]


def test_sdrs_on_the_24_7_calendar_can_be_given_office_hours():
    scenario = funnelsim.load_scenario("baseline", {"sales.sdr.calendar": "always"})
    levers = {lever.id: lever for lever in levers_for(scenario)}
    assert levers["sdr_hours"].default == "00:00-24:00" and len(levers["sdr_days"].default) == 7
    variant = build_variant({**scenario.model_dump(mode="json")}, scenario, {"sdr_hours": "09:00-17:00"})
    assert variant.errors == {} and variant.scenario.calendar(SDR_CALENDAR).hours == [(9.0, 17.0)]


def test_a_run_in_flight_stops_when_superseded(small: Path):
    import threading
    import time

    from funnelsim.app.server import Simulator

    simulator = Simulator(reps=80, seed=SEED, workers=2)
    try:
        scenario = funnelsim.load_scenario(str(small))
        simulator.run(scenario.model_copy(update={"name": "warm-up"}))  # starts the worker processes
        job = simulator.start("p", 1)
        answer: list[object] = []
        runner = threading.Thread(target=lambda: answer.append(simulator.run(scenario, job)))
        started = time.perf_counter()
        runner.start()
        time.sleep(0.3)
        simulator.start("p", 2)  # the page's newer request
        runner.join(30)
        cancelled_after = time.perf_counter() - started
        assert answer == [None]
        full = simulator.run(scenario)
        assert full is not None and len(full.replications) == 80
        assert cancelled_after < 0.3 + 0.5 * full.timings["wall_seconds"]  # replications not started were dropped
    finally:
        simulator.close()


def _without_run_details(report: str) -> str:
    """A report with its creation time, command line and the tool's versions left out."""
    import re

    return re.sub(r"<p class='meta'>.*?</p>", "", report, count=1, flags=re.S)


def test_report_writes_the_html_report_of_the_current_settings(client: TestClient, small: Path, tmp_path: Path):
    values = {"sdr_count": "3"}
    answer = client.post("/api/report", json={"values": values, "path": "whatif.html"})
    assert answer.status_code == 200, answer.text
    written = answer.json()
    assert written["status"] == "written" and written["sets"] == ["sales.sdr.count=3"]
    path = Path(written["path"])
    assert path == (small.parent / "whatif.html").resolve()
    report = path.read_text(encoding="utf-8")
    assert "funnelsim run" in report and "--set sales.sdr.count=3" in report  # the command that reproduces it
    # the same file as `funnelsim run --set ... ; funnelsim report DIR` with the same seed writes
    out = tmp_path / "cli-run"
    run = CliRunner().invoke(
        cli, ["run", str(small), "-n", str(REPS), "-s", str(SEED), "--set", "sales.sdr.count=3", "--workers", "1",
              "--quiet", "--out", str(out)],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert CliRunner().invoke(cli, ["report", str(out)]).exit_code == 0
    expected = (out / "report.html").read_text(encoding="utf-8")
    assert _without_run_details(report) == _without_run_details(expected)
    assert report.count('src="data:image/png;base64,') == expected.count('src="data:image/png;base64,') >= 5


def test_report_asks_before_overwriting_and_refuses_bad_paths(client: TestClient, small: Path):
    (small.parent / "taken.html").write_text("mine")
    taken = client.post("/api/report", json={"values": {}, "path": "taken.html"})
    assert taken.status_code == 409 and taken.json()["status"] == "exists"
    assert (small.parent / "taken.html").read_text() == "mine"
    outside = client.post("/api/report", json={"values": {}, "path": "../report.html"}).json()
    assert outside["status"] == "error" and "only files under the current directory" in outside["message"]
    wrong = client.post("/api/report", json={"values": {}, "path": "report.txt"}).json()
    assert "expected a file name ending in .html" in wrong["message"]
    invalid = client.post("/api/report", json={"values": {"sdr_count": "0"}, "path": "r.html"})
    assert invalid.status_code == 422 and "at least 1" in invalid.json()["errors"]["sdr_count"]
    assert not (small.parent / "r.html").exists()
    confirmed = client.post("/api/report", json={"values": {}, "path": "taken.html", "overwrite": True}).json()
    assert confirmed["status"] == "written" and "<!DOCTYPE html>" in (small.parent / "taken.html").read_text()
