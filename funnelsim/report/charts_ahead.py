"""Getting matplotlib ready while the replications run, so the charts start drawing at once.

While worker processes simulate, the command's own process only waits for their results. A
thread can use that time to import matplotlib and draw once off screen (fonts, caches): about
0.4 s that `funnelsim run` would otherwise spend after the simulation. The thread starts at the
first finished replication, when every worker process is already forked, so no process is
forked while it runs; `wait` joins it before anything is drawn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Progress = Callable[[int], None]


def _prepare() -> None:
    try:
        from funnelsim.report import charts

        charts.warm_up()
    except Exception:  # drawing later imports the same modules and reports the error itself
        pass


class ChartsAhead:
    """A progress callback that, on its first call, starts preparing the charts in a thread.

    `enabled` is False when the replications run in this process (one worker, or serial): the
    thread would then compete with them for the interpreter."""

    def __init__(self, progress: Progress | None, enabled: bool) -> None:
        self.progress = progress
        self.enabled = enabled
        self.thread: threading.Thread | None = None

    def __call__(self, done: int) -> None:
        if self.enabled and self.thread is None:
            self.thread = threading.Thread(target=_prepare, name="funnelsim-charts-ahead", daemon=True)
            self.thread.start()
        if self.progress is not None:
            self.progress(done)

    def wait(self) -> None:
        """Let the preparation finish (before drawing, or forking chart workers)."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
