"""Interruption and data safety, tried on the real CLI.

- kill -9 at seeded random moments, five times on one run directory (during evaluations,
  during start-up and the replay of a resume); after each kill every run file parses; the
  final ``ingrained resume`` completes with the eval column 1..N and the log equal to an
  uninterrupted run's (apart from elapsed_s): no evaluation lost or duplicated.
- a run directory is never overwritten silently; two processes cannot write one at once.
- a full disk (RLIMIT_FSIZE in the subprocess: writes fail with EFBIG, as on a full disk)
  and an unwritable output path: one clear error, the previous best kept.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ..conftest import REPO, write_config
from .conftest import assert_user_error, check_run_files

KILLS = 5


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(fh)]


def _n_rows(path: Path) -> int:
    try:
        return max(path.read_bytes().count(b"\n") - 1, 0)
    except FileNotFoundError:
        return 0


def _popen(args: list[str], site: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])}  # this checkout first
    return subprocess.Popen([sys.executable, "-m", "ingrained_core", *map(str, args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def _kill_after_rows(proc: subprocess.Popen, log: Path, target: int, extra_s: float, timeout: float = 120) -> bool:
    """Wait until ``log`` has ``target`` rows (+ ``extra_s``), then kill -9; False if the run ended first."""
    t0 = time.time()
    while _n_rows(log) < target:
        if proc.poll() is not None:
            return False
        if time.time() - t0 > timeout:
            proc.kill()
            pytest.fail("timed out waiting for evaluations")
        time.sleep(0.005)
    time.sleep(extra_s)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


@pytest.mark.slow
def test_five_kills_then_resume_loses_no_evaluation(cli, site: Path, lattice_npy: Path, tmp_path: Path) -> None:
    max_evals = 150
    cfg = write_config(tmp_path, lattice_npy, max_evals=max_evals)
    ref = cli("fuse", cfg, "--out", tmp_path / "reference", "--quiet")
    assert ref.returncode == 0, ref.stderr
    reference = _rows(tmp_path / "reference" / "progress.csv")
    n_ref = len(reference)
    assert n_ref >= 60

    run = tmp_path / "killed"
    log = run / "progress.csv"
    rng = np.random.default_rng(20240917)
    kills, moments = 0, []
    for k in range(KILLS):
        first = k == 0
        proc = _popen(["fuse", cfg, "--out", run, "--quiet"] if first else ["resume", run, "--quiet"], site)
        done = _n_rows(log)
        if k == 2:  # a kill at a random moment of start-up / replay, before any new evaluation
            delay = float(rng.uniform(0.2, 1.2))
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                moments.append(f"t+{delay:.2f}s")
        else:
            room = (n_ref - 10 - done) // (KILLS - k)
            target = done + int(rng.integers(1, max(room, 2)))
            extra = float(rng.uniform(0.0, 0.03))  # anywhere inside the next evaluation or write
            if _kill_after_rows(proc, log, target, extra):
                kills += 1
                moments.append(f"row {target}+{extra * 1000:.0f}ms")
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # every file of the interrupted run parses; no evaluation logged twice or skipped
        n = check_run_files(run)["rows"]
        assert n >= done, f"kill {k}: the log shrank from {done} to {n} rows"
        assert _rows(log) == reference[:n] if n else True
        assert (run / "config.toml").exists()
    assert kills == KILLS, moments

    # the lock of the last killed process is stale and is taken over
    final = cli("resume", run, "--quiet")
    assert final.returncode == 0, final.stderr
    assert not (run / ".ingrained.lock").exists()
    check_run_files(run)
    rows = _rows(log)
    assert [int(r["eval"]) for r in rows] == list(range(1, n_ref + 1))
    assert rows == reference  # no evaluation lost, none duplicated
    best = json.loads((run / "best.json").read_text())
    ref_best = json.loads((tmp_path / "reference" / "best.json").read_text())
    assert best["status"] == "finished" and best["fom"] == ref_best["fom"] and best["params"] == ref_best["params"]
    assert np.array_equal(np.load(run / "simulation.npy"), np.load(tmp_path / "reference" / "simulation.npy"))
    assert np.array_equal(np.load(run / "experiment.npy"), np.load(tmp_path / "reference" / "experiment.npy"))


def test_kill_between_config_and_experiment_is_repaired_by_resume(cli, lattice_npy: Path, tmp_path: Path) -> None:
    """A kill right after config.toml was written (experiment.npy not yet): resume writes it."""
    cfg = write_config(tmp_path, lattice_npy, max_evals=6)
    run = tmp_path / "run"
    assert cli("fuse", cfg, "--out", run, "--quiet", "--max-evals", "3").returncode == 0
    for name in ("experiment.npy", "progress.csv", "best.json", "simulation.npy", "fused.png"):
        (run / name).unlink()
    (run / ".ingrained.lock").write_text(json.dumps({"pid": 2**22 + 12345, "host": os.uname().nodename}))
    again = cli("fuse", cfg, "--out", run, "--quiet")
    assert_user_error(again, "not empty", "ingrained resume")
    res = cli("resume", run, "--quiet")
    assert res.returncode == 0, res.stderr
    check_run_files(run)
    assert np.array_equal(np.load(run / "experiment.npy"), np.load(lattice_npy))


def test_run_directory_is_never_overwritten_silently(cli, error_cli, lattice_npy: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, lattice_npy, max_evals=5)
    run = tmp_path / "run"
    assert cli("fuse", cfg, "--out", run, "--quiet").returncode == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    line = assert_user_error(error_cli("fuse", cfg, "--out", run, "--quiet"), "is not empty", "--force", "resume")
    assert str(run) in line
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    # a foreign file in --out is kept even by --force (only run files are replaced)
    (run / "my-notes.txt").write_text("keep me")
    assert cli("fuse", cfg, "--out", run, "--quiet", "--force").returncode == 0
    assert (run / "my-notes.txt").read_text() == "keep me"
    # an existing file as --out
    (tmp_path / "afile").write_text("x")
    assert_user_error(error_cli("fuse", cfg, "--out", tmp_path / "afile", "--quiet"), "afile", "not a directory")


def test_two_runs_cannot_write_one_directory(cli, site: Path, lattice_npy: Path, tmp_path: Path) -> None:
    # an owner that cannot converge before it is killed (Powell alone may finish within the
    # start-up of the second command on a busy machine, and then frees the directory)
    cfg = write_config(tmp_path, lattice_npy, max_evals=20000, optimizer="scan-powell",
                       extra="\n[optimizer.options]\nshrink = 0.95\nmin_radius = 1e-9\nmax_rounds = 100000\n")
    run = tmp_path / "run"
    proc = _popen(["fuse", cfg, "--out", run, "--quiet"], site)
    try:
        t0 = time.time()
        while _n_rows(run / "progress.csv") < 3:
            assert proc.poll() is None and time.time() - t0 < 120, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.02)
        for args in (["resume", run, "--quiet"], ["fuse", cfg, "--out", run, "--quiet", "--force"]):
            other = cli(*args)
            assert_user_error(other, "in use by process", str(proc.pid), ".ingrained.lock")
        assert proc.poll() is None  # the owner is untouched
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    check_run_files(run)


def _limit_file_size(limit: int):
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG, like a full disk
    return preexec


@pytest.mark.slow
def test_full_disk_gives_a_clear_error_and_keeps_the_best(site: Path, lattice_npy: Path, tmp_path: Path) -> None:
    """A run whose files cannot grow any more (RLIMIT_FSIZE, as a full disk) stops with one clear
    error; best.json, simulation.npy and progress.csv stay valid; resume later completes."""
    cfg = write_config(tmp_path, lattice_npy, max_evals=200)
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])}  # this checkout first
    first = subprocess.run([sys.executable, "-m", "ingrained_core", "fuse", str(cfg), "--out", str(run), "--quiet",
                            "--max-evals", "40"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    best_before = json.loads((run / "best.json").read_text())
    sim_before = np.load(run / "simulation.npy")
    limit = (run / "progress.csv").stat().st_size + 1500  # room for a few more rows only
    full = subprocess.run([sys.executable, "-m", "ingrained_core", "resume", str(run), "--quiet", "--max-evals", "200"],
                          env=env, capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=_limit_file_size(limit))
    line = assert_user_error(full, "cannot")
    assert str(run) in line and ("File too large" in line or "previous version is kept" in line), line
    check_run_files(run)
    best_after = json.loads((run / "best.json").read_text())
    assert best_after["fom"] <= best_before["fom"]  # the previous best or a better one, never a torn one
    assert np.load(run / "simulation.npy").shape == sim_before.shape
    assert not list(run.glob(".*.tmp")), "temporary files of failed writes are removed"
    # space again: resume completes and the log is the uninterrupted one
    done = subprocess.run([sys.executable, "-m", "ingrained_core", "resume", str(run), "--quiet", "--max-evals", "200"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    ref = subprocess.run([sys.executable, "-m", "ingrained_core", "fuse", str(cfg), "--out", str(tmp_path / "ref"),
                          "--quiet"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert ref.returncode == 0, ref.stderr
    assert _rows(run / "progress.csv") == _rows(tmp_path / "ref" / "progress.csv")


def test_unwritable_output_directory(cli, error_cli, lattice_npy: Path, tmp_path: Path) -> None:
    """--out below a regular file (cannot be created; chmod does not stop root) and a run
    directory replaced by a file: clear errors naming the path."""
    cfg = write_config(tmp_path, lattice_npy, max_evals=5)
    (tmp_path / "plainfile").write_text("x")
    assert_user_error(error_cli("fuse", cfg, "--out", tmp_path / "plainfile" / "run", "--quiet"),
                      "cannot create run directory", "plainfile")
    run = tmp_path / "run"
    assert cli("fuse", cfg, "--out", run, "--quiet").returncode == 0
    moved = tmp_path / "moved"
    run.rename(moved)
    run.write_text("not a directory any more")
    assert_user_error(error_cli("resume", run, "--quiet"), str(run))
    run.unlink()
    moved.rename(run)
    # best.json a directory (an unwritable target): the write fails cleanly, nothing else is lost
    best = json.loads((run / "best.json").read_text())
    (run / "best.json").unlink()
    (run / "best.json").mkdir()
    res = cli("resume", run, "--quiet", "--max-evals", "9")
    assert_user_error(res, "best.json")
    (run / "best.json").rmdir()
    assert check_run_files(run)["rows"] >= 5 and best["evaluations"] == 5
