"""Fixtures of the reliability suite: a fast run case, the real data, and CLI helpers.

Most tests drive the real command line (``python -m ingrained_core ...`` in a subprocess)
with the example plugin ``gaussian-lattice`` (examples/plugin-template), installed in a
private directory and put on ``PYTHONPATH`` only for those subprocesses: a run of it takes
a few seconds. Real files come from ``<repo>/../shared/data`` (skipped cleanly if absent).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ..conftest import SHARED_DATA, run_cli
from ..plugins.conftest import example_plugin_site  # noqa: F401 - re-exported session fixture

REPO = Path(__file__).resolve().parents[2]
TRUTH = {"pixel_size": 0.2, "spacing": 3.0, "sigma": 0.45, "rotation": 12.0}

#: A fast run: the example model on a 141 x 151 synthetic experiment (known answer).
LATTICE_CONFIG = """
[experiment]
path = "{path}"

[forward_model]
name = "gaussian-lattice"

[forward_model.params]
pixel_size = {{ start = 0.215, min = 0.15, max = 0.3 }}
sigma = {{ start = 0.6, min = 0.2, max = 1.0 }}
rotation = {{ start = 9.0, min = -20, max = 30 }}
crop_height = 61
crop_width = 71

[registration]
vertical_bias = 0.0

[optimizer]
name = "powell"
max_evals = {max_evals}
"""


def lattice_image(shape: tuple[int, int] = (141, 151), seed: int = 7) -> np.ndarray:
    """The example model rendered at TRUTH plus seeded noise (imports the plugin lazily)."""
    from ingrained_gaussian_lattice.model import GaussianLattice

    model = GaussianLattice()
    img = model.simulate(model.Params(**TRUTH, crop_height=shape[0], crop_width=shape[1])).array
    return img + np.random.default_rng(seed).normal(0, 0.05, img.shape)


@pytest.fixture(scope="session")
def site(example_plugin_site: Path) -> Path:  # noqa: F811
    """The private site directory holding the example plugin."""
    return example_plugin_site


@pytest.fixture(scope="session")
def lattice_npy(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic experiment (.npy) rendered by the example model, written once per session."""
    import sys

    sys.path.insert(0, str(site))
    try:
        img = lattice_image()
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.startswith("ingrained_gaussian_lattice")]:
            del sys.modules[name]
    path = tmp_path_factory.mktemp("lattice") / "experiment.npy"
    np.save(path, img)
    return path


def write_config(directory: Path, image: str | Path, max_evals: int = 120, extra: str = "",
                 name: str = "fuse.toml") -> Path:
    """A lattice run config in ``directory`` pointing at ``image`` (relative paths allowed)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(LATTICE_CONFIG.format(path=str(image).replace("\\", "/"), max_evals=max_evals) + extra)
    return path


@pytest.fixture()
def cli(site: Path):
    """``cli(*args, cwd=None, env=None)``: run the CLI with the example plugin importable."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        return run_cli([str(a) for a in args], env={"PYTHONPATH": str(site), **(env or {})}, cwd=cwd,
                       timeout=timeout)

    return run


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
    """``real(rel)``: a file under ../shared/data, or a clean skip when it is absent."""

    def get(rel: str) -> Path:
        p = SHARED_DATA / rel
        if not p.is_file():
            pytest.skip(f"real data file not found: {p}")
        return p

    return get


def check_run_files(run: Path) -> dict[str, int]:
    """Every run file present parses: CSV (torn last line allowed), JSON, TOML, NPY, PNG.

    Returns ``{"rows": <complete progress rows>}``; asserts the eval column is 1..N.
    """
    import tomllib

    from PIL import Image

    from ingrained_core.progress import read_progress

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
