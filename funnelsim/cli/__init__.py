"""The `funnelsim` command: one module per command, each a thin shell over the public API and report/.

Importing this package registers every command on `app` (the console script's entry point), in
the order `--help` lists them.
"""

from __future__ import annotations

import atexit
import gc

# isort: off
from funnelsim.cli import run, compare, sweep, plan, sensitivity  # noqa: F401  (each registers its command)
from funnelsim.cli import calibrate, backtest, validate, scenarios, show  # noqa: F401
from funnelsim.cli import verify, bench, whatif, chart, report, export  # noqa: F401

# isort: on
from funnelsim.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """The `funnelsim` command (console script and `python -m funnelsim.cli`).

    When the command is done, the objects alive are frozen out of the interpreter's last garbage
    collection, which would otherwise spend about 0.2 s walking pandas', pyarrow's and
    matplotlib's modules on the way out. Exit handlers still run, and every file the command
    writes is closed before it returns."""
    atexit.register(gc.freeze)
    app()
