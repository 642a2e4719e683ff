"""Bad run configs through ``ingrained fuse``: unknown keys (with the closest key), wrong
types, out-of-bounds values, min > max, a start outside its bounds, unknown plugin names
(with the available ones), broken files; and relative paths resolved against the config
file whatever the working directory.

All error cases run once per module through the real entry point, in two interpreters that
each take half of them (``run_cli_batch``); each test checks one.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ..conftest import run_cli_batch, write_config
from .conftest import assert_user_error

#: case -> (--set overrides, words the one error line must hold)
SET_CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # unknown keys, with the closest known key, at every depth
    "top-level": (("experimnt.path=x.npy",), ("experimnt", "did you mean 'experiment'")),
    "fom": (("fom.alpah=0.2",), ("fom.alpah", "did you mean 'alpha'")),
    "registration": (("registration.vertical_bais=0.1",), ("did you mean 'vertical_bias'",)),
    "optimizer": (("optimizer.max_eval=10",), ("optimizer.max_eval", "did you mean 'max_evals'")),
    "experiment": (("experiment.pth=x.npy",), ("experiment.pth", "did you mean 'path'")),
    "param-spec": (("forward_model.params.sigma.strat=0.5",),
                   ("forward_model.params.sigma.strat", "did you mean 'start'")),
    "preprocess-step": (('experiment.preprocess=[{op = "rotate", angel = 3}]',),
                        ("experiment.preprocess.0.rotate.angel", "did you mean 'angle'")),
    "preprocess-crop": (('experiment.preprocess=[{op = "crop", rowz = [1, 100]}]',), ("did you mean 'rows'",)),
    "optimizer-options": (("optimizer.options.xtoll=0.1",), ("optimizer.options.xtoll", "did you mean 'xtol'")),
    "reader-options": (("experiment.reader_options.fram=1",), ("'fram'", "it takes: frame")),
    "model-parameter": (("forward_model.params.sigmaa=0.5",), ("sigmaa", "known:", "sigma")),
    "model-option": (("forward_model.options.colour=1",), ("forward_model.options", "colour", "it takes: background")),
    # wrong types
    "type-float": (("fom.alpha='abc'",), ("fom.alpha", "valid number", "'abc'")),
    "type-int": (("optimizer.max_evals='many'",), ("optimizer.max_evals", "valid integer")),
    "type-fraction": (("optimizer.starts=1.5",), ("optimizer.starts", "integer")),
    "type-roi": (("registration.roi=[1, 2]",), ("registration.roi",)),
    "type-region": (("experiment.region='all'",), ("experiment.region",)),
    "type-spec": (("forward_model.params.sigma={start = 'x'}",), ("forward_model.params.sigma.start", "number")),
    "type-steps": (("experiment.preprocess='rotate'",), ("experiment.preprocess", "list")),
    # values out of bounds
    "negative-alpha": (("fom.alpha=-1",), ("fom.alpha", "greater than or equal to 0")),
    "bias-above-1": (("registration.vertical_bias=2",), ("registration.vertical_bias", "less than or equal to 1")),
    "zero-starts": (("optimizer.starts=0",), ("optimizer.starts", "greater than or equal to 1")),
    "zero-pixel": (("experiment.pixel_size=0",), ("experiment.pixel_size", "greater than 0")),
    "beyond-model": (("forward_model.params.sigma.max=5",), ("sigma", "[0.1, 2.0]")),
    "fixed-beyond-model": (("forward_model.params.sigma=7",), ("sigma",)),
    "nan-bound": (("forward_model.params.sigma.max=nan",), ("sigma", "finite")),
    "region-order": (("experiment.region=[50, 10, 0, 20]",), ("experiment.region", "row0 < row1")),
    "negative-time": (("optimizer.time_limit=-5",), ("optimizer.time_limit", "greater than 0")),
    "step-value": (('experiment.preprocess=[{op = "gaussian", sigma = -1}]',), ("experiment.preprocess.0", "sigma")),
    "optimizer-option-value": (("optimizer.options.xtol=-1",), ("xtol", "greater than 0")),
    # min > max, start outside the bounds
    "min-above-max": (("forward_model.params.sigma.min=0.9", "forward_model.params.sigma.max=0.3"),
                      ("forward_model.params.sigma", "min (0.9) is greater than max (0.3)")),
    "start-below": (("forward_model.params.sigma.start=0.1",), ("sigma", "start 0.1 is outside its bounds [0.2, 1.0]")),
    "start-above": (("forward_model.params.rotation.start=31",), ("rotation", "outside its bounds [-20.0, 30.0]")),
    "crop-even-too-big": (("forward_model.params.crop_height=500",), ("smaller than the simulation", "crop_height")),
    # unknown plugin names: the available ones are listed, with the closest
    "unknown-model": (("forward_model.name=gausian-lattice",),
                      ("unknown forward model 'gausian-lattice'", "available:", "haadf", "did you mean 'gaussian-lattice'")),
    "unknown-similarity": (("fom.similarity=sim",), ("unknown similarity 'sim'", "available:", "ssim")),
    "unknown-optimizer": (("optimizer.name=powel",), ("unknown optimizer 'powel'", "available:", "nelder-mead")),
    "unknown-reader": (("experiment.reader=dmm",), ("unknown image reader 'dmm'", "available:", "tiff")),
    "unknown-builder": (("structure.builder=bicristal",), ("unknown structure builder 'bicristal'", "available:", "bicrystal")),
    "unknown-step": (('experiment.preprocess=[{op = "rotat", angle = 3}]',), ("experiment.preprocess.0", "'rotate'")),
    "unknown-executor": (("optimizer.executor=threads",), ("optimizer.executor", "'serial'")),
    "bad-set-syntax": (("fom.alpha",), ("--set expects dotted.key=value",)),
}

#: case -> (config file text, file name, words of the error)
FILE_CASES: dict[str, tuple[str | None, str, tuple[str, ...]]] = {
    "toml-syntax": ("[experiment\npath = 'x'\n", "fuse.toml", ("fuse.toml", "not valid TOML")),
    "json-syntax": ('{"experiment": {"path": "x"}', "fuse.json", ("fuse.json", "not valid JSON")),
    "top-level-array": ("[1, 2]", "fuse.json", ("top level must be a table",)),
    "missing-section": ("[experiment]\npath = 'experiment.npy'\n", "fuse.toml", ("forward_model", "Field required")),
    "missing-file": (None, "nothere.toml", ("config file not found", "nothere.toml")),
    "directory": (None, "cfgdir", ("is a directory", "cfgdir")),
    "binary": ("\x00\x01\x02\xff", "fuse.toml", ("fuse.toml", "not valid TOML")),
}


#: cases run by default; the others are marked slow (the whole matrix takes ~45 s here)
FAST = {"top-level", "param-spec", "preprocess-step", "optimizer-options", "type-float", "type-spec",
        "negative-alpha", "beyond-model", "min-above-max", "start-below", "unknown-model", "unknown-reader",
        "toml-syntax", "missing-file"}


def _selected(session: pytest.Session) -> set[str]:
    return {item.callspec.params["case"] for item in session.items
            if item.module is not None and item.module.__name__ == __name__ and hasattr(item, "callspec")
            and "case" in item.callspec.params}


def _cases(names) -> list:
    return [pytest.param(c, marks=() if c in FAST else (pytest.mark.slow,)) for c in names]


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, lattice_npy: Path,
             site: Path) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    root = tmp_path_factory.mktemp("bad-configs")
    cfg = write_config(root, lattice_npy, max_evals=2)
    wanted = _selected(request.session)
    jobs = []
    for case, (sets, _) in SET_CASES.items():
        if case not in wanted:
            continue
        args = ["fuse", str(cfg), "--out", str(root / f"run-{case}"), "--quiet"]
        for s in sets:
            args += ["--set", s]
        jobs.append((case, args, root / f"run-{case}"))
    for case, (text, name, _) in FILE_CASES.items():
        if case not in wanted:
            continue
        d = root / f"file-{case}"
        d.mkdir()
        if case == "directory":
            (d / name).mkdir()
        elif text is not None:
            (d / name).write_text(text, encoding="utf-8", errors="surrogateescape")
        jobs.append((case, ["fuse", str(d / name), "--out", str(d / "run"), "--quiet"], d / "run"))
    procs = run_cli_batch([j[1] for j in jobs], env={"PYTHONPATH": str(site)}, cwd=root)
    return {j[0]: (p, j[2]) for j, p in zip(jobs, procs)}


@pytest.mark.parametrize("case", _cases(SET_CASES))
def test_bad_value_gives_one_clear_error(outcomes, case: str) -> None:
    proc, run = outcomes[case]
    needles = SET_CASES[case][1]
    assert_user_error(proc, *needles)
    assert not run.exists(), "a bad config must fail before the run directory is touched"


@pytest.mark.parametrize("case", _cases(FILE_CASES))
def test_bad_config_file_gives_one_clear_error(outcomes, case: str) -> None:
    proc, run = outcomes[case]
    assert_user_error(proc, *FILE_CASES[case][2])
    assert not run.exists()


def test_debug_shows_the_traceback(cli, lattice_npy: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, lattice_npy)
    proc = cli("--debug", "fuse", cfg, "--out", tmp_path / "run", "--set", "fom.alpha=-1")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "ConfigError" in proc.stderr


def test_relative_paths_resolve_against_the_config_file(cli, lattice_npy: Path, tmp_path: Path) -> None:
    """Run from another directory holding a decoy file of the same relative name: the config's wins."""
    import numpy as np

    proj = tmp_path / "project"
    (proj / "data").mkdir(parents=True)
    (proj / "data" / "experiment.npy").write_bytes(lattice_npy.read_bytes())
    write_config(proj / "configs", "../data/experiment.npy", max_evals=3)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "data").mkdir(parents=True)
    np.save(elsewhere / "data" / "experiment.npy", np.zeros((5, 5)))  # would fail if read
    (elsewhere / "configs").mkdir()
    rel_cfg = Path("..") / ".." / "project" / "configs" / "fuse.toml"
    proc = cli("fuse", rel_cfg, "--out", "run", "--quiet", cwd=elsewhere / "configs")
    assert proc.returncode == 0, proc.stderr
    run = elsewhere / "configs" / "run"  # --out is relative to the working directory, like any CLI path
    import tomllib

    stored = tomllib.loads((run / "config.toml").read_text())
    assert Path(stored["experiment"]["path"]) == (proj / "data" / "experiment.npy").resolve()
    assert np.array_equal(np.load(run / "experiment.npy"), np.load(lattice_npy))
    # preview and resume from a third directory use the same files
    third = tmp_path / "third"
    third.mkdir()
    prev = cli("preview", proj / "configs" / "fuse.toml", "--out", "p.png", cwd=third)
    assert prev.returncode == 0 and (third / "p.png").exists(), prev.stderr
    res = cli("resume", run, "--max-evals", "5", "--quiet", cwd=third)
    assert res.returncode == 0, res.stderr
    assert json.loads((run / "best.json").read_text())["evaluations"] == 5


@pytest.mark.slow
def test_structure_and_density_paths_resolve_against_the_config(cli, real, tmp_path: Path, repo_root: Path) -> None:
    """The twin example (image and POSCAR given relative to its config) runs from any directory."""
    real("cdte_twin/HAADF26.dm3")
    cfg = repo_root / "examples" / "cdte_twin" / "fuse.toml"
    proc = cli("fuse", cfg, "--out", tmp_path / "run", "--quiet", "--max-evals", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import tomllib

    stored = tomllib.loads((tmp_path / "run" / "config.toml").read_text())
    # builder fields are stored as given, with the directory they are relative to
    assert Path(stored["base_dir"]) == cfg.parent.resolve()
    other = tmp_path / "other"
    other.mkdir()
    res = cli("resume", tmp_path / "run", "--max-evals", "2", "--quiet", cwd=other)
    assert res.returncode == 0, res.stderr
