"""`funnelsim app`: the local what-if page (the module is not named app.py, which would shadow `cli.app`)."""

from __future__ import annotations

from typing import Annotated

import typer

from funnelsim.cli.common import ScenarioArg, Seed, Workers, app, fail, user_errors
from funnelsim.experiment.runner import DEFAULT_REPS, DEFAULT_SEED
from funnelsim.report import terminal

APP_REPS = DEFAULT_REPS  # a what-if on the baseline answers in ~1.3 s on 2 cores (warm worker pool)


@app.command("app")
def app_command(
    scenario: ScenarioArg = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: a free one).")] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; anything but loopback warns.")
    ] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open the page in a browser.")] = False,
    reps: Annotated[int, typer.Option("--reps", "-n", min=1, help="Replications per what-if.")] = APP_REPS,
    seed: Seed = DEFAULT_SEED,
    workers: Workers = None,
) -> None:
    """A local what-if page: move a lever, see the funnel re-simulated against the scenario as loaded."""
    try:
        from funnelsim.app.server import serve  # the app extra (starlette, uvicorn) is optional
    except ImportError as error:
        missing = (error.name or "starlette").split(".")[0]
        fail(f'the what-if page needs the app extra ({missing} is missing): pip install ".[app]"')
    with user_errors():
        serve(
            scenario or "baseline",
            reps=reps,
            seed=seed,
            host=host,
            port=port,
            open_browser=not no_browser,
            workers=workers,
            say=terminal.say,
            warn=terminal.warn,
        )
