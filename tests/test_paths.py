"""Results paths on a real filesystem: nothing funnelsim did not write is ever deleted or replaced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from funnelsim.cli import app
from funnelsim.report.paths import OutputError, claim_output, exchange, is_results_folder
from funnelsim.report.results import write_atomically

runner = CliRunner()
TINY = """\
name: {name}
start: 2026-01-05
horizon: 14d
channels:
  web: {{leads_per_week: 30}}
sales:
  sdr: {{count: 1}}
"""
FAST = ["--reps", "2", "--workers", "1", "--no-charts", "--quiet"]


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def tiny(folder: Path, name: str = "tiny") -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY.format(name=json.dumps(name)), encoding="utf-8")
    return path


def precious(folder: Path) -> dict[Path, str]:
    """A folder of the user's own files; returns what must still be there afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {folder / "notes.txt": "quarterly plan", folder / "sub" / "data.csv": "a,b\n1,2\n"}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


def intact(files: dict[Path, str]) -> bool:
    return all(p.is_file() and p.read_text() == t for p, t in files.items())


BAD_NAMES = [
    ".",
    "..",
    "...",
    "/",
    "a/b",
    "../escape",
    "/tmp/abs",
    "a\\b",
    "x\x00y",
    "tab\there",
    "x" * 300,
    " ",
    ".hidden",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_validate_refuses_a_name_that_is_not_one_folder_name(tmp_path, name):
    result = invoke("validate", str(tiny(tmp_path, name)))
    assert result.exit_code == 2, result.output
    assert "name:" in result.output and "results folder name" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", BAD_NAMES)
def test_run_with_a_bad_name_refuses_before_simulating_and_deletes_nothing(tmp_path, monkeypatch, name):
    work = tmp_path / "work"
    files = precious(work / "results") | precious(work)
    monkeypatch.chdir(work)
    result = invoke("run", str(tiny(work, name)), *FAST)
    assert result.exit_code == 2, result.output
    assert "Leads" not in result.output  # nothing was simulated
    assert intact(files)


def out_targets(tmp_path: Path) -> dict[str, tuple[str, dict[Path, str]]]:
    """--out values that must be refused, each with the user's files that must survive."""
    cases: dict[str, tuple[str, dict[Path, str]]] = {}
    work = tmp_path / "work"
    files = precious(work)
    cases["dot"] = (".", files)
    cases["dotdot"] = ("..", files)
    cases["root"] = ("/", files)
    cases["pwd"] = (str(work), files)
    cases["pwd-slash-dot"] = (f"{work}/./", files)
    cases["parent-of-pwd"] = (str(tmp_path), files)
    folder = tmp_path / "folder"
    cases["someone-elses-folder"] = (str(folder), precious(folder))
    fake = tmp_path / "fake"
    fake_files = precious(fake)
    (fake / "manifest.json").write_text('{"name": "not funnelsim"}')
    cases["foreign-manifest"] = (str(fake), fake_files)
    a_file = tmp_path / "report.txt"
    a_file.write_text("keep me")
    cases["existing-file"] = (str(a_file), {a_file: "keep me"})
    real = tmp_path / "real"
    real_files = precious(real)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    cases["symlink-to-folder"] = (str(tmp_path / "link"), real_files)
    results = tmp_path / "results-real"
    write_atomically(results, lambda f: (f / "x.txt").write_text("old"))
    (tmp_path / "link-to-results").symlink_to(results, target_is_directory=True)
    cases["symlink-to-results"] = (str(tmp_path / "link-to-results"), {results / "x.txt": "old"})
    cases["long-name"] = (str(tmp_path / ("x" * 300)), files)
    cases["nul"] = (str(tmp_path) + "/a\x00b", files)
    cases["under-a-file"] = (str(a_file / "sub"), {a_file: "keep me"})
    return cases


def test_no_out_value_can_delete_a_folder_that_is_not_a_results_folder(tmp_path, monkeypatch):
    cases = out_targets(tmp_path)
    monkeypatch.chdir(tmp_path / "work")
    scenario = tiny(tmp_path)
    for label, (out, files) in cases.items():
        for extra in ([], ["--force"]):
            result = invoke("run", str(scenario), *FAST, "--out", out, *extra)
            assert result.exit_code == 2, (label, extra, result.output)
            assert "Leads" not in result.output, label  # refused before simulating
            assert "Traceback" not in result.output
            assert intact(files), (label, extra)
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob("*.lock"))


def test_existing_results_are_replaced_only_with_force(tmp_path):
    out = tmp_path / "r"
    scenario = tiny(tmp_path)
    assert invoke("run", str(scenario), *FAST, "--out", str(out), "--seed", "1").exit_code == 0
    again = invoke("run", str(scenario), *FAST, "--out", str(out), "--seed", "2")
    assert again.exit_code == 2 and "--force" in again.output and "Leads" not in again.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1
    forced = invoke("run", str(scenario), *FAST, "--out", str(out), "--seed", "2", "--force")
    assert forced.exit_code == 0, forced.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "tiny.yaml"]  # no temporary or old folder left


def test_an_empty_folder_may_receive_results(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert invoke("run", str(tiny(tmp_path)), *FAST, "--out", str(out)).exit_code == 0
    assert is_results_folder(out)


def test_compare_and_sweep_folders_carry_a_manifest_and_obey_force(tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", str(tiny(tmp_path)), "--vary", "sales.queue=fifo,lifo", *FAST[:4], "--quiet", "--out", str(out)]
    assert invoke(*args).exit_code == 0
    assert is_results_folder(out)
    assert invoke(*args).exit_code == 2
    assert invoke(*args, "--force").exit_code == 0


def test_exchange_swaps_two_folders_atomically(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "new").write_text("")
    (b / "old").write_text("")
    if not exchange(a, b):
        pytest.skip("no atomic exchange on this system")
    assert (b / "new").exists() and (a / "old").exists()


def test_a_replaced_results_folder_never_disappears(tmp_path):
    target = tmp_path / "r"
    write_atomically(target, lambda f: (f / "n").write_text("0"))
    missing = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not (target / "manifest.json").exists():
                missing.append(time.perf_counter())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(30):
            write_atomically(target, lambda f, i=i: (f / "n").write_text(str(i)), force=True)
    finally:
        stop.set()
        watcher.join()
    assert (target / "n").read_text() == "29"
    if exchange.__module__ and sys.platform.startswith("linux"):
        assert missing == []


def test_a_second_claim_on_the_same_folder_is_refused_while_the_first_holds_it(tmp_path):
    first = claim_output(tmp_path / "r")
    try:
        with pytest.raises(OutputError, match="another funnelsim run"):
            claim_output(tmp_path / "r")
    finally:
        first.release()
    claim_output(tmp_path / "r").release()  # free again
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".r.lock").write_text(dead.stdout)
    claim_output(tmp_path / "r").release()


def test_two_concurrent_runs_into_one_folder_do_not_both_claim_success(tmp_path):
    scenario = tiny(tmp_path)
    out = tmp_path / "shared"
    command = [sys.executable, "-m", "funnelsim.cli", "run", str(scenario), "--reps", "8", "--workers", "1"]
    command += ["--set", "horizon=365d", "--set", "channels.web.leads_per_week=3000", "--quiet", "--no-charts"]
    command += ["--force", "--out", str(out)]
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 20
    while not (tmp_path / ".shared.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    first_out, first_err = first.communicate(timeout=120)
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 2], (first_err, second.stderr)
    assert "another funnelsim run" in second.stderr
    assert sum("results written" in text for text in (first_out, second.stdout)) == 1
    assert is_results_folder(out)
