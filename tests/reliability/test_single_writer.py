"""One writer per run directory: pool workers die with their parent, and a writer whose lock
was taken over (fencing by lock generation and token) stops instead of writing.

The lock files of the wrong shape (a pid that is not a number, a JSON array, a huge pid, a
directory, a reused pid) give a clear message or are taken over, never a traceback.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.engine.lock import LOCK_NAME, FencedOut, RunLock, read_lock
from ingrained_core.engine.progress import ProgressLog
from ingrained_core.plugin.errors import RunDirectoryError

from ..conftest import REPO, write_config

ENDLESS = """
[optimizer.options]
shrink = 0.95
min_radius = 1e-9
max_rounds = 100000
"""


def _env(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])}


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_bytes().rsplit(b")", 1)[-1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[-1].split()
    except OSError:
        return False
    return stat[0] != b"Z"


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(fh)]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_killing_the_main_process_alone_kills_its_workers_and_resume_matches(site: Path, lattice_npy: Path,
                                                                             tmp_path: Path) -> None:
    extra = ENDLESS + '\n'
    cfg = write_config(tmp_path, lattice_npy, max_evals=250, optimizer="scan-powell", extra=extra)
    args = ["--starts", "2", "--set", 'optimizer.executor="processes"', "--quiet"]
    ref = subprocess.run(check=False, args=[sys.executable, "-m", "ingrained_core", "fuse", str(cfg), "--out", str(tmp_path / "ref"),
                          *args], env=_env(site), capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr

    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ingrained_core", "fuse", str(cfg), "--out", str(run), *args],
                            env=_env(site), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    logs = [run / "starts" / f"{i:02d}" / "progress.csv" for i in range(2)]
    t0 = time.time()
    while not all(p.exists() and p.stat().st_size > 400 for p in logs):
        assert proc.poll() is None and time.time() - t0 < 120, proc.stderr.read().decode()[-2000:]
        time.sleep(0.01)
    workers = _children(proc.pid)
    assert workers, "no pool worker found"
    os.kill(proc.pid, signal.SIGKILL)  # the main process alone, not its process group
    proc.wait()
    deadline = time.time() + 10
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "pool workers outlived their parent"
    sizes = [p.stat().st_size for p in logs]
    time.sleep(0.5)
    assert [p.stat().st_size for p in logs] == sizes  # nobody writes any more

    res = subprocess.run(check=False, args=[sys.executable, "-m", "ingrained_core", "resume", str(run), "--quiet"], env=_env(site),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    for i in range(2):
        assert _rows(run / "starts" / f"{i:02d}" / "progress.csv") == _rows(
            tmp_path / "ref" / "starts" / f"{i:02d}" / "progress.csv")
    best, ref_best = (json.loads((d / "best.json").read_text()) for d in (run, tmp_path / "ref"))
    assert best["fom"] == ref_best["fom"] and best["params"] == ref_best["params"]
    assert np.array_equal(np.load(run / "simulation.npy"), np.load(tmp_path / "ref" / "simulation.npy"))


def test_a_writer_whose_lock_was_taken_over_stops(tmp_path: Path) -> None:
    lock = RunLock(tmp_path)
    lock.acquire()
    fence = lock.fence
    assert fence.generation == 1
    fence.check()
    # the owner is presumed dead (say a kill -9 of the main process): its lock is taken over
    info = read_lock(tmp_path / LOCK_NAME)
    (tmp_path / LOCK_NAME).write_text(json.dumps({**info, "pid": 2**22 * 1024 + 5}))
    new = RunLock(tmp_path)
    new.acquire()
    assert new.generation == 2 and new.token != fence.token
    with pytest.raises(FencedOut, match="taken over"):
        fence.check()
    new.fence.check()
    lock.release()  # the old owner's release leaves the new owner's lock alone
    assert read_lock(tmp_path / LOCK_NAME)["token"] == new.token
    new.release()
    with pytest.raises(FencedOut, match="gone"):
        fence.check()


def test_an_orphaned_start_writes_nothing_after_a_takeover(tmp_path: Path, lattice_case: Path) -> None:
    """A start runner holding an old fence stops before its first write into the taken-over run."""
    from ingrained_core.engine.config import load_config
    from ingrained_core.engine.problem import build_problem
    from ingrained_core.engine.reporting import QuietReporter
    from ingrained_core.engine.start_runner import Budget, StartRunner

    problem = build_problem(load_config(lattice_case))
    run = tmp_path / "run"
    run.mkdir()
    old = RunLock(run)
    old.acquire()
    fence = old.fence
    (run / LOCK_NAME).unlink()  # taken over by another process
    RunLock(run).acquire()
    runner = StartRunner(problem, run, problem.space.x0, Budget(max_evals=5), QuietReporter(), fence=fence)
    with pytest.raises(FencedOut):
        runner.run()
    assert not (run / "progress.csv").exists() and not (run / "best.json").exists()


@pytest.mark.parametrize("content", ['{"pid": "abc", "host": "%s"}', "[1, 2]", '{"pid": 1e23, "host": "%s"}',
                                     '{"pid": 3.5}', "\x00\xff garbage"])
def test_malformed_lock_files_are_taken_over(tmp_path: Path, content: str) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text(content.replace("%s", socket.gethostname()) if "%s" in content else content)
    old = time.time() - 60
    os.utime(path, (old, old))
    with RunLock(tmp_path) as lock:
        assert lock.acquired and read_lock(path)["pid"] == os.getpid()


def test_lock_of_a_reused_pid_is_taken_over(tmp_path: Path) -> None:
    """The lock names a live pid whose process started after the lock's owner did (pid reuse)."""
    path = tmp_path / LOCK_NAME
    path.write_text(json.dumps({"pid": 1, "host": socket.gethostname(), "start_time": -1}))
    with RunLock(tmp_path) as lock:
        assert lock.acquired


def test_lock_that_is_a_directory_is_named(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).mkdir()
    with pytest.raises(RunDirectoryError, match="not a regular file; remove it"):
        RunLock(tmp_path).acquire()


def test_live_owner_message_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": socket.gethostname()}))
    with pytest.raises(RunDirectoryError, match="delete the lock file"):
        RunLock(tmp_path).acquire()


def test_progress_log_unchanged_by_fencing(tmp_path: Path) -> None:
    log = ProgressLog(tmp_path / "progress.csv", ["a"])
    log.append({"eval": 1, "elapsed_s": 0.1, "a": 0.5, "d_trans": 0, "d_sim": 0.2, "fom": 0.2})
    log.close()
    assert (tmp_path / "progress.csv").read_text().count("\n") == 2
