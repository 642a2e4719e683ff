"""A lock file that keeps two processes out of one run directory: stale-lock takeover and
fencing.

The lock (``<run>/.ingrained.lock``, JSON) holds the owner's host, pid, the pid's start
time, a *generation* number (one more than the lock it took over) and a random token. A
lock left by a process that no longer exists on this host (killed with -9, say) is stale
and is taken over; a live owner gives a clear error naming it.

Fencing: every writer of a run directory (the main process and each start's worker) holds
a :class:`Fence` of the generation it works for and checks it before it writes. A writer
whose lock was taken over (an orphaned worker of a killed run, a dask worker that lost its
client) finds another token in the lock file and stops with :class:`FencedOut` instead of
writing next to the new owner. The check costs one ``stat`` per write while the lock is
unchanged.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from ingrained_core.plugin.errors import RunDirectoryError

LOCK_NAME = ".ingrained.lock"


class FencedOut(RunDirectoryError):
    """This writer's lock was taken over by another process: it must not write any more."""


def _proc_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[-1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, start_time: int | None = None) -> bool:
    if pid <= 0 or pid > 2**22 * 1024:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except (OverflowError, OSError):
        return False
    # A zombie (killed but not yet reaped by its parent) holds no lock either.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            if fh.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                return False
    except OSError:
        return True
    if start_time is not None:  # the pid was reused by another process: the owner is gone
        now = _proc_start_time(pid)
        if now is not None and now != start_time:
            return False
    return True


def read_lock(path: Path) -> dict[str, Any]:
    """The lock's fields, or ``{}`` when it is missing, torn, or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**62:
        return int(value)
    return None


class Fence:
    """A writer's claim on a run directory: :meth:`check` raises :class:`FencedOut` once the
    lock file no longer carries this writer's token (taken over, or removed)."""

    def __init__(self, lock_path: str | Path, token: str, generation: int) -> None:
        self.lock_path = Path(lock_path)
        self.token = token
        self.generation = generation
        self._seen: tuple[int, int, int] | None = None

    def payload(self) -> dict[str, Any]:
        return {"lock_path": str(self.lock_path), "token": self.token, "generation": self.generation}

    @classmethod
    def from_payload(cls, data: dict[str, Any] | None) -> Fence | None:
        return cls(data["lock_path"], data["token"], int(data["generation"])) if data else None

    def check(self) -> None:
        try:
            st = os.stat(self.lock_path)
        except OSError:
            raise FencedOut(f"{self.lock_path.parent}: the run's lock file is gone; this writer "
                            f"(generation {self.generation}) stops") from None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._seen:
            return
        owner = read_lock(self.lock_path)
        if owner.get("token") != self.token:
            raise FencedOut(
                f"{self.lock_path.parent}: the run directory was taken over (lock generation "
                f"{owner.get('generation')!r}, this writer's {self.generation}); this writer stops")
        self._seen = key


class RunLock:
    """Context manager: acquire ``<run>/.ingrained.lock`` or raise :class:`RunDirectoryError`."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.acquired = False
        self.generation = 0
        self.token = ""

    @property
    def fence(self) -> Fence:
        return Fence(self.path, self.token, self.generation)

    def acquire(self) -> None:
        previous = 0
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self.path.is_dir() or self.path.is_symlink():
                    raise RunDirectoryError(
                        f"lock file {self.path} is not a regular file; remove it if no ingrained process "
                        "uses this run directory") from None
                owner = read_lock(self.path)
                previous = max(previous, _int(owner.get("generation")) or 0)
                if self._stale(owner):
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                raise RunDirectoryError(
                    f"run directory {self.path.parent} is in use by process {owner.get('pid')!s:.20} on "
                    f"{owner.get('host')!s:.64} (lock file {self.path}); wait for it or stop it first, or "
                    "delete the lock file if that process is not an ingrained run"
                ) from None
            except OSError as exc:
                raise RunDirectoryError(f"cannot create lock file {self.path}: {exc.strerror or exc}") from exc
            self.generation = previous + 1
            self.token = uuid.uuid4().hex
            info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                    "start_time": _proc_start_time(os.getpid()), "generation": self.generation,
                    "token": self.token}
            with os.fdopen(fd, "w") as fh:
                json.dump(info, fh)
            self.acquired = True
            return
        raise RunDirectoryError(f"could not acquire {self.path}")

    def _stale(self, owner: dict[str, Any]) -> bool:
        pid = _int(owner.get("pid"))
        if not owner or pid is None:  # empty, torn or malformed lock: its writer died while creating it
            try:
                return time.time() - self.path.stat().st_mtime > 2.0
            except FileNotFoundError:
                return True
        if owner.get("host") != socket.gethostname():
            return False
        return pid != os.getpid() and not _alive(pid, _int(owner.get("start_time")))

    def release(self) -> None:
        """Remove the lock if it is still ours (a failure to do so is not an error of the run)."""
        if self.acquired:
            self.acquired = False
            try:
                if read_lock(self.path).get("token") in (self.token, None):
                    self.path.unlink()
            except OSError:
                pass

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
