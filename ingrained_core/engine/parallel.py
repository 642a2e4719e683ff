"""Independent tasks in parallel: :func:`parallel_map` runs them serially, on a local
process pool, or on dask (a local cluster by default, or an existing scheduler).

Multi-start runs and candidate screening submit one task per start or candidate through
:func:`parallel_map`; results stream back as they finish, and a failed task is reported
without stopping the others. Local pool workers die with their parent
(:func:`die_with_parent`): a kill -9 of the main process leaves no orphan still writing.

- Without a scheduler address a ``distributed.LocalCluster`` is started for the call:
  single-threaded worker *processes* (the work is CPU-bound numpy; threads would contend
  for the GIL), as many as the machine has cores or as there are tasks, whichever is
  fewer, on the loopback interface, without a dashboard.
- With ``scheduler="tcp://host:8786"`` the tasks go to an existing dask.distributed
  scheduler, for instance one started by dask-jobqueue on Slurm or PBS (docs/scale.md).
  Its workers need ingrained and the plugins installed, and the input files reachable at
  the same paths (a shared file system).
- Every task runs in a fresh temporary working directory (removed afterwards), so a model
  that writes scratch files never collides with another task on the same worker.
- The submitting process's ``sys.path`` entries that also exist on the worker are added
  to the worker's path (so a plugin importable here is importable there), and the plugin
  registry is rebuilt when that changed something.
- dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes glibc
  map and unmap every array above 64 KiB afresh: an evaluation (many 100-500 KiB arrays)
  then takes twice as long (measured: 11 -> 22 ms on the twin). Local clusters are started
  without it; on a worker that has it (a cluster started elsewhere) the first task raises
  glibc's mmap and trim thresholds back (``mallopt``), which restores the speed.
- dask's system monitor samples GIL contention every millisecond in each worker (for its
  dashboard, which local clusters do not start); on the twin that made a start's
  evaluations about 15 % slower than in a process-pool worker (8 starts: 22.95 s of start
  time against 20.01 s). Local clusters are started with it off.
- dask's statistical profiler walks each worker's running stack every 10 ms (also for the
  dashboard's profile page); local clusters are started with it off too.

dask is imported only here, on first use.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

#: Task results: ``(key, result, error)``; exactly one of result and error is not None.
TaskOutcome = tuple[Any, Any, BaseException | None]


def default_workers(n_tasks: int) -> int:
    """Local cluster size: the machine's cores (affinity-aware), at most one per task."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(n_tasks, cores))


_MALLOC_TUNED = False


def _undo_malloc_trim() -> None:
    """Replace dask's worker allocator setting (``MALLOC_TRIM_THRESHOLD_=65536``, which
    doubles the time of an evaluation) by ingrained's (:func:`memory.tune_allocator`)."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _MALLOC_TUNED = True
    from ingrained_core.engine.memory import tune_allocator

    tune_allocator(respect_environment=False)


def run_in_task_dir(func: Callable[..., Any], python_path: list[str], *args: Any) -> Any:
    """Run ``func(*args)`` on a worker: with the submitter's importable paths, inside a
    temporary working directory of its own (removed afterwards)."""
    _undo_malloc_trim()
    added = [p for p in python_path if p not in sys.path and os.path.isdir(p)]
    if added:
        sys.path[:0] = added
        from ingrained_core.engine.registry import reset_registry

        reset_registry()
    workdir = tempfile.mkdtemp(prefix="ingrained-task-")
    single_threaded = _worker_threads() <= 1
    previous = os.getcwd() if single_threaded else None
    try:
        if single_threaded:  # the working directory is per process: only change it when alone
            os.chdir(workdir)
        return func(*args)
    finally:
        if previous is not None:
            os.chdir(previous)
        shutil.rmtree(workdir, ignore_errors=True)


def _worker_threads() -> int:
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return 1


def local_cluster(n_workers: int) -> Any:
    """A ``LocalCluster`` of ``n_workers`` single-threaded processes on the loopback, no dashboard."""
    import warnings

    import dask
    from distributed import LocalCluster

    # no MALLOC_TRIM_THRESHOLD_ in the workers' environment, no GIL-contention monitor and no
    # statistical profiler in them (see the module docstring)
    settings = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                "distributed.admin.system-monitor.gil.enabled": False,
                "distributed.worker.profile.enabled": False}
    with warnings.catch_warnings(), dask.config.set(settings):
        # the scheduler's small HTTP endpoint (health, metrics) moves to a free port when
        # another cluster holds the default one: not worth a warning
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux ``PR_SET_PDEATHSIG``).

    A pool worker whose parent was killed with -9 would otherwise go on writing its start's
    files while a ``resume`` starts a second writer. Elsewhere this does nothing (the lock's
    generation check still keeps an orphan from writing, see engine/lock.py).
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call: nothing will signal us
        os._exit(1)


def parallel_map(
    func: Callable[..., Any],
    tasks: list[tuple[Any, ...]],
    *,
    executor: str = "processes",
    scheduler: str | None = None,
    workers: int | None = None,
    key_index: int = 2,
) -> Iterator[TaskOutcome]:
    """Run ``func(*task)`` for every task; yield ``(key, result, error)`` as each finishes.

    ``executor``: ``"serial"`` (in this process, in order), ``"processes"`` (a local pool of
    ``workers`` processes, default :func:`default_workers`, each dying with its parent) or
    ``"dask"`` (:func:`dask_map`; also whenever ``scheduler`` is given). A single task runs
    serially. ``key`` is ``task[key_index]``. An ``Exception`` in a task is yielded as its
    error and the others go on; ``KeyboardInterrupt`` and ``SystemExit`` propagate.
    """
    if executor == "dask" or scheduler:
        yield from dask_map(func, tasks, scheduler=scheduler, workers=workers, key_index=key_index)
        return
    if executor == "serial" or len(tasks) <= 1:
        for t in tasks:
            try:
                result = func(*t)
            except Exception as exc:  # noqa: BLE001 - one task's failure is reported, the others go on
                yield t[key_index], None, exc
            else:
                yield t[key_index], result, None
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=workers or default_workers(len(tasks)), initializer=die_with_parent)
    try:
        futures = {pool.submit(func, *t): t[key_index] for t in tasks}
        for fut in as_completed(futures):
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001
                yield futures[fut], None, exc
            else:
                yield futures[fut], result, None
    except BaseException as exc:
        from ingrained_core.engine.deadline import TimeLimitReached

        # Ctrl-C, SIGTERM, ...: ask every worker to stop too (SIGTERM; a start's runner turns it
        # into an interruption and writes its files), then wait for them. At the time limit the
        # workers stop on their own alarms: they are only waited for.
        stop = [] if isinstance(exc, TimeLimitReached) else list((getattr(pool, "_processes", None) or {}).values())
        for proc in stop:
            try:
                proc.terminate()
            except (OSError, ValueError):
                pass
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)


def dask_map(
    func: Callable[..., Any],
    tasks: list[tuple[Any, ...]],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    key_index: int = 2,
    client: Any = None,
) -> Iterator[TaskOutcome]:
    """Run ``func(*task)`` for every task on dask; yield ``(key, result, error)`` as each finishes.

    ``key`` is ``task[key_index]``. ``client`` is an existing ``distributed.Client`` to
    use (left open); else ``scheduler`` is the address of an existing dask.distributed
    scheduler; else a local cluster of ``workers`` processes (default:
    :func:`default_workers`) is started for the duration of the call. A task that raises
    (or whose worker dies) is yielded with its error; the others go on. Closing the
    generator early (or Ctrl-C) cancels the tasks not yet finished.
    """
    if not tasks:
        return
    from distributed import Client, as_completed

    cluster = None
    own_client = client is None
    if client is None:
        if scheduler:
            try:
                client = Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as exc:
                from ingrained_core.plugin.errors import ConfigError

                raise ConfigError(f"cannot connect to the dask scheduler at {scheduler!r}: {exc}") from None
        else:
            cluster = local_cluster(workers or default_workers(len(tasks)))
            client = Client(cluster)
    python_path = [p for p in sys.path if p and os.path.isdir(p)]
    futures: dict[Any, Any] = {}
    try:
        for t in tasks:
            fut = client.submit(run_in_task_dir, func, python_path, *t, pure=False)
            futures[fut] = t[key_index]
        for fut in as_completed(list(futures)):
            key = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - reported per task, the others go on
                yield key, None, exc
            else:
                yield key, result, None
            fut.release()
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()
