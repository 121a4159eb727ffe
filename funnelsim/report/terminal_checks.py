"""What the checking commands print: scenario files, verify, bench, calibrate and backtest tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.markup import escape
from rich.table import Table

from funnelsim.report.terminal import err_console, out_console
from funnelsim.report.verification import table_rows
from funnelsim.scenario.schema import Scenario
from funnelsim.validation import QUICK_TOLERANCE_FACTOR, VerifyResult

if TYPE_CHECKING:  # the calibrate package is optional at run time (scipy)
    from funnelsim.calibrate.backtest import Backtest


# --- scenario files -----------------------------------------------------------------------------


def valid_file(file: str, scenario: Scenario) -> None:
    out_console.print(
        f"ok: {escape(file)} ({escape(scenario.name)}: {len(scenario.channels)} channels, "
        f"about {scenario.expected_leads():,.0f} leads per replication)",
        highlight=False,
    )


def invalid_file(message: str) -> None:
    err_console.print(f"[bold red]invalid:[/] {escape(message)}", highlight=False, soft_wrap=True)


def bundled(descriptions: dict[str, str]) -> None:
    """The bundled scenarios, name and description."""
    table = Table(title="Bundled scenarios (run one with: funnelsim run NAME)", title_justify="left")
    table.add_column("Name")
    table.add_column("Description")
    for name, description in descriptions.items():
        table.add_row(escape(name), escape(description))
    out_console.print(table)


def resolved(source: str, text: str) -> None:
    """A scenario as resolved, as YAML, headed by where it came from."""
    out_console.print(f"# resolved from {source}", highlight=False, markup=False)
    out_console.print(text, highlight=False, markup=False)


# --- verify -------------------------------------------------------------------------------------


def verify(result: VerifyResult) -> None:
    """One row per check: the reference, its source, the simulated interval, the error and verdict."""
    passed = sum(r.passed for r in result.checks)
    kind = f"quick, tolerances x{QUICK_TOLERANCE_FACTOR:g}" if result.quick else "full"
    table = Table(
        title=f"Validation ({kind}) — seed {result.seed}, {result.seconds:.0f} s: {passed} of {len(result.checks)} "
        "checks pass",
        title_justify="left",
    )
    columns = ("Case", "Quantity", "Reference", "Source", "Simulated [95% CI]", "Rel. error", "Tolerance", "Result")
    for column in columns:
        table.add_column(column, justify="right" if column in ("Reference", "Rel. error") else "left")
    last_case = None
    for row in table_rows(result):
        verdict = "[green]pass[/]" if row["result"] == "pass" else f"[bold red]FAIL[/] {escape(row['note'])}"
        cells = [
            row["case"] if row["case"] != last_case else "",
            row["quantity"],
            row["reference"],
            row["source"],
            f"{row['simulated']} {row['ci']}",
            row["rel_error"],
            row["tolerance"],
        ]
        table.add_row(*(escape(c) for c in cells), verdict)
        last_case = row["case"]
    out_console.print(table)
    out_console.print(
        "pass: 95% half-width <= tolerance and |mean - reference| <= tolerance (for a >= reference: the whole "
        "interval at or above it)",
        highlight=False,
    )


# --- bench --------------------------------------------------------------------------------------


def bench(result: dict[str, Any]) -> None:
    """The benchmark's three tables: the M/M/c queue, the full funnel at scale, the targets."""
    out_console.print(_mmc_table(result))
    out_console.print(_funnel_table(result))
    if result.get("run_phases"):
        out_console.print(_phases_table(result["run_phases"]))
    targets = Table(title="Targets", title_justify="left")
    for column in ("Target", "Limit", "Measured", "Result"):
        targets.add_column(column, justify="left" if column == "Target" else "right")
    for row in result["targets"]:
        limit = f"{'>=' if row['at_least'] else '<='} {row['limit']:g}"
        measured = "–" if row["measured"] is None else f"{row['measured']:,.2f}"
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[row["met"]]
        targets.add_row(row["target"], limit, measured, verdict)
        if row.get("wall_clock_ratio") is not None:  # beside the cost in bare events: the same in seconds
            ratio = f"{row['wall_clock_ratio']:,.2f}"
            targets.add_row("  the same in microseconds (moves with the machine's speed)", "", ratio, "for reference")
    out_console.print(targets)


def _phases_table(phases: dict[str, Any]) -> Table:
    """Seconds and share of wall time of each phase of `funnelsim run`, one column per fresh run."""
    runs = phases["runs"]
    table = Table(title=f"{phases['command']}: where the wall time goes (fresh processes)", title_justify="left")
    table.add_column("Phase")
    for i in range(len(runs)):
        table.add_column(f"run {i + 1}", justify="right")
    for name in runs[0]:
        table.add_row(escape(name), *(f"{r[name]:.2f} s ({r[name] / r['total wall']:.0%})" for r in runs))
    alone = phases.get("simulate_alone_seconds")
    if alone:
        cells = (f"{a:.2f} s ({a / r['total wall']:.0%})" for a, r in zip(alone, runs))
        table.add_row("simulate alone (a paired --no-charts run)", *cells)
    if phases.get("bytecode_cached") is False:
        table.caption = (
            "funnelsim's modules have no cached bytecode (PYTHONDONTWRITEBYTECODE with an editable install): "
            "each run compiled them again, so start-up reads about 0.1 s longer than an installed funnelsim's"
        )
    return table


def _mmc_table(result: dict[str, Any]) -> Table:
    mmc, contenders = result["mmc"], result["mmc"]["contenders"]
    ours = contenders["funnelsim"]
    versions = result["environment"]["versions"]
    table = Table(
        title=f"M/M/{mmc['servers']} queue at load {mmc['load']:g}, {mmc['customers']:,} customers, mean service "
        f"{60 * mmc['mean_service_hours']:g} min — median of {result['config']['repeats']} runs"
        + (f" (Ciw {contenders['ciw']['repeats']})" if contenders.get("ciw") else ""),
        title_justify="left",
    )
    for column in ("Contender", "Rate", "funnelsim is", "Mean wait", "Events/customer"):
        table.add_column(column, justify="left" if column == "Contender" else "right")
    ceiling = result["ceiling"]["events_per_second"]
    table.add_row(f"SimPy {versions['simpy']} ceiling: bare env.timeout", f"{ceiling:,.0f} events/s", "", "", "")
    names = {"simpy": f"SimPy {versions['simpy']}, hand-written (simpy.Resource)", "ciw": "Ciw {ciw}"}
    for key in ("simpy", "ciw"):
        peer = contenders.get(key)
        if peer is None:
            table.add_row("Ciw (not installed: pip install 'funnelsim[bench]')", "–", "–", "–", "")
            continue
        rate = peer["customers_per_second"]
        table.add_row(
            names[key].format(ciw=versions.get("ciw", "")),
            f"{rate:,.0f} customers/s",
            f"{peer.get('funnelsim_ratio', ours['customers_per_second'] / rate):.1f}x faster",
            f"{60 * peer['mean_wait_hours']:.2f} min",
            "",
        )
    half = ours["mean_wait_ci_half_hours"]
    wait = f"{60 * ours['mean_wait_hours']:.2f} ± {60 * half:.2f} min" if half == half else "–"
    table.add_row(
        f"funnelsim {versions['funnelsim']} (a scenario, only the SAL queue)",
        f"{ours['customers_per_second']:,.0f} customers/s",
        "",
        wait,
        f"{mmc['funnelsim_events'] / ours['customers']:.2f}",
    )
    table.add_row("Erlang C (theory)", "", "", f"{60 * mmc['erlang_c_mean_wait_hours']:.2f} min", "")
    return table


def _funnel_table(result: dict[str, Any]) -> Table:
    funnel = Table(
        title="Full baseline funnel scaled (rates and reps x k) — median of at least "
        f"{result['config']['funnel_repeats']} runs (a small funnel: about "
        f"{result['config'].get('funnel_seconds', 0):g} s of them); a run is simulate() + figures(); "
        "bare events at SimPy's ceiling measured between the runs",
        title_justify="left",
    )
    columns = ("Leads", "SDRs", "Horizon", "Leads/s", "µs/lead", "Bare-event equiv./lead", "Events/lead")
    for column in (*columns, "Peak MB, no records", "Peak MB, records"):
        funnel.add_column(column, justify="right")

    def mb(value: float | None) -> str:
        return f"{value:,.0f}" if value is not None else "–"

    for row in result["funnel"]:
        funnel.add_row(
            f"{row['leads']:,}",
            f"{row['sdrs']}",
            f"{row['horizon_days']:.0f} d",
            f"{row['leads_per_second']:,.0f}",
            f"{row['microseconds_per_lead']:.2f}",
            f"{row['bare_events_per_lead']:.1f}",
            f"{row['engine_events_per_lead']:.2f}",
            mb(row["peak_mb_without_records"]),
            mb(row["peak_mb_with_records"]),
        )
    return funnel


# --- calibrate and backtest ---------------------------------------------------------------------


def calibration(figures: pd.DataFrame, name: str) -> None:
    """Each fitted figure beside what the data say, with its interval and sample size."""
    table = Table(title=f"{name}: fitted against the data (95% intervals)", title_justify="left")
    for column in ("Section", "Figure", "Channel", "Scenario", "Data", "95% interval", "n"):
        table.add_column(column, justify="right" if column in ("Scenario", "Data", "95% interval", "n") else "left")
    last = None
    for row in figures.to_dict("records"):
        low, high = row["ci_low"], row["ci_high"]
        interval = "" if low != low else f"[{low:.4g}, {high:.4g}]"
        table.add_row(
            str(row["section"]) if row["section"] != last else "",
            escape(str(row["name"])),
            escape(str(row["channel"])),
            f"{row['fitted']:.4g}",
            f"{row['observed']:.4g}",
            interval,
            f"{row['n']:,}",
        )
        last = row["section"]
    out_console.print(table)


def backtest(result: Backtest) -> None:
    """The real figures of the period beside the simulated median and 95% interval."""
    first, last = result.period
    table = Table(
        title=f"{result.scenario.name}: backtest of leads created {first} to {last} (followed to "
        f"{result.observed_until:%Y-%m-%d}), {result.reps} replications",
        title_justify="left",
    )
    for column in ("Quantity", "Channel", "Actual", "Simulated median", "Simulated 95% interval", "Inside"):
        table.add_column(column, justify="left" if column in ("Quantity", "Channel") else "right")
    for row in result.table.to_dict("records"):
        table.add_row(
            str(row["quantity"]),
            escape(str(row["channel"])),
            f"{row['actual']:,.4g}",
            f"{row['sim_median']:,.4g}",
            f"[{row['sim_low']:,.4g}, {row['sim_high']:,.4g}]",
            "yes" if row["inside"] else "[bold red]no[/]",
        )
    out_console.print(table)
    inside = int(result.table["inside"].sum())
    out_console.print(
        f"{inside} of {len(result.table)} actual values inside the simulated 95% interval", highlight=False
    )
