"""Crash-safe run-directory pieces: progress log, atomic writes, lock file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import socket

from ingrained_core.plugin import files as atomic
from ingrained_core.plugin.errors import RunDirectoryError
from ingrained_core.engine.lock import LOCK_NAME, RunLock
from ingrained_core.engine.progress import ProgressLog, read_progress


def test_progress_round_trips_floats_exactly(tmp_path: Path) -> None:
    log = ProgressLog(tmp_path / "progress.csv", ["a", "n"])
    values = [0.1 + 0.2, 1 / 3, 2.0**-40, 12345.678901234567]
    for i, v in enumerate(values, 1):
        log.append({"eval": i, "elapsed_s": 0.5 * i, "a": v, "n": 2 * i + 1, "d_trans": 0, "d_sim": v / 7, "fom": v})
    log.close()
    header, rows = read_progress(tmp_path / "progress.csv")
    assert header == ["eval", "elapsed_s", "a", "n", "d_trans", "d_sim", "fom"]
    assert [r["a"] for r in rows] == values and [r["d_sim"] for r in rows] == [v / 7 for v in values]
    assert rows[2]["n"] == 7 and isinstance(rows[2]["n"], int)


def test_torn_tail_is_dropped_and_appending_continues(tmp_path: Path) -> None:
    path = tmp_path / "progress.csv"
    log = ProgressLog(path, ["a"])
    log.append({"eval": 1, "elapsed_s": 0.1, "a": 0.5, "d_trans": 0, "d_sim": 0.2, "fom": 0.2})
    log.close()
    with open(path, "a") as fh:
        fh.write("2,0.2,0.7")  # a kill in the middle of a write
    log = ProgressLog(path, ["a"])
    assert len(log.rows) == 1
    log.append({"eval": 2, "elapsed_s": 0.3, "a": 0.6, "d_trans": 1, "d_sim": 0.3, "fom": 0.4})
    log.close()
    _, rows = read_progress(path)
    assert [r["eval"] for r in rows] == [1, 2]


def test_progress_refuses_other_columns(tmp_path: Path) -> None:
    ProgressLog(tmp_path / "p.csv", ["a"]).close()
    with pytest.raises(RunDirectoryError, match="do not match"):
        ProgressLog(tmp_path / "p.csv", ["b"])


def test_atomic_writes_leave_no_temporaries(tmp_path: Path) -> None:
    atomic.write_json(tmp_path / "best.json", {"fom": 0.1})
    atomic.write_npy(tmp_path / "a.npy", np.arange(6.0).reshape(2, 3))
    assert json.loads((tmp_path / "best.json").read_text()) == {"fom": 0.1}
    assert np.load(tmp_path / "a.npy", allow_pickle=False).shape == (2, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "best.json"]


def test_atomic_write_keeps_previous_on_failure(tmp_path: Path) -> None:
    atomic.write_json(tmp_path / "best.json", {"fom": 0.1})
    with pytest.raises(ValueError):
        atomic.write_json(tmp_path / "best.json", {"fom": float("nan")})  # not valid JSON
    assert json.loads((tmp_path / "best.json").read_text()) == {"fom": 0.1}
    assert [p.name for p in tmp_path.iterdir()] == ["best.json"]


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunDirectoryError, match="cannot write"):
        atomic.write_json(tmp_path / "missing-dir" / "best.json", {})


def test_lock_excludes_a_live_owner_and_takes_over_a_stale_one(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": child.pid, "host": socket.gethostname()}))
        with pytest.raises(RunDirectoryError, match=f"in use by process {child.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        child.kill()
        child.wait()
    with RunLock(tmp_path) as lock:  # the owner is gone: stale, taken over
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()
