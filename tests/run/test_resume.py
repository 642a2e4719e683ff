"""Interruption and resume: kill -9 mid-run, resume, and the log equals an uninterrupted run's."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingrained_core.apps.api import fuse, resume

from ..conftest import REPO, run_cli


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(fh)]


#: keeps a fuse busy for up to a minute (scan rounds down to a tiny radius), so that a test
#: racing it never finds it already finished
LONG_RUN = ["--set", 'optimizer.name="scan-powell"', "--set", "optimizer.options.min_radius=1e-6",
            "--max-evals", "100000", "--time-limit", "60"]


def _start_fuse(cfg: Path, run: Path, site: Path, extra: list[str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])}  # this checkout first
    # SIGINT as a terminal gives it: a shell starts background jobs with SIGINT ignored, and a
    # suite launched that way would hand the ignore on to the run under test
    return subprocess.Popen([sys.executable, "-m", "ingrained_core", "fuse", str(cfg), "--out", str(run), "--quiet",
                             *(extra or [])],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_rows(path: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and path.read_text().count("\n") > n:
            return
        if proc.poll() is not None:
            pytest.fail(f"fuse ended before {n} evaluations: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.02)
    pytest.fail("timed out waiting for evaluations")


def test_resume_after_kill_equals_uninterrupted(lattice_case: Path, tmp_path: Path, lattice_plugin: Path) -> None:
    reference = fuse(lattice_case, tmp_path / "reference")
    proc = _start_fuse(lattice_case, tmp_path / "killed", lattice_plugin)
    _wait_rows(tmp_path / "killed" / "progress.csv", 25, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_rows = _rows(tmp_path / "killed" / "progress.csv")
    assert 25 <= len(killed_rows) < reference.best["evaluations"]
    # the lock left by the killed process is stale and is taken over
    proc2 = run_cli(["resume", str(tmp_path / "killed"), "--quiet"], env={"PYTHONPATH": str(lattice_plugin)})
    assert proc2.returncode == 0, proc2.stderr
    resumed = json.loads((tmp_path / "killed" / "best.json").read_text())
    assert resumed["replayed"] == len(killed_rows)
    assert _rows(tmp_path / "killed" / "progress.csv") == _rows(tmp_path / "reference" / "progress.csv")
    assert resumed["fom"] == reference.best["fom"] and resumed["params"] == reference.best["params"]


def test_resume_of_a_finished_run_does_nothing(lattice_case: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = fuse(lattice_case, run)
    n = len(_rows(run / "progress.csv"))
    again = resume(run)
    assert again.best["fom"] == first.best["fom"] and len(_rows(run / "progress.csv")) == n


def test_resume_with_a_larger_budget_continues(lattice_case: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    fuse(lattice_case, run, max_evals=20)
    assert len(_rows(run / "progress.csv")) == 20
    import tomllib

    before = tomllib.loads((run / "config.toml").read_text())["provenance"]
    out = resume(run, max_evals=45)
    rows = _rows(run / "progress.csv")
    assert len(rows) == 45 and [int(r["eval"]) for r in rows] == list(range(1, 46))
    # the rewritten config keeps where the run came from and records the resume
    after = tomllib.loads((run / "config.toml").read_text())["provenance"]
    assert after["config_file"] == before["config_file"] and after["command"] == before["command"]
    assert after["resumed"][-1]["overrides"] == ["optimizer.max_evals=45"]
    full = fuse(lattice_case, tmp_path / "full", max_evals=45)
    assert rows == _rows(tmp_path / "full" / "progress.csv")
    assert out.best["fom"] == full.best["fom"]


def test_two_processes_cannot_share_a_run_dir(lattice_case: Path, tmp_path: Path, lattice_plugin: Path) -> None:
    run = tmp_path / "run"
    proc = _start_fuse(lattice_case, run, lattice_plugin, LONG_RUN)
    try:
        _wait_rows(run / "progress.csv", 3, proc)
        other = run_cli(["resume", str(run), "--quiet"], env={"PYTHONPATH": str(lattice_plugin)})
        assert other.returncode == 2 and "in use by process" in other.stderr
    finally:
        proc.kill()
        proc.wait()


def test_ctrl_c_stops_cleanly_and_keeps_the_best(lattice_case: Path, tmp_path: Path, lattice_plugin: Path) -> None:
    run = tmp_path / "run"
    proc = _start_fuse(lattice_case, run, lattice_plugin, LONG_RUN)
    _wait_rows(run / "progress.csv", 10, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    best = json.loads((run / "best.json").read_text())
    assert best["status"] == "interrupted" and best["stop_reason"] == "interrupted"
    assert (run / "fused.png").stat().st_size > 0 and not (run / ".ingrained.lock").exists()
    n = len(_rows(run / "progress.csv"))
    assert best["evaluations"] == n
    done = run_cli(["resume", str(run), "--quiet", "--max-evals", str(n + 5)], env={"PYTHONPATH": str(lattice_plugin)})
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "best.json").read_text())["status"] == "finished"
    assert len(_rows(run / "progress.csv")) == n + 5
