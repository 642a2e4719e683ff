"""A worker process's last built problem, reused by its next task of the same run config.

A multi-start run sends every start to the workers with the same config; building the
problem (reading and preprocessing the image, building the structure, the model's set-up)
takes a second or more, as long as hundreds of evaluations of a small crop. A worker (a
process-pool process, a dask worker, or the main process for serial starts) keeps the one
problem it built last and hands it to its next task when that task's config and input
files are the same, so 8 starts on 2 workers build the problem twice, not 8 times.

Why it is safe: an evaluation is a deterministic function of the parameters (resume relies
on it; docs/plugin-authors.md), and the caches inside a problem (the registration's
spectra of the experiment) hold functions of the experiment alone, never of parameters.
The key is a hash of the whole config payload and of the size and modification time of
every file it names, so an edited image or structure is read again. Only one problem is
kept (one per thread: a dask worker with several threads runs tasks side by side, and a
problem's caches are not shared between threads): a screen's candidates (a different
config each) replace it rather than pile up.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

_KEPT = threading.local()  # .last = (key, problem)


def _files_named(data: Any, base: Path) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every existing file a string in the payload names."""
    out: list[tuple[str, int, int]] = []
    if isinstance(data, dict):
        for v in data.values():
            out.extend(_files_named(v, base))
    elif isinstance(data, (list, tuple)):
        for v in data:
            out.extend(_files_named(v, base))
    elif isinstance(data, str) and data and len(data) < 4096 and "\n" not in data:
        p = Path(data) if os.path.isabs(data) else base / data
        try:
            st = p.stat()
        except (OSError, ValueError):
            return out
        if stat.S_ISREG(st.st_mode):
            out.append((str(p), st.st_size, st.st_mtime_ns))
    return out


def problem_key(config_data: dict[str, Any]) -> str:
    """The cache key of a config payload: its fields and the files it names (size, mtime)."""
    base = Path(config_data.get("base_dir") or ".")
    files = sorted(set(_files_named(config_data, base)))
    text = json.dumps({"config": config_data, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _kept(config_data: dict[str, Any]) -> tuple[str, Any]:
    """(key, problem) of ``config_data``: this thread's last one when the key matches, else
    built (and kept in its place)."""
    from ingrained_core.engine.payload import config_from_payload
    from ingrained_core.engine.problem import build_problem

    key = problem_key(config_data)
    last = getattr(_KEPT, "last", None)
    if last is not None and last[0] == key:
        return last
    _KEPT.last = None  # the old problem's memory is freed before the new one is built
    _KEPT.last = (key, build_problem(config_from_payload(config_data)))
    return _KEPT.last


def cached_problem(config_data: dict[str, Any]) -> Any:
    """The problem of ``config_data``: this thread's last one when the config and its files
    are the same, else built (and kept in its place)."""
    return _kept(config_data)[1]


def prepare_worker(config_data: dict[str, Any]) -> str:
    """Build (or find) the problem of ``config_data`` in this process ahead of its tasks: a
    warm worker (``Client.run(prepare_worker, payload)`` on dask, a process pool's
    ``initializer``). Returns the key."""
    return _kept(config_data)[0]


def clear() -> None:
    """Forget this thread's kept problem (its memory is freed with the last reference)."""
    _KEPT.last = None
