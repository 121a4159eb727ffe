"""The what-if page's server: Starlette routes over a warm pool of simulation workers.

Imported only by `funnelsim app`, so Starlette and uvicorn stay an optional extra. One
simulation runs at a time; a newer request from the same page supersedes the older one (its
replications not yet started are cancelled). The scenario as loaded is simulated once and kept.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import socket
import tempfile
import threading
import time
import webbrowser
from collections.abc import AsyncIterator, Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from funnelsim import metrics
from funnelsim.app.levers import SaveError, build_variant, levers_for, save_variant, writable_path
from funnelsim.experiment.executors import default_workers
from funnelsim.experiment.runner import RunResult, replication_seeds, result_from_outputs, run_replication
from funnelsim.report.html import write_report
from funnelsim.report.results import write_run
from funnelsim.scenario.loader import load_scenario
from funnelsim.scenario.schema import Scenario


@dataclass
class Job:
    """One page's request; `cancelled` is set when a newer request of the same page arrives."""

    page: str
    request_id: int
    cancelled: threading.Event = field(default_factory=threading.Event)


class Simulator:
    """Replications on a persistent process pool, with the same seeds and figures as `funnelsim.run`."""

    def __init__(self, reps: int, seed: int, workers: int | None = None, executor: str = "processes") -> None:
        self.reps, self.seed = reps, seed
        self.workers = workers or default_workers()
        # spawned, not forked: the server has threads, and forking a threaded process can deadlock
        use_pool = executor == "processes" and self.workers > 1
        self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn")) if use_pool else None
        self._one_at_a_time = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._jobs_lock = threading.Lock()

    def start(self, page: str, request_id: int) -> Job:
        """Register a page's newest request and cancel the one it supersedes."""
        job = Job(page, request_id)
        with self._jobs_lock:
            older = self._jobs.get(page)
            if older is not None:
                older.cancelled.set()
            self._jobs[page] = job
        return job

    def run(
        self, scenario: Scenario, job: Job | None = None, timeseries_step_hours: float | None = None
    ) -> RunResult | None:
        """`funnelsim.run(scenario, reps, seed)`, without time series unless asked; None when superseded."""
        with self._one_at_a_time:
            if job is not None and job.cancelled.is_set():
                return None
            started = time.perf_counter()
            seeds = replication_seeds(self.seed, self.reps)
            arguments = [(scenario, seeds[i], i, False, timeseries_step_hours) for i in range(self.reps)]
            if self._pool is None:
                outputs = []
                for args in arguments:
                    if job is not None and job.cancelled.is_set():
                        return None
                    outputs.append(run_replication(*args))
            else:
                futures: set[Future] = {self._pool.submit(run_replication, *args) for args in arguments}
                outputs = []
                while futures:
                    done, futures = wait(futures, timeout=0.05, return_when=FIRST_COMPLETED)
                    outputs.extend(f.result() for f in done)
                    if job is not None and job.cancelled.is_set():
                        for future in futures:
                            future.cancel()
                        return None
            result = result_from_outputs(scenario, self.seed, outputs)
            result.timings["wall_seconds"] = time.perf_counter() - started
            return result

    def close(self) -> None:
        if self._pool is not None:
            # wait for the workers to exit, so stopping the page leaves no process behind
            self._pool.shutdown(wait=True, cancel_futures=True)


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def figures_json(base: RunResult, variant: RunResult) -> dict[str, Any]:
    """Each figure: the scenario as loaded and the variant with intervals, and the paired difference."""
    ok = [r.replications[r.replications["error"].isna()] for r in (base, variant)]
    difference = metrics.paired_difference(ok[0], ok[1]).set_index("metric")
    base_summary = base.summary.set_index("metric")
    variant_summary = variant.summary.set_index("metric")
    shown: dict[str, Any] = {}
    for name, meta in metrics.FIGURES.items():
        if name not in variant_summary.index or name not in base_summary.index:
            continue
        row_a, row_b = base_summary.loc[name], variant_summary.loc[name]
        diff = difference.loc[name] if name in difference.index else None
        shown[name] = {
            "label": meta.label,
            "unit": meta.unit,
            "section": meta.section,
            "better": meta.better,
            "base": [_number(row_a["mean"]), _number(row_a["ci_low"]), _number(row_a["ci_high"])],
            "variant": [_number(row_b["mean"]), _number(row_b["ci_low"]), _number(row_b["ci_high"])],
            "difference": None
            if diff is None
            else [_number(diff["difference"]), _number(diff["ci_low"]), _number(diff["ci_high"])],
        }
    return shown


def _warnings(result: RunResult) -> list[str]:
    warnings = [str(w) for w in getattr(result, "warnings", []) or []]
    failed = result.replications["error"].notna().sum()
    if failed:
        warnings.append(f"{failed} of {len(result.replications)} replications failed; figures use the rest")
    return warnings


def write_variant_report(
    result: RunResult, target: Path, source: str | Path, sets: list[str], reps: int, seed: int
) -> Path:
    """report.html of a variant, as `funnelsim run SOURCE --set ... ; funnelsim report DIR` writes it."""
    command = ["funnelsim", "run", str(source), "--reps", str(reps), "--seed", str(seed)]
    for item in sets:
        command += ["--set", item]
    with tempfile.TemporaryDirectory(prefix="funnelsim-report-") as scratch:
        folder = write_run(result, Path(scratch) / "run", command=command, charts=True)
        shutil.copyfile(write_report(folder), target)
    return target


def page_html() -> str:
    return resources.files("funnelsim.app").joinpath("page.html").read_text(encoding="utf-8")


def create_app(
    source: str | Path, reps: int, seed: int, workers: int | None = None, executor: str = "processes"
) -> Starlette:
    """The what-if page for one scenario (file or bundled name)."""
    scenario = load_scenario(source)
    simulator = Simulator(reps, seed, workers, executor)
    base_lock = threading.Lock()
    base_cache: dict[str, RunResult] = {}

    def base_run() -> RunResult:
        with base_lock:
            if "base" not in base_cache:
                result = simulator.run(scenario)
                assert result is not None
                base_cache["base"] = result
            return base_cache["base"]

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page_html(), headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "scenario": scenario.name,
                "description": scenario.description,
                "source": str(source),
                "reps": reps,
                "seed": seed,
                "workers": simulator.workers,
                "horizon_days": scenario.horizon / 24,
                "warmup_days": scenario.warmup / 24,
                "levers": [lever.as_json() for lever in levers_for(scenario)],
                "sections": metrics.PAGE_SECTIONS,
            }
        )

    async def simulate(request: Request) -> JSONResponse:
        body = await request.json()
        request_id = int(body.get("request_id", 0))
        page = str(body.get("page", ""))
        variant = build_variant(source, scenario, body.get("values", {}), body.get("extra", []))
        answer: dict[str, Any] = {"request_id": request_id, "sets": variant.sets}
        if variant.scenario is None:
            return JSONResponse({**answer, "status": "invalid", "errors": variant.errors})
        job = simulator.start(page, request_id)
        started = time.perf_counter()
        base = await run_in_threadpool(base_run)
        result = base if not variant.overrides else await run_in_threadpool(simulator.run, variant.scenario, job)
        if result is None:
            return JSONResponse({**answer, "status": "superseded"})
        return JSONResponse(
            {
                **answer,
                "status": "ok",
                "seconds": time.perf_counter() - started,
                "figures": figures_json(base, result),
                "currency": result.scenario.currency,
                "warnings": _warnings(result),
            }
        )

    async def save(request: Request) -> JSONResponse:
        body = await request.json()
        variant = build_variant(source, scenario, body.get("values", {}), body.get("extra", []))
        if variant.scenario is None:
            return JSONResponse({"status": "invalid", "errors": variant.errors}, status_code=422)
        try:
            path = save_variant(source, variant.overrides, str(body.get("path", "")), bool(body.get("overwrite")))
        except SaveError as error:
            return JSONResponse(
                {"status": "exists" if error.exists else "error", "message": str(error)}, status_code=409
            )
        return JSONResponse({"status": "saved", "path": str(path)})

    report_lock = threading.Lock()  # pyplot is not thread-safe: one report drawn at a time

    def report_run(variant_scenario: Scenario, target: Path, sets: list[str]) -> Path:
        with report_lock:
            # with time series, as `funnelsim run` does, so the report holds the same charts
            result = simulator.run(variant_scenario, timeseries_step_hours=1.0)
            assert result is not None
            return write_variant_report(result, target, source, sets, reps, seed)

    async def report(request: Request) -> JSONResponse:
        body = await request.json()
        variant = build_variant(source, scenario, body.get("values", {}), body.get("extra", []))
        if variant.scenario is None:
            return JSONResponse({"status": "invalid", "errors": variant.errors}, status_code=422)
        try:
            target = writable_path(
                str(body.get("path", "")), (".html",), bool(body.get("overwrite")), example="whatif.html"
            )
        except SaveError as error:
            return JSONResponse(
                {"status": "exists" if error.exists else "error", "message": str(error)}, status_code=409
            )
        path = await run_in_threadpool(report_run, variant.scenario, target, variant.sets)
        return JSONResponse({"status": "written", "path": str(path), "sets": variant.sets})

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/api/simulate", simulate, methods=["POST"]),
        Route("/api/save", save, methods=["POST"]),
        Route("/api/report", report, methods=["POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # the scenario as loaded runs while the browser opens (and starts the worker pool)
        threading.Thread(target=base_run, name="funnelsim-base-run", daemon=True).start()
        yield
        simulator.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.simulator = simulator
    return app


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(
    source: str | Path,
    reps: int,
    seed: int,
    host: str = "127.0.0.1",
    port: int | None = None,
    open_browser: bool = True,
    workers: int | None = None,
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> None:
    """Start the page, print its address, open it in a browser, and serve until interrupted."""
    import uvicorn

    app = create_app(source, reps, seed, workers)  # a bad scenario fails here, before listening
    if host not in LOOPBACK:
        warn(f"listening on {host}: anyone who can reach this machine can open the page and run simulations")
    port = port or free_port(host if host in LOOPBACK else "127.0.0.1")
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/"
    say(f"funnelsim what-if page for {source} at {address} (Ctrl+C to stop)")
    if open_browser:
        threading.Timer(0.8, lambda: webbrowser.open(address)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
