"""Independent tasks on dask: a local cluster by default, or an existing scheduler.

Multi-start runs and candidate screening submit one task per start or candidate; results
stream back as they finish, and a failed task is reported without stopping the others.
dask is imported only here, on first use.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator


def dask_map(
    func: Callable[..., Any],
    tasks: list[tuple[Any, ...]],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    key_index: int = 2,
) -> Iterator[tuple[Any, Any, BaseException | None]]:
    """Run ``func(*task)`` for every task on dask; yield ``(key, result, error)`` as each finishes.

    ``scheduler`` is the address of an existing dask.distributed scheduler (for instance
    one started by dask-jobqueue on Slurm/PBS); without it a ``LocalCluster`` of
    ``workers`` single-threaded processes is started for the duration of the call.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        n = workers or min(len(tasks), os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = {client.submit(func, *t, pure=False): t[key_index] for t in tasks}
        for fut in as_completed(list(futures)):
            key = futures[fut]
            try:
                yield key, fut.result(), None
            except Exception as exc:  # noqa: BLE001 - reported per task
                yield key, None, exc
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
