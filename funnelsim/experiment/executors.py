"""Where replications run: in this process, in local worker processes, or on a Dask cluster.

Every executor returns results keyed by replication index, and every replication depends only
on its own seed, so figures are bit-identical whatever the executor or the worker count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Literal

ExecutorName = Literal["serial", "processes", "dask"]


class ExecutorError(RuntimeError):
    """The executor itself could not be used (not a failed replication)."""


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_tasks(
    task: Callable[..., Any],
    arguments: Sequence[tuple],
    executor: ExecutorName = "processes",
    workers: int | None = None,
    dask_address: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield (index, result) as tasks finish; the caller orders them."""
    if executor == "serial" or (executor == "processes" and (workers or default_workers()) == 1) or len(arguments) == 1:
        for index, args in enumerate(arguments):
            yield index, task(*args)
        return
    if executor == "processes":
        with ProcessPoolExecutor(max_workers=min(workers or default_workers(), len(arguments))) as pool:
            futures = {pool.submit(task, *args): index for index, args in enumerate(arguments)}
            for future in as_completed(futures):
                yield futures[future], future.result()
        return
    if executor == "dask":
        yield from _run_on_dask(task, arguments, workers, dask_address)
        return
    raise ExecutorError(f"unknown executor {executor!r}; expected serial, processes or dask")


def _run_on_dask(
    task: Callable[..., Any], arguments: Sequence[tuple], workers: int | None, address: str | None
) -> Iterator[tuple[int, Any]]:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise ExecutorError("the dask executor needs dask.distributed: pip install 'funnelsim[dask]'") from None
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True)
    client = Client(address or cluster)
    try:
        futures = [client.submit(task, *args, pure=False) for args in arguments]
        index_of = {f.key: i for i, f in enumerate(futures)}
        for future in dask_completed(futures):
            yield index_of[future.key], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
