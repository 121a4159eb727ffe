"""Where replications run: in this process, in local worker processes, or on a Dask cluster.

Every executor returns results keyed by replication index, and every replication depends only
on its own seed, so figures are bit-identical whatever the executor or the worker count.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

ExecutorName = Literal["serial", "processes", "dask"]
EXECUTORS = ("serial", "processes", "dask")
DASK_CONNECT_SECONDS = 3
PARALLEL_POOL_ROUNDS = 2  # then each replication still missing runs in a pool of its own


class ExecutorChoice(StrEnum):
    """The executors a user may name on the command line."""

    serial = "serial"
    processes = "processes"
    dask = "dask"


class ExecutorError(RuntimeError):
    """The executor itself could not be used (not a failed replication)."""


@dataclass(frozen=True)
class Lost:
    """A task whose result never came back: its worker process died every time it ran it."""

    reason: str


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def check_executor(executor: str, dask_address: str | None = None) -> None:
    """Refuse an executor name or option combination that cannot work, before any work starts."""
    if executor not in EXECUTORS:
        raise ExecutorError(f"unknown executor {executor!r}; expected serial, processes or dask")
    if dask_address is not None and executor != "dask":
        raise ExecutorError("--dask-address goes with --executor dask")


def run_tasks(
    task: Callable[..., Any],
    arguments: Sequence[tuple],
    executor: ExecutorName = "processes",
    workers: int | None = None,
    dask_address: str | None = None,
    notes: list[str] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield (index, result) as tasks finish; the caller orders them.

    A task whose worker process dies is rerun on a fresh pool; one that keeps killing its
    worker is yielded as `Lost`. Notes on such events are appended to `notes`.
    """
    executor = getattr(executor, "value", executor)
    check_executor(executor, dask_address)
    if executor == "dask":
        yield from _run_on_dask(task, arguments, workers, dask_address)
        return
    if executor == "serial" or (workers or default_workers()) == 1 or len(arguments) == 1:
        for index, args in enumerate(arguments):
            yield index, task(*args)
        return
    yield from _run_on_processes(task, arguments, workers or default_workers(), notes if notes is not None else [])


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops them and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_on_processes(
    task: Callable[..., Any], arguments: Sequence[tuple], workers: int, notes: list[str]
) -> Iterator[tuple[int, Any]]:
    pending = list(range(len(arguments)))
    rounds = 0
    while pending:
        rounds += 1
        isolate = rounds > PARALLEL_POOL_ROUNDS
        batches = [[i] for i in pending] if isolate else [list(pending)]
        for batch in batches:
            size = 1 if isolate else min(workers, len(batch))
            finished = yield from _one_pool(task, arguments, batch, size, isolate)
            for index in finished:
                pending.remove(index)
            if isolate and batch[0] in pending:
                pending.remove(batch[0])
                notes.append(f"replication {batch[0]} was lost: its worker process died each of {rounds} times")
                yield (
                    batch[0],
                    Lost(
                        f"the worker process running this replication died {rounds} times "
                        "(killed by a signal or by the out-of-memory killer); it was not completed"
                    ),
                )
        if pending and not isolate:
            notes.append(
                f"a worker process died; {len(pending)} replication(s) were rerun on a new pool "
                "(same seeds, so the figures are unchanged)"
            )


class SharedPool:
    """One local process pool that every `run_tasks` call inside `one_pool()` reuses."""

    def __init__(self, workers: int | None) -> None:
        self.workers = workers or default_workers()
        self.pool: ProcessPoolExecutor | None = None
        self.before: set[int | None] = set()

    def get(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.before = {p.pid for p in multiprocessing.active_children()}
            self.pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_ignore_interrupts)
        return self.pool

    def discard(self) -> None:
        """Drop a broken pool (a worker died); the next `get` starts a fresh one."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            _join_workers(self.before)
            self.pool = None

    def stop(self) -> None:
        """On an interruption: kill the workers, no waiting."""
        if self.pool is not None:
            _stop_workers(self.before)
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None


_shared_pool: ContextVar[SharedPool | None] = ContextVar("funnelsim_shared_pool", default=None)
_shared_dask: ContextVar[Any | None] = ContextVar("funnelsim_shared_dask", default=None)  # a dask Client


@contextmanager
def one_pool(
    executor: str = "processes", workers: int | None = None, dask_address: str | None = None
) -> Iterator[None]:
    """Run every `run_tasks` call inside on one process pool or one Dask client, started once and
    stopped at the end (DESIGN: one pool or cluster serves a whole command). Serial runs are left as they are."""
    executor = getattr(executor, "value", executor)
    if executor == "dask":
        if _shared_dask.get() is not None:
            yield
            return
        with _dask_client(workers, dask_address) as client:
            dask_token = _shared_dask.set(client)
            try:
                yield
            finally:
                _shared_dask.reset(dask_token)
        return
    if executor != "processes" or (workers or default_workers()) == 1 or _shared_pool.get() is not None:
        yield
        return
    shared = SharedPool(workers)
    token = _shared_pool.set(shared)
    try:
        yield
    except BaseException:
        shared.stop()
        raise
    finally:
        _shared_pool.reset(token)
    shared.discard()


def _one_pool(
    task: Callable[..., Any], arguments: Sequence[tuple], batch: list[int], workers: int, isolate: bool = False
) -> Generator[tuple[int, Any], None, list[int]]:
    """Run `batch` on one pool (the shared one, unless isolating); yields results; returns the indices
    that finished."""
    shared = None if isolate else _shared_pool.get()
    if shared is not None:
        return (yield from _on_shared_pool(task, arguments, batch, shared))
    before = {p.pid for p in multiprocessing.active_children()}
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_interrupts)
    finished: list[int] = []
    try:
        yield from _submit_and_collect(pool, task, arguments, batch, finished)
    except BaseException:
        _stop_workers(before)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=False, cancel_futures=True)
    _join_workers(before)  # a worker killed during a waiting shutdown could hang it; never wait unbounded
    return finished


def _on_shared_pool(
    task: Callable[..., Any], arguments: Sequence[tuple], batch: list[int], shared: SharedPool
) -> Generator[tuple[int, Any], None, list[int]]:
    finished: list[int] = []
    broken = yield from _submit_and_collect(shared.get(), task, arguments, batch, finished)
    if broken:
        shared.discard()
    return finished


def _submit_and_collect(
    pool: ProcessPoolExecutor,
    task: Callable[..., Any],
    arguments: Sequence[tuple],
    batch: list[int],
    finished: list[int],
) -> Generator[tuple[int, Any], None, bool]:
    """Submit `batch` to `pool`; yield each result as it comes and note its index in `finished`.
    Returns whether the pool broke (a worker died): the unfinished tasks are rerun by the caller."""
    broken = False
    futures = {pool.submit(task, *arguments[i]): i for i in batch}
    for future in as_completed(futures):
        index = futures[future]
        try:
            result = future.result()
        except BrokenProcessPool:
            broken = True
            continue
        finished.append(index)
        yield index, result
    return broken


def _join_workers(before: set[int | None], seconds: float = 5.0) -> None:
    for process in multiprocessing.active_children():
        if process.pid not in before:
            process.join(timeout=seconds)
            if process.is_alive():
                process.kill()


def _stop_workers(before: set[int | None]) -> None:
    """Kill the worker processes started since `before` (on an interruption: no waiting)."""
    for process in multiprocessing.active_children():
        if process.pid not in before:
            process.kill()
    for process in multiprocessing.active_children():
        if process.pid not in before:
            process.join(timeout=1)


def _check_reachable(address: str) -> None:
    """Fail at once (not after the client's retries) when nothing listens at a tcp address."""
    host_port = address.removeprefix("tcp://")
    host, sep, port = host_port.rpartition(":")
    if "://" in host_port or not sep or not port.isdigit():
        raise ExecutorError(f"--dask-address {address}: expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=DASK_CONNECT_SECONDS):
            pass
    except (OSError, ValueError, OverflowError) as error:
        raise ExecutorError(
            f"--dask-address {address}: cannot reach a Dask scheduler ({getattr(error, 'strerror', None) or error})"
        ) from None


@contextmanager
def _dask_client(workers: int | None, address: str | None) -> Iterator[Any]:
    """A client of the scheduler at `address`, or of a local cluster started for it; closed at the end."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ExecutorError("the dask executor needs dask.distributed: pip install 'funnelsim[dask]'") from None
    if address is not None:
        _check_reachable(address)
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True)
    try:
        client = Client(address or cluster, timeout=DASK_CONNECT_SECONDS)
    except Exception as error:  # refused, timed out, or something that is not a scheduler answered
        if cluster is not None:
            cluster.close()
        raise ExecutorError(
            f"--dask-address {address}: cannot reach a Dask scheduler within {DASK_CONNECT_SECONDS} s "
            f"({str(error)[:200] or 'no answer'})"
        ) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_on_dask(
    task: Callable[..., Any], arguments: Sequence[tuple], workers: int | None, address: str | None
) -> Iterator[tuple[int, Any]]:
    """The tasks on the command's shared Dask client (inside `one_pool`), or on a client of their own."""
    shared = _shared_dask.get()
    if shared is not None:
        yield from _on_dask_client(shared, task, arguments)
        return
    with _dask_client(workers, address) as client:
        yield from _on_dask_client(client, task, arguments)


def _on_dask_client(client: Any, task: Callable[..., Any], arguments: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
    from dask.distributed import as_completed as dask_completed

    futures = [client.submit(task, *args, pure=False) for args in arguments]
    index_of = {f.key: i for i, f in enumerate(futures)}
    for future in dask_completed(futures):
        yield index_of[future.key], future.result()
