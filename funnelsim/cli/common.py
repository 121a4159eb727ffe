"""What every command shares: the typer app, the common options, user errors (exit 2), progress, signals."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from funnelsim import metrics
from funnelsim.experiment.executors import ExecutorChoice, ExecutorError, ExecutorName
from funnelsim.experiment.runner import TooMuchWork
from funnelsim.experiment.signals import Interrupted, stop_on_signals
from funnelsim.report import terminal
from funnelsim.report.folder import FolderError
from funnelsim.report.paths import OutputError, OutputSlot
from funnelsim.scenario.loader import ScenarioError

app = typer.Typer(
    help="Simulate B2B marketing and sales funnels: speed to lead, rep capacity, conversion, revenue, churn.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

USER_ERROR_EXIT = 2


def fail(message: str) -> NoReturn:
    """A user's mistake: one clear paragraph on stderr, exit code 2, no traceback."""
    terminal.error(message)
    raise typer.Exit(USER_ERROR_EXIT)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """A scenario, size, executor, output or results-folder error is the user's: exit 2."""
    try:
        yield
    except (ScenarioError, TooMuchWork, ExecutorError, OutputError, FolderError) as error:
        fail(str(error))


@contextlib.contextmanager
def interruptible(slot: OutputSlot) -> Iterator[None]:
    """SIGINT/SIGTERM: stop the workers, remove the temporary folder, say so, exit 130/143."""
    try:
        with stop_on_signals():
            yield
    except Interrupted as stop:
        slot.release()
        terminal.interrupted(stop.name, str(slot.target))
        raise typer.Exit(stop.exit_code) from None


def executor_name(choice: ExecutorChoice) -> ExecutorName:
    """The API's name of an --executor choice."""
    return choice.value


def command_line() -> list[str]:
    """The command as typed, for manifests."""
    return ["funnelsim", *sys.argv[1:]]


@contextlib.contextmanager
def progress_bar(total: int, quiet: bool, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal's stderr; yields the callback that advances it (None: no bar)."""
    if quiet or not terminal.err_console.is_terminal:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=terminal.err_console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def slug(name: str) -> str:
    """A name as a file-name component (default output folders, chart files)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")


def point_store_beside(target: Path) -> Path:
    """Finished points live in points/ beside the command's output folder (results/points by default)."""
    return Path(target).parent / "points"


def metric_option_help(default: str) -> str:
    return f"Metric to show (repeatable; default: {default}). Valid: {', '.join(metrics.FIGURES)}."


# --- shared options -----------------------------------------------------------------------------

ScenarioArg = Annotated[str | None, typer.Argument(help="Scenario file or bundled name (default: baseline).")]
Reps = Annotated[
    int, typer.Option("--reps", "-n", min=1, max=100_000, help="Replications (each with its own random streams).")
]
Seed = Annotated[
    int,
    typer.Option("--seed", "-s", min=0, help="Master seed (0 or more); the same seed gives bit-identical results."),
]
Sets = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field by dotted path, e.g. --set sales.sdr.count=3 (repeatable)."),
]
Workers = Annotated[
    int | None, typer.Option("--workers", "-w", min=1, max=4096, help="Worker processes (default: all cores).")
]
Executor = Annotated[
    ExecutorChoice,
    typer.Option(
        "--executor",
        help="Where replications run: serial (this process), processes (local worker processes) or dask (a cluster, "
        "see --dask-address).",
    ),
]
DaskAddress = Annotated[str | None, typer.Option("--dask-address", help="Scheduler address for --executor dask.")]
AllowLarge = Annotated[bool, typer.Option("--allow-large", help="Allow runs of more than 50 million leads.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
Precision = Annotated[
    float | None,
    typer.Option(
        "--precision",
        help="Add replications until each headline figure's 95% half-width is within this share of its mean "
        "(0.5 pp for a rate), e.g. 0.02; --reps is the start, --max-reps the cap.",
    ),
]
MaxReps = Annotated[int | None, typer.Option("--max-reps", min=2, help="Cap on replications for --precision.")]
Store = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Folder of finished points (default: points/ beside the output folder, e.g. results/points); "
        "rerunning a command computes only the missing ones.",
    ),
]
Resume = Annotated[bool, typer.Option("--resume/--no-resume", help="Reuse points already in --store.")]
Force = Annotated[
    bool, typer.Option("--force", "-f", help="Replace the output folder if it holds earlier funnelsim results.")
]
ResultsDir = Annotated[Path, typer.Argument(help="A results folder written by run, compare or sweep.")]
