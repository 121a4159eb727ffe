"""`funnelsim plan` and `funnelsim sensitivity`: decisions in one command, a thin shell over the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from funnelsim.cli import (
    USER_ERROR_EXIT,
    AllowLarge,
    DaskAddress,
    Executor,
    MaxReps,
    Precision,
    Quiet,
    Resume,
    Seed,
    Sets,
    Store,
    Workers,
    _advance,
    _metric_option_help,
    _progress,
    _slug,
    app,
    err_console,
    metric_names,
    out_console,
    point_store_beside,
    user_errors,
)
from funnelsim.experiment.runner import DEFAULT_SEED, check_size
from funnelsim.metrics import Figure

NO_PLAN_EXIT = 1


def _info(name: str) -> Figure:
    from funnelsim.experiment.plan import DERIVED
    from funnelsim.report.formatting import figure_info

    return DERIVED.get(name) or figure_info(name)


def _show(name: str, mean: float, low: float, high: float) -> str:
    from funnelsim.report.formatting import format_interval, format_value

    unit = _info(name).unit
    return f"{format_value(mean, unit)} {format_interval(low, high, unit)}".strip()


# --- plan ----------------------------------------------------------------------------------


@app.command()
def plan(
    scenario: Annotated[str | None, typer.Argument(help="Scenario file or bundled name (default: baseline).")] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="A target every plan must meet, METRIC>=VALUE or METRIC<=VALUE (repeatable), e.g. "
            "'answered_within_1h>=0.8' or 'abandon_rate<=5%'. Met when the 95% interval's conservative end meets it. "
            f"Valid metrics: {', '.join(metric_names())}, profit.",
        ),
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="A headcount to search and its bounds (repeatable): sales.sdr.count=1..8, sales.ae.count=1..12.",
        ),
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            "--objective",
            help="Among teams meeting every target, optimise this instead of the lowest team cost, e.g. "
            "max:profit or min:cac (assumes the objective is single-peaked in headcount).",
        ),
    ] = None,
    reps: Annotated[int, typer.Option("--reps", "-n", min=2, help="Replications per team simulated.")] = 10,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for plan.csv, plan.json and the frontier chart.")
    ] = None,
    workers: Workers = None,
    executor: Executor = "processes",
    dask_address: DaskAddress = None,
    precision: Precision = None,
    max_reps: MaxReps = None,
    store: Store = None,
    resume: Resume = True,
    allow_large: AllowLarge = False,
    quiet: Quiet = False,
) -> None:
    """The cheapest staffing that meets every target: an Erlang warm start refined by simulation.

    Exit code 1 when no team within the bounds meets every target (the output says what bounds it).
    """
    from funnelsim.experiment import plan as planner
    from funnelsim.experiment.grid import load_point
    from funnelsim.experiment.points import PointStore
    from funnelsim.experiment.precision import check_precision
    from funnelsim.report.decision_charts import frontier_chart
    from funnelsim.report.results import write_atomically

    with user_errors():
        targets = [planner.parse_target(t) for t in target or []]
        if not targets:
            raise planner.PlanError("plan needs at least one --target, e.g. --target 'answered_within_1h>=0.8'")
        goal = planner.parse_objective(objective)
        bounds = planner.parse_bounds(vary or [])
        check_precision(precision, reps, max_reps)
        base = load_point(scenario, set_ or [], {})
        for key, (_, high) in bounds.items():
            load_point(scenario, set_ or [], {key: high})
        check_size(base, reps, allow_large)
    target_dir = out or Path("results") / f"plan-{_slug(base.name)}"
    points = PointStore((store or point_store_beside(target_dir)) if resume else None)
    grid_size = 1
    for low, high in bounds.values():
        grid_size *= high - low + 1
    with _progress(reps * grid_size, quiet, "plan") as progress, user_errors():
        result = planner.plan(
            scenario, targets, vary or [], goal, reps, seed, set_ or [], store=points, executor=executor,
            workers=workers, dask_address=dask_address, precision=precision, max_reps=max_reps,
            progress=_advance(progress),
        )  # fmt: skip
    print_plan(result)
    chart_target = _chart_target(result)
    rows = result.table()

    def fill(folder: Path) -> None:
        rows.to_csv(folder / "plan.csv", index=False)
        (folder / "plan.json").write_text(json.dumps(_plan_json(result), indent=2, default=str) + "\n")
        charts = folder / "charts"
        charts.mkdir()
        if chart_target is not None:
            import pandas as pd

            frame = pd.DataFrame(
                [
                    {
                        "label": t.label,
                        "cost": t.cost_per_month,
                        **dict(zip(("mean", "ci_low", "ci_high"), t.figure(chart_target.metric))),
                        "meets": t.feasible,
                    }
                    for t in result.teams
                ]
            )
            frontier_chart(
                frame,
                chart_target.metric,
                chart_target.value,
                chart_target.at_least,
                result.plan.label if result.plan else None,
                charts / "frontier.png",
            )

    write_atomically(target_dir, fill)
    out_console.print(f"plan written to {target_dir}/", highlight=False)
    if result.plan is None:
        raise typer.Exit(NO_PLAN_EXIT)


def _chart_target(result):  # type: ignore[no-untyped-def]
    by_text = {t.text: t for t in result.targets}
    if result.binding:
        return by_text[result.binding[0]]
    if result.unreachable:
        return result.unreachable[0].target
    return result.targets[0]


def print_plan(result) -> None:  # type: ignore[no-untyped-def]
    """The plan, how it was found, the runners-up and what binds (or what no team could reach)."""
    keys = list(result.bounds)
    bounds = ", ".join(f"{k}={a}..{b}" for k, (a, b) in result.bounds.items())
    searched = f"{len(result.teams)} of the {result.grid_size} teams in {bounds} simulated"
    searched += f"; points: {result.computed} computed, {result.reused} reused"
    warm = "; ".join(result.warm.notes.values())
    out_console.print(f"warm start: {warm}", highlight=False)
    out_console.print(f"search: {searched}; objective {result.objective.text}", highlight=False)
    if result.plan is not None:
        team = result.plan
        out_console.print(
            f"[bold]plan: {escape(team.label)}[/] — team cost {team.cost_per_month:,.0f} per month "
            f"({len(team.result.replications)} replications)",
            highlight=False,
        )
        for t in result.targets:
            mean, low, high = team.figure(t.metric)
            out_console.print(f"  {t.text}: {_show(t.metric, mean, low, high)} — met", highlight=False)
        if result.binding:
            out_console.print(f"binding: {', '.join(result.binding)} (one head fewer misses it)", highlight=False)
        else:
            out_console.print("binding: none of the targets; the lower bounds of --vary do", highlight=False)
    else:
        out_console.print("[bold red]no plan:[/] no team within the bounds meets every target", highlight=False)
    for gap in result.unreachable:
        mean, low, high = gap.best.figure(gap.target.metric)
        out_console.print(
            f"[bold]unreachable:[/] {gap.target.text} — best reached {_show(gap.target.metric, mean, low, high)} "
            f"with {escape(gap.best.label)}. What bounds it: {escape(gap.reason)}.",
            highlight=False,
            soft_wrap=True,
        )
    shown = ([result.plan] if result.plan else []) + result.runners_up
    if not shown:
        shown = sorted(result.teams, key=lambda t: t.cost_per_month)[-3:]
    table = Table(title="Plan and runners-up (95% CI)", title_justify="left")
    for key in keys:
        table.add_column(key.split(".")[1].upper() + "s", justify="right")
    table.add_column("Cost / month", justify="right")
    names = list(dict.fromkeys([*(t.metric for t in result.targets), result.objective.metric]))
    names = [n for n in names if n != "team_cost_per_month"]
    for name in names:
        table.add_column(_info(name).label, justify="right")
    table.add_column("Meets all", justify="center")
    for team in shown:
        cells = [str(team.counts[k]) for k in keys] + [f"{team.cost_per_month:,.0f}"]
        cells += [_show(n, *team.figure(n)) for n in names]
        cells.append(("plan" if team is result.plan else "yes") if team.feasible else "no")
        table.add_row(*cells)
    out_console.print(table)


def _plan_json(result) -> dict:  # type: ignore[no-untyped-def]
    return {
        "scenario": result.scenario.name,
        "command": ["funnelsim", *sys.argv[1:]],
        "targets": [t.text for t in result.targets],
        "objective": result.objective.text,
        "bounds": result.bounds,
        "plan": None
        if result.plan is None
        else {"counts": result.plan.counts, "cost_per_month": result.plan.cost_per_month},
        "binding": result.binding,
        "unreachable": [
            {
                "target": u.target.text,
                "best": u.best.counts,
                "best_value": u.best.figure(u.target.metric),
                "reason": u.reason,
            }
            for u in result.unreachable
        ],
        "warm_start": {"counts": result.warm.counts, "notes": result.warm.notes},
        "teams_simulated": len(result.teams),
        "grid_size": result.grid_size,
    }


# --- sensitivity ---------------------------------------------------------------------------


@app.command()
def sensitivity(
    scenario: Annotated[str | None, typer.Argument(help="Scenario file or bundled name (default: baseline).")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="A parameter and its range around the scenario's value, KEY=LOW..HIGH (repeatable), e.g. "
            "sales.sdr.reach=0.6..0.9 or sales.patience.exponential.mean=3d..14d; KEY alone means ±25%. "
            "Default: the scenario's assumptions (see funnelsim/experiment/sensitivity.py), ±25%.",
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", "-m", help=_metric_option_help("customers")),
    ] = None,
    reps: Annotated[int, typer.Option("--reps", "-n", min=2, help="Replications per run (paired by seed).")] = 10,
    seed: Seed = DEFAULT_SEED,
    set_: Sets = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for sensitivity.csv and the tornado charts.")
    ] = None,
    workers: Workers = None,
    executor: Executor = "processes",
    dask_address: DaskAddress = None,
    store: Store = None,
    resume: Resume = True,
    quiet: Quiet = False,
) -> None:
    """Which assumption moves a figure most: one at a time, low and high, on common random numbers."""
    from funnelsim.experiment import sensitivity as sens
    from funnelsim.experiment.grid import check_metrics, load_point
    from funnelsim.experiment.points import PointStore
    from funnelsim.report.decision_charts import tornado_chart
    from funnelsim.report.results import write_atomically

    with user_errors():
        names = check_metrics(metric or ["customers"])
        base = load_point(scenario, set_ or [], {})
        parameters = [sens.parse_parameter(p, base) for p in param or []] or sens.default_parameters(base)
        if not parameters:
            raise sens.SensitivityError("no parameters to vary: give --param KEY=LOW..HIGH")
    target = out or Path("results") / f"sensitivity-{_slug(base.name)}"
    points = PointStore((store or point_store_beside(target)) if resume else None)
    with _progress(reps * (1 + 2 * len(parameters)), quiet, "sensitivity") as progress, user_errors():
        result = sens.sensitivity(
            scenario, parameters, names, reps, seed, set_ or [], store=points, executor=executor, workers=workers,
            dask_address=dask_address, progress=_advance(progress),
        )  # fmt: skip
    for name in names:
        rows = result.metric(name)
        table = Table(
            title=f"{base.name}: sensitivity of {_info(name).label} (now {_show(name, *result.base.figure(name))}), "
            f"{reps} paired replications, seed {seed}",
            title_justify="left",
        )
        for column in ("Parameter", "Low .. scenario .. high", "Effect at low [95% CI]", "Effect at high [95% CI]"):
            table.add_column(column, justify="left" if column == "Parameter" else "right")
        table.add_column("Swing", justify="right")
        by_key = {p.key: p for p in result.parameters}
        for row in rows.itertuples():
            p = by_key[row.parameter]
            table.add_row(
                row.parameter,
                f"{p.shown(p.low)} .. {p.shown(p.base)} .. {p.shown(p.high)}",
                _effect(name, row.low_effect, row.low_ci_low, row.low_ci_high),
                _effect(name, row.high_effect, row.high_ci_low, row.high_ci_high),
                _effect(name, row.swing, float("nan"), float("nan")).lstrip("+"),
            )
        out_console.print(table)
    for note in result.notes:
        out_console.print(f"note: {note}", highlight=False)
    out_console.print(
        f"runs: {result.computed} computed, {result.reused} reused; effects are paired differences against "
        "the scenario as it is (same seeds)",
        highlight=False,
    )

    def fill(folder: Path) -> None:
        result.table.to_csv(folder / "sensitivity.csv", index=False)
        charts = folder / "charts"
        charts.mkdir()
        for name in names:
            rows = result.metric(name).copy()
            by_key = {p.key: p for p in result.parameters}
            rows["low"] = [by_key[k].shown(by_key[k].low) for k in rows["parameter"]]
            rows["base"] = [by_key[k].shown(by_key[k].base) for k in rows["parameter"]]
            rows["high"] = [by_key[k].shown(by_key[k].high) for k in rows["parameter"]]
            tornado_chart(rows, name, result.base.figure(name)[0], base.name, charts / f"tornado-{_slug(name)}.png")

    write_atomically(target, fill)
    out_console.print(f"sensitivity written to {target}/", highlight=False)


def _effect(name: str, effect: float, low: float, high: float) -> str:
    from funnelsim.report.formatting import format_interval, format_value

    unit = _info(name).unit
    if unit == "%":
        text = f"{100 * effect:+.1f} pp"
        if low == low:
            text += f" [{100 * low:+.1f}, {100 * high:+.1f}]"
        return text
    sign = "+" if effect > 0 else ""
    return f"{sign}{format_value(effect, unit)} {format_interval(low, high, unit)}".strip()


__all__ = ["USER_ERROR_EXIT", "err_console", "plan", "sensitivity"]
