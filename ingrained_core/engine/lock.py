"""A lock file that keeps two processes out of one run directory, with stale-lock takeover.

The lock holds the owner's host and pid. A lock left by a process that no longer exists
on this host (killed with -9, say) is stale and is taken over; a live owner gives a clear
error naming it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from ingrained_core.plugin.errors import RunDirectoryError

LOCK_NAME = ".ingrained.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed but not yet reaped by its parent) holds no lock either.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().split(b")")[-1].split()[0] != b"Z"
    except OSError:
        return True


class RunLock:
    """Context manager: acquire ``<run>/.ingrained.lock`` or raise :class:`RunDirectoryError`."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.acquired = False

    def acquire(self) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self._stale():
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                owner = self._owner()
                raise RunDirectoryError(
                    f"run directory {self.path.parent} is in use by process {owner.get('pid')} on "
                    f"{owner.get('host')} (lock file {self.path}); wait for it or stop it first"
                ) from None
            except OSError as exc:
                raise RunDirectoryError(f"cannot create lock file {self.path}: {exc.strerror or exc}") from exc
            with os.fdopen(fd, "w") as fh:
                json.dump(info, fh)
            self.acquired = True
            return
        raise RunDirectoryError(f"could not acquire {self.path}")

    def _owner(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def _stale(self) -> bool:
        owner = self._owner()
        if not owner:  # empty or torn lock: its writer died while creating it
            try:
                return time.time() - self.path.stat().st_mtime > 2.0
            except FileNotFoundError:
                return True
        if owner.get("host") != socket.gethostname():
            return False
        pid = int(owner.get("pid", -1))
        return pid != os.getpid() and not _alive(pid)

    def release(self) -> None:
        if self.acquired:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self.acquired = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
