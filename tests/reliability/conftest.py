"""Fixtures of the reliability suite: the CLI with the example plugin, the real data, and
checks of a clean user error and of a run directory's files.

Most tests drive the real command line (``python -m ingrained_core ...`` in a subprocess)
with the example plugin ``gaussian-lattice`` put on ``PYTHONPATH`` only for those
subprocesses; the fast run case itself (``write_config``, ``lattice_npy``) is shared with
tests/run in tests/conftest.py. Real files come from the repository's examples/ (a missing
one fails the test, never skips it).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ..conftest import CliServer, real_file, run_cli

#: The small ``haadf`` model section of the structure and key tests (6 tiles, 41 x 41 crop):
#: fast enough for a run of a few evaluations on the real twin image.
SMALL_HAADF = """
[forward_model]
name = "haadf"

[forward_model.options]
tiles = 6

[forward_model.params]
pixel_size = { start = 0.15, min = 0.12, max = 0.18 }
crop_height = 41
crop_width = 41
"""


@pytest.fixture(scope="session")
def site(example_plugin_site: Path) -> Path:
    """The private site directory holding the example plugin."""
    return example_plugin_site


@pytest.fixture()
def cli(site: Path):
    """``cli(*args, cwd=None, env=None)``: run the CLI with the example plugin importable."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        return run_cli([str(a) for a in args], env={"PYTHONPATH": str(site), **(env or {})}, cwd=cwd,
                       timeout=timeout)

    return run


@pytest.fixture(scope="session")
def error_cli(site: Path):
    """``error_cli(*args, cwd=None)``: a user-error case through one long-lived CLI interpreter
    (:class:`tests.conftest.CliServer`: the real entry point without a start-up a case), with the
    example plugin importable. Not for secrets tests or commands that must start afresh."""
    server = CliServer({"PYTHONPATH": str(site)})

    def run(*args: object, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        return server.run(list(args), cwd=cwd, timeout=timeout)

    yield run
    server.close()


def assert_user_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """A clean user error: exit code 2, one ``error:`` line naming what is wrong, no traceback."""
    err = proc.stderr
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {err}"
    assert "Traceback" not in err and "Traceback" not in proc.stdout, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle.lower() in err.lower(), f"{needle!r} not in: {err}"
    return lines[0]


@pytest.fixture(scope="session")
def real():
    """``real(rel)``: a real file of examples/ (``"cdte_twin/HAADF26.dm3"``); fails when absent."""
    return real_file


def check_run_files(run: Path) -> dict[str, int]:
    """Every run file present parses: CSV (torn last line allowed), JSON, TOML, NPY, PNG.

    Returns ``{"rows": <complete progress rows>}``; asserts the eval column is 1..N.
    """
    import tomllib

    from PIL import Image

    from ingrained_core.engine.progress import read_progress

    out = {"rows": 0}
    if (run / "progress.csv").exists():
        header, rows = read_progress(run / "progress.csv")
        assert not rows or header[:2] == ["eval", "elapsed_s"]
        assert [r["eval"] for r in rows] == list(range(1, len(rows) + 1))
        out["rows"] = len(rows)
    if (run / "best.json").exists():
        best = json.loads((run / "best.json").read_text())
        assert np.isfinite(best["fom"]) and best["evaluation"] >= 1
    if (run / "config.toml").exists():
        tomllib.loads((run / "config.toml").read_text())
    for name in ("experiment.npy", "simulation.npy"):
        if (run / name).exists():
            arr = np.load(run / name, allow_pickle=False)
            assert arr.ndim == 2 and np.isfinite(arr).all()
    if (run / "fused.png").exists():
        with Image.open(run / "fused.png") as im:
            im.verify()
    leftovers = [p.name for p in run.glob(".*.tmp")]
    # a kill during an atomic write may leave its temporary file, never a torn run file
    assert all(name.startswith(".") for name in leftovers)
    return out
