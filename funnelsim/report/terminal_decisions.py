"""What `plan` and `sensitivity` print: the plan and its runners-up, and one sensitivity table per metric."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from funnelsim.experiment.plan import DERIVED, PlanResult, Target
from funnelsim.experiment.sensitivity import SensitivityResult
from funnelsim.metrics import Figure
from funnelsim.report.formatting import figure_info, format_interval, format_value
from funnelsim.report.terminal import out_console


def info(name: str) -> Figure:
    """A metric's label and unit, the planner's derived figures (profit) included."""
    return DERIVED.get(name) or figure_info(name)


def _show(name: str, mean: float, low: float, high: float) -> str:
    unit = info(name).unit
    return f"{format_value(mean, unit)} {format_interval(low, high, unit)}".strip()


def _line(text: str) -> None:
    out_console.print(text, highlight=False)


# --- plan ---------------------------------------------------------------------------------------


def chart_target(result: PlanResult) -> Target:
    """The target the frontier chart shows: the first binding one, else the first unreachable, else the first."""
    by_text = {t.text: t for t in result.targets}
    if result.binding:
        return by_text[result.binding[0]]
    if result.unreachable:
        return result.unreachable[0].target
    return result.targets[0]


def plan(result: PlanResult) -> None:
    """The plan, how it was found, the runners-up and what binds (or what no team could reach)."""
    keys = list(result.bounds)
    bounds = ", ".join(f"{k}={a}..{b}" for k, (a, b) in result.bounds.items())
    searched = f"{len(result.teams)} of the {result.grid_size} teams in {bounds} simulated"
    searched += f"; points: {result.computed} computed, {result.reused} reused"
    warm = "; ".join(result.warm.notes.values())
    _line(f"warm start: {warm}")
    _line(f"search: {searched}; objective {result.objective.text}")
    if result.plan is not None:
        team = result.plan
        _line(
            f"[bold]plan: {escape(team.label)}[/] — team cost {team.cost_per_month:,.0f} per month "
            f"({len(team.result.replications)} replications)"
        )
        for t in result.targets:
            mean, low, high = team.figure(t.metric)
            _line(f"  {t.text}: {_show(t.metric, mean, low, high)} — met")
        if result.binding:
            _line(f"binding: {', '.join(result.binding)} (one head fewer misses it)")
        else:
            _line("binding: none of the targets; the lower bounds of --vary do")
    else:
        _line("[bold red]no plan:[/] no team within the bounds meets every target")
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
        table.add_column(info(name).label, justify="right")
    table.add_column("Meets all", justify="center")
    for team in shown:
        cells = [str(team.counts[k]) for k in keys] + [f"{team.cost_per_month:,.0f}"]
        cells += [_show(n, *team.figure(n)) for n in names]
        cells.append(("plan" if team is result.plan else "yes") if team.feasible else "no")
        table.add_row(*cells)
    out_console.print(table)


# --- sensitivity --------------------------------------------------------------------------------


def effect(name: str, value: float, low: float, high: float) -> str:
    """A paired effect with its interval; shares in percentage points."""
    unit = info(name).unit
    if unit == "%":
        text = f"{100 * value:+.1f} pp"
        if low == low:
            text += f" [{100 * low:+.1f}, {100 * high:+.1f}]"
        return text
    sign = "+" if value > 0 else ""
    return f"{sign}{format_value(value, unit)} {format_interval(low, high, unit)}".strip()


def sensitivity(result: SensitivityResult, names: list[str], scenario_name: str, reps: int, seed: int) -> None:
    """Per metric, each parameter's effect at its low and high value and the swing; then the notes."""
    by_key = {p.key: p for p in result.parameters}
    for name in names:
        table = Table(
            title=f"{scenario_name}: sensitivity of {info(name).label} (now {_show(name, *result.base.figure(name))}), "
            f"{reps} paired replications, seed {seed}",
            title_justify="left",
        )
        for column in ("Parameter", "Low .. scenario .. high", "Effect at low [95% CI]", "Effect at high [95% CI]"):
            table.add_column(column, justify="left" if column == "Parameter" else "right")
        table.add_column("Swing", justify="right")
        for row in result.metric(name).to_dict("records"):
            p = by_key[str(row["parameter"])]
            table.add_row(
                str(row["parameter"]),
                f"{p.shown(p.low)} .. {p.shown(p.base)} .. {p.shown(p.high)}",
                effect(name, row["low_effect"], row["low_ci_low"], row["low_ci_high"]),
                effect(name, row["high_effect"], row["high_ci_low"], row["high_ci_high"]),
                effect(name, row["swing"], float("nan"), float("nan")).lstrip("+"),
            )
        out_console.print(table)
    for text in result.notes:
        _line(f"note: {text}")
    _line(
        f"runs: {result.computed} computed, {result.reused} reused; effects are paired differences against "
        "the scenario as it is (same seeds)"
    )
