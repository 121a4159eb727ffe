"""What keeps a typical `funnelsim run` quick, checked by behaviour (speed itself is `funnelsim bench`'s).

- matplotlib is made ready in a thread while worker processes simulate (`report/charts_ahead.py`);
- a chart is laid out once, so saving it draws it once;
- run charts are drawn side by side only on idle cores, judged by the processes runnable now;
- the command skips the interpreter's last garbage collection on the way out.
"""

from __future__ import annotations

import gc
import io
import subprocess
import sys
from pathlib import Path

import pytest

import funnelsim
from funnelsim import cli
from funnelsim.report import charts
from funnelsim.report.charts_ahead import ChartsAhead
from funnelsim.report.folder import open_folder
from funnelsim.report.results import write_run


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    result = funnelsim.run("baseline", reps=2, seed=11, overrides=["horizon=60d", "warmup=7d"], executor="serial")
    return write_run(result, tmp_path_factory.mktemp("run") / "baseline", command=["test"], charts=False)


def _in_fresh_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_charts_ahead_imports_and_warms_matplotlib_on_the_first_finished_replication():
    code = (
        "import sys\n"
        "from funnelsim.report.charts_ahead import ChartsAhead\n"
        "seen = []\n"
        "ahead = ChartsAhead(seen.append, enabled=True)\n"
        "print('matplotlib' in sys.modules, ahead.thread is None)\n"
        "ahead(1); ahead(1); ahead.wait()\n"
        "from funnelsim.report import charts\n"
        "print('matplotlib' in sys.modules, charts._WARM, seen, ahead.thread is None)\n"
    )
    before, after = _in_fresh_python(code).splitlines()
    assert before == "False True"  # nothing before the first replication is done
    assert after == "True True [1, 1] True"  # ready, every tick passed on, the thread joined


def test_charts_ahead_stays_idle_when_the_replications_run_in_this_process():
    code = (
        "import sys\n"
        "from funnelsim.report.charts_ahead import ChartsAhead\n"
        "ahead = ChartsAhead(None, enabled=False)\n"
        "ahead(1); ahead.wait()\n"
        "print('matplotlib' in sys.modules, ahead.thread is None)\n"
    )
    assert _in_fresh_python(code) == "False True"


def test_a_run_prepares_its_charts_only_when_they_are_drawn_and_replications_run_elsewhere(tmp_path, monkeypatch):
    import funnelsim.cli.run as run_command

    made: list[bool] = []

    class Spy(ChartsAhead):
        def __init__(self, progress, enabled):  # type: ignore[no-untyped-def]
            made.append(enabled)
            super().__init__(progress, enabled=False)  # no thread inside the test process

    monkeypatch.setattr(run_command, "ChartsAhead", Spy)
    from typer.testing import CliRunner

    base = ["run", "baseline", "--quiet", "--set", "horizon=14d", "--set", "warmup=0d", "-n", "2"]
    for extra, name in ((["--workers", "2"], "a"), (["--workers", "2", "--no-charts"], "b"), (["--workers", "1"], "c")):
        result = CliRunner().invoke(cli.app, [*base, *extra, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert made == [True, False, False]


def test_a_chart_is_laid_out_once_so_saving_draws_it_once(run_folder):
    data = open_folder(run_folder).run_data()
    for name, draw in charts.RUN_CHARTS.items():
        chart = draw(data)
        # matplotlib's placeholder engine after tight_layout would make savefig lay out (draw) again
        assert chart.figure.get_layout_engine() is None, name
        draws = 0
        original = chart.figure.draw

        def counting(renderer, _original=original):  # type: ignore[no-untyped-def]
            nonlocal draws
            draws += 1
            return _original(renderer)

        chart.figure.draw = counting  # type: ignore[method-assign]
        chart.figure.savefig(io.BytesIO(), format="png", dpi=charts.DPI)
        assert draws == 1, name


@pytest.mark.parametrize(("loadavg", "cores", "idle"), [("0.9 0.5 0.2 1/80 99", 2, 2), ("3.0 2.0 1.0 2/80 99", 4, 3),
                                                        ("5.0 5.0 5.0 9/80 99", 2, 1)])  # fmt: skip
def test_idle_cores_count_the_processes_runnable_now_not_the_load_average(monkeypatch, loadavg, cores, idle):
    monkeypatch.setattr(charts, "open", lambda *a, **k: io.StringIO(loadavg), raising=False)
    monkeypatch.setattr(charts, "_own_runnable_tasks", lambda: 1)
    monkeypatch.setattr(charts.os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(charts.os, "getloadavg", lambda: (99.0, 99.0, 99.0))  # not consulted
    assert charts._idle_cores() == idle


@pytest.mark.parametrize(("own", "idle"), [(1, 1), (2, 1), (3, 2)])
def test_idle_cores_do_not_count_this_processs_own_threads(monkeypatch, own, idle):
    # 3 tasks runnable on a 2-core machine: after writing the tables, pyarrow's threads are often
    # among them, and counting them as someone else's drew the charts in turn (0.64 s -> 1.15 s)
    monkeypatch.setattr(charts, "open", lambda *a, **k: io.StringIO("1.0 0.5 0.2 3/85 99"), raising=False)
    monkeypatch.setattr(charts, "_own_runnable_tasks", lambda: own)
    monkeypatch.setattr(charts.os, "sched_getaffinity", lambda pid: {0, 1})
    assert charts._idle_cores() == idle


def test_idle_cores_take_the_least_busy_of_a_few_looks(monkeypatch):
    looks = iter(["2.0 1.0 1.0 3/85 99", "2.0 1.0 1.0 1/85 99", "2.0 1.0 1.0 3/85 99"])
    monkeypatch.setattr(charts, "open", lambda *a, **k: io.StringIO(next(looks)), raising=False)
    monkeypatch.setattr(charts, "_own_runnable_tasks", lambda: 1)
    monkeypatch.setattr(charts.os, "sched_getaffinity", lambda pid: {0, 1})
    assert charts._idle_cores() == 2


def test_own_runnable_tasks_read_each_threads_state_after_its_name(tmp_path):
    # the state follows the last ")": a thread's name may hold parentheses and spaces
    states = {"101": "101 (python) R 1 101", "102": "102 (pool R (1)) S 1 101", "103": "103 (jemalloc) R 1"}
    for tid, stat in states.items():
        (tmp_path / tid).mkdir()
        (tmp_path / tid / "stat").write_text(stat, encoding="ascii")
    (tmp_path / "104").mkdir()  # a thread that ended between the listing and the read
    assert charts._own_runnable_tasks(tmp_path) == 2


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux /proc only")
def test_own_runnable_tasks_count_the_calling_thread():
    assert 1 <= charts._own_runnable_tasks() <= len(list(Path("/proc/self/task").iterdir()))


def test_idle_cores_fall_back_to_the_load_average_without_proc(monkeypatch):
    def no_proc(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("no /proc here")

    monkeypatch.setattr(charts, "open", no_proc, raising=False)
    monkeypatch.setattr(charts.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(charts.os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert charts._idle_cores() == 1


def test_the_command_freezes_what_is_alive_before_the_interpreter_exits(monkeypatch):
    registered: list[object] = []
    monkeypatch.setattr(cli.atexit, "register", registered.append)
    monkeypatch.setattr(cli, "app", lambda: None)
    cli.main()
    assert registered == [gc.freeze]
