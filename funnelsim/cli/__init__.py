"""The `funnelsim` command: one module per command, each a thin shell over the public API and report/.

Importing this package registers every command on `app` (the console script's entry point), in
the order `--help` lists them.
"""

from __future__ import annotations

# isort: off
from funnelsim.cli import run, compare, sweep, plan, sensitivity  # noqa: F401  (each registers its command)
from funnelsim.cli import calibrate, backtest, validate, scenarios, show  # noqa: F401
from funnelsim.cli import verify, bench, whatif, chart, report, export  # noqa: F401

# isort: on
from funnelsim.cli.common import app

__all__ = ["app"]
