"""`funnelsim verify`: the model against queueing theory and lead-response studies; exit 1 on a failed check."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from funnelsim.cli.common import Executor, Quiet, Seed, Workers, app, executor_name, progress_bar, user_errors
from funnelsim.experiment.executors import ExecutorChoice
from funnelsim.experiment.runner import DEFAULT_SEED
from funnelsim.report import terminal, terminal_checks
from funnelsim.report.verification import render_markdown
from funnelsim.scenario.loader import ScenarioError
from funnelsim.validation import verify as run_verification
from funnelsim.validation.cases import select_cases

VALIDATION_DOC = Path("docs/validation.md")


@app.command()
def verify(
    quick: Annotated[
        bool, typer.Option("--quick", help="Reduced suite (fewer, shorter replications; tolerances doubled).")
    ] = False,
    reps: Annotated[
        int | None, typer.Option("--reps", "-n", min=2, help="Replications per case (default: each case's own).")
    ] = None,
    seed: Seed = DEFAULT_SEED,
    case: Annotated[
        list[str] | None, typer.Option("--case", "-c", help="Run only cases whose name contains this (repeatable).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Markdown report (default: docs/validation.md; none for --quick or --case)."),
    ] = None,
    workers: Workers = None,
    executor: Executor = ExecutorChoice.processes,
    quiet: Quiet = False,
) -> None:
    """Check the model against queueing theory and lead-response studies; exit 1 if any check fails."""
    with user_errors():
        try:
            chosen = select_cases(case)
        except ValueError as error:
            raise ScenarioError(str(error)) from None
        total = sum(reps or (c.quick_reps if quick else c.reps) for c in chosen)
        with progress_bar(total, quiet, "verify (quick)" if quick else "verify") as advance:
            result = run_verification(
                quick, reps, seed, cases=chosen, workers=workers, executor=executor_name(executor), progress=advance
            )
    terminal_checks.verify(result)
    target = out if out is not None else (None if quick or case else VALIDATION_DOC)
    if target is not None:
        command = "funnelsim " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["verify"] else "funnelsim verify"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_markdown(result, command), encoding="utf-8")
        terminal.say(f"validation table written to {target}")
    if not result.passed:
        raise typer.Exit(1)
