"""``resume`` refuses a run whose objective or experiment changed, and trusts no logged FOM
it has not reproduced.

A run keeps ``fingerprint.json`` (a hash per field of the resolved config and of the
preprocessed image). Editing a field that alters the FOM or the experiment in the run's
``config.toml`` (``fom.alpha``, ``experiment.path``), or ``resume --set`` of such a field, is
refused naming the field; ``resume --set`` of a budget field works. A FOM edited in
``progress.csv`` is caught when the log's best row is evaluated again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.apps.api import fuse, resume
from ingrained_core.plugin.errors import ConfigError, RunDirectoryError

from ..conftest import write_config


@pytest.fixture()
def half_run(lattice_case: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    fuse(lattice_case, run, max_evals=30)
    return run


def test_edited_fom_alpha_is_refused_naming_the_field(half_run: Path) -> None:
    cfg = half_run / "config.toml"
    text = cfg.read_text()
    assert "alpha = 0.1" in text
    cfg.write_text(text.replace("alpha = 0.1", "alpha = 5.0"))
    with pytest.raises(RunDirectoryError, match=r"fom\.alpha changed since the run started"):
        resume(half_run, max_evals=60)
    assert len((half_run / "progress.csv").read_text().splitlines()) == 31  # nothing appended


def test_resume_set_of_an_objective_field_is_refused(half_run: Path) -> None:
    with pytest.raises(ConfigError, match=r"resume --set fom\.alpha: this field cannot change"):
        resume(half_run, overrides=["fom.alpha=5.0"], max_evals=60)


def test_resume_set_of_a_budget_field_works(half_run: Path) -> None:
    result = resume(half_run, overrides=["optimizer.blas_threads=1"], max_evals=40)
    assert result.best["evaluations"] == 40


def test_another_image_is_refused(half_run: Path, tmp_path: Path) -> None:
    rotated = tmp_path / "rotated.npy"
    np.save(rotated, np.rot90(np.load(half_run / "experiment.npy"), 2))
    cfg = half_run / "config.toml"
    lines = [f'path = "{rotated}"' if ln.startswith("path = ") and "experiment.npy" in ln else ln
             for ln in cfg.read_text().splitlines()]
    cfg.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunDirectoryError, match=r"experiment\.path"):
        resume(half_run, max_evals=60)


def test_a_tampered_best_fom_in_the_log_is_caught(half_run: Path) -> None:
    log = half_run / "progress.csv"
    lines = log.read_text().splitlines()
    cells = lines[10].split(",")
    cells[-1] = "1e-07"
    lines[10] = ",".join(cells)
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunDirectoryError, match="evaluation 10 is logged with FOM 1e-07 but evaluates to"):
        resume(half_run, max_evals=60)
    assert json.loads((half_run / "best.json").read_text())["fom"] != 1e-07


def test_cli_names_the_field(cli, lattice_npy: Path, tmp_path: Path) -> None:
    from .conftest import assert_user_error

    cfg = write_config(tmp_path, lattice_npy, max_evals=20)
    run = tmp_path / "run"
    assert cli("fuse", cfg, "--out", run, "--quiet").returncode == 0
    proc = cli("resume", run, "--set", "fom.beta=2", "--quiet")
    assert_user_error(proc, "fom.beta", "cannot change")


def test_the_same_path_holding_another_image_is_refused(lattice_case: Path, tmp_path: Path) -> None:
    image = lattice_case.parent / "experiment.npy"
    run = tmp_path / "run2"
    fuse(lattice_case, run, max_evals=20)
    np.save(image, np.rot90(np.load(image), 2))
    with pytest.raises(RunDirectoryError, match="experimental image .* differs"):
        resume(run, max_evals=40)
