"""The main job on real data: the CdTe twin example (paper Case 1) through the CLI and the API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.apps.api import fuse, simulate

from ..conftest import real_file, run_cli


@pytest.fixture()
def twin_config(repo_root: Path) -> Path:
    real_file("cdte_twin/HAADF26.dm3")
    return real_file("cdte_twin/fuse.toml")


def test_twin_short_run_through_the_cli(twin_config: Path, tmp_path: Path) -> None:
    run = tmp_path / "twin"
    proc = run_cli(["fuse", str(twin_config), "--out", str(run), "--max-evals", "25", "--quiet"])
    assert proc.returncode == 0, proc.stderr
    best = json.loads((run / "best.json").read_text())
    assert best["evaluations"] == 25 and best["forward_model"] == "haadf"
    exp = np.load(run / "experiment.npy")
    assert exp.shape == (302, 302)
    sim = np.load(run / "simulation.npy")
    assert sim.shape == (best["patch"]["height"], best["patch"]["width"])
    # the structure as simulated (published structure, interface shift applied)
    from pymatgen.core import Structure

    s = Structure.from_file(run / "structure.cif")
    assert s.composition.reduced_formula == "CdTe" and len(s) > 500
    # a reviewer's check: the reported fit regenerates bit for bit
    out = tmp_path / "again.npy"
    proc = run_cli(["simulate", "--from-run", str(run), "--out", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(np.load(out), sim) and out.with_suffix(".png").stat().st_size > 0


@pytest.mark.slow
def test_twin_converges_to_an_excellent_fit(twin_config: Path, tmp_path: Path) -> None:
    """Default Powell from the published start point: FOM < 0.2 (the paper's 'excellent')."""
    result = fuse(twin_config, tmp_path / "twin", max_evals=2000)
    assert result.best["d_trans"] == 0
    assert result.fom < 0.2
    p = result.params
    assert p["pixel_size"] == pytest.approx(0.210, rel=0.02)  # published best 0.21007 Å
