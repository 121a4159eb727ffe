"""Planning charts (matplotlib, Agg backend, PNG): funnel, speed to lead, capacity, revenue, compare, sweep.

Every chart function takes the tables a results folder stores and returns a `Chart`: the figure
and the numbers it plots, so tests and notebooks can check what is drawn. One module per family;
this one gathers them and draws a run's charts (side by side when it can).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from funnelsim.report.charts.base import (
    BETTER,
    DELAY_BUCKETS,
    DPI,
    FUNNEL,
    MARKETING,
    MUTED,
    OUTCOME,
    SALES,
    SPEED_MARKS,
    WORSE,
    Chart,
    RunData,
    better,
    no_data,
    settle,
)
from funnelsim.report.charts.capacity import capacity_by_hour_chart, capacity_trend_chart
from funnelsim.report.charts.comparison import compare_chart, sweep_chart
from funnelsim.report.charts.funnel import conversion_by_delay_chart, funnel_chart, speed_to_lead_chart
from funnelsim.report.charts.revenue import revenue_chart

__all__ = [
    "BETTER", "DELAY_BUCKETS", "DPI", "DRAWING_ORDER", "FUNNEL", "MARKETING", "MUTED", "OUTCOME",
    "RUN_CHARTS", "SALES", "SPEED_MARKS", "WORSE", "Chart", "RunData", "better", "capacity_by_hour_chart",
    "capacity_trend_chart", "compare_chart", "conversion_by_delay_chart", "funnel_chart", "no_data", "revenue_chart",
    "run_charts", "settle", "speed_to_lead_chart", "sweep_chart", "warm_up",
]  # fmt: skip

RUN_CHARTS = {  # in the order a run's charts are listed
    "funnel": funnel_chart,
    "speed_to_lead": speed_to_lead_chart,
    "conversion_by_delay": conversion_by_delay_chart,
    "capacity_by_hour": capacity_by_hour_chart,
    "capacity_trend": capacity_trend_chart,
    "revenue": revenue_chart,
}
# ... and the order they are drawn in side by side: the costliest first, so the two workers finish
# together (measured CPU seconds on the baseline: 0.29, 0.27, 0.23, 0.21, 0.18, 0.15)
DRAWING_ORDER = ("capacity_trend", "capacity_by_hour", "revenue", "funnel", "conversion_by_delay", "speed_to_lead")


def _draw_and_save(name: str, data: RunData, folder: Path) -> tuple[Path, float]:
    started = time.perf_counter()
    path = RUN_CHARTS[name](data).save(folder)
    return path, time.perf_counter() - started


LOOKS, LOOK_APART = 5, 0.002  # how often and how far apart (s) `_idle_cores` looks at the runnable tasks
_FORKED_DATA: RunData | None = None  # what a forked chart worker draws from (inherited, never pickled)


def _draw_in_fork(name: str, folder: Path) -> tuple[Path, float]:
    assert _FORKED_DATA is not None
    return _draw_and_save(name, _FORKED_DATA, folder)


def _leave_interrupts_to_the_parent() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _can_fork() -> bool:
    # forking a process that runs other threads (the what-if server) can deadlock the child
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _idle_cores() -> int:
    """Cores nobody else is using: on a busy machine, forked chart workers only add their start-up
    to the same CPU time (measured: slower than drawing in turn).

    On Linux, the tasks runnable right now (`/proc/loadavg`) less this process's own (its native
    threads, pyarrow's pool among them, are often runnable just after writing the tables); the load
    average would still count the replications this run has just finished. Elsewhere, the 1-minute
    load average."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        busy = float(_others_runnable())
        for _ in range(LOOKS - 1):  # a task runnable for a moment is not a busy core: the least of a few looks
            if busy == 0:
                break
            time.sleep(LOOK_APART)
            busy = min(busy, float(_others_runnable()))
    except (OSError, ValueError, IndexError):
        try:
            busy = os.getloadavg()[0]
        except OSError:
            return 1
    return max(1, int(cores - busy + 0.5))


def _others_runnable() -> int:
    """Tasks runnable on the machine right now that are not this process's threads."""
    own = _own_runnable_tasks()
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        runnable = int(loadavg.read().split()[3].split("/")[0])
    return max(0, runnable - max(own, _own_runnable_tasks()))


def _own_runnable_tasks(tasks: Path = Path("/proc/self/task")) -> int:
    """This process's threads in state R (the calling one among them), from /proc/self/task."""
    running = 0
    for task in tasks.iterdir():
        try:
            stat = (task / "stat").read_text(encoding="ascii")
        except OSError:  # the thread ended meanwhile
            continue
        running += stat.rpartition(")")[2].split()[0] == "R"
    return max(1, running)


def run_charts(
    data: RunData, folder: Path, workers: int | None = None, timings: dict[str, float] | None = None
) -> list[Path]:
    """Every run chart into `folder`; returns the files written.

    With more than one worker (default: one per idle core) and a single-threaded process, the charts
    are drawn side by side in forked processes that inherit `data`; `timings` gets each chart's seconds.
    """
    global _FORKED_DATA
    names = list(RUN_CHARTS)
    workers = min(len(names), workers if workers is not None else _idle_cores())
    folder.mkdir(parents=True, exist_ok=True)
    if workers > 1 and _can_fork():
        order = [name for name in DRAWING_ORDER if name in RUN_CHARTS]
        order += [name for name in names if name not in order]
        warm_up()  # once here, not once in each worker
        _FORKED_DATA = data
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_leave_interrupts_to_the_parent) as pool:
                drawn = dict(zip(order, pool.map(_draw_in_fork, order, [folder] * len(order))))
        finally:
            _FORKED_DATA = None
    else:
        drawn = {name: _draw_and_save(name, data, folder) for name in names}
    if timings is not None:
        timings.update({f"chart_{name}_seconds": drawn[name][1] for name in names})
    return [drawn[name][0] for name in names]


_WARM = False


def warm_up() -> None:
    """Draw and save a small figure once, off screen: matplotlib's first drawing loads the fonts
    and fills its caches (about a third of the first chart's time), which processes forked
    afterwards inherit. Uses no pyplot state, so a thread may call it while this process waits."""
    global _WARM
    if _WARM:
        return
    figure = Figure(figsize=(3, 2))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.bar([0, 1], [1, 2], color=MARKETING)
    ax.plot([0, 1], [1, 2])
    ax.set_title("warm-up", fontweight="bold")
    ax.text(0.5, 1.5, "0.5 pp · $1.2k")
    figure.tight_layout()
    figure.savefig(io.BytesIO(), format="png", dpi=DPI)
    _WARM = True
