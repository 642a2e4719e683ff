"""End-to-end ``fuse``: the run directory contract, the fit, simulate --from-run, errors."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.apps.api import fuse, simulate
from ingrained_core.plugin.errors import ConfigError, PluginError, RunDirectoryError

from ..conftest import run_cli
from .conftest import TRUTH

BEST_KEYS = {"fom", "d_trans", "d_sim", "alpha", "beta", "evaluation", "params", "patch",
             "forward_model", "similarity", "optimizer"}


def test_fuse_writes_the_run_directory_contract(lattice_case: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = fuse(lattice_case, run)
    names = {p.name for p in run.iterdir()}
    assert {"config.toml", "progress.csv", "best.json", "experiment.npy", "simulation.npy", "fused.png"} <= names
    best = json.loads((run / "best.json").read_text())
    assert BEST_KEYS <= set(best)
    assert best["alpha"] == 0.1 and best["beta"] == 1.0 and best["similarity"] == "ssim"
    with open(run / "progress.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == best["evaluations"] <= 120
    assert list(rows[0]) == ["eval", "elapsed_s", "pixel_size", "spacing", "sigma", "rotation",
                             "crop_height", "crop_width", "d_trans", "d_sim", "fom"]
    foms = [float(r["fom"]) for r in rows]
    assert best["fom"] == min(foms) and foms.index(best["fom"]) + 1 == best["evaluation"]
    # the simulation and the patch it was placed in
    sim = np.load(run / "simulation.npy", allow_pickle=False)
    exp = np.load(run / "experiment.npy", allow_pickle=False)
    p = best["patch"]
    assert sim.shape == (p["height"], p["width"]) == (61, 71)
    assert 0 <= p["row"] <= exp.shape[0] - 61 and 0 <= p["col"] <= exp.shape[1] - 71
    # the fit recovers the truth
    assert best["params"]["pixel_size"] == pytest.approx(TRUTH["pixel_size"], rel=0.02)
    assert best["params"]["rotation"] == pytest.approx(TRUTH["rotation"], abs=1.0)
    assert best["d_trans"] == 0 and best["fom"] < 0.5
    assert result.fom == best["fom"]
    # fused.png is a real PNG for a talk: 300 dpi, 13 in wide (tests/results/test_figure.py measures it)
    from PIL import Image

    with Image.open(run / "fused.png") as im:
        assert im.format == "PNG" and im.info["dpi"][0] == pytest.approx(300, abs=1) and im.size[0] >= 3000
    # config.toml is the resolved config, with versions, and loads again
    import tomllib

    cfg = tomllib.loads((run / "config.toml").read_text())
    assert cfg["provenance"]["versions"]["ingrained"]
    assert Path(cfg["experiment"]["path"]).is_absolute()


def test_simulate_from_run_reproduces_the_best_simulation(lattice_case: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    fuse(lattice_case, run, max_evals=30)
    array, pixel, used = simulate(from_run=run)
    assert np.array_equal(array, np.load(run / "simulation.npy"))
    assert used == json.loads((run / "best.json").read_text())["params"]


@pytest.mark.parametrize("optimizer", ["nelder-mead", "cobyla"])
def test_other_optimizers_run(lattice_case: Path, tmp_path: Path, optimizer: str) -> None:
    result = fuse(lattice_case, tmp_path / optimizer, overrides=[f"optimizer.name={optimizer}"], max_evals=40)
    assert result.best["optimizer"] == optimizer and result.best["evaluations"] <= 40


def test_refuses_non_empty_run_dir_and_keeps_it(lattice_case: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    fuse(lattice_case, run, max_evals=10)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    with pytest.raises(RunDirectoryError, match="not empty"):
        fuse(lattice_case, run, max_evals=10)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    result = fuse(lattice_case, run, max_evals=5, force=True)
    assert result.best["evaluations"] == 5


@pytest.mark.parametrize(
    "override,error,fragment",
    [
        ("optimizer.name=powel", PluginError, "did you mean 'powell'"),
        ("fom.similarity=ssim9", PluginError, "available: ssim, ssim-float7"),
        ("forward_model.name=nope", PluginError, "unknown forward model 'nope'"),
        ("forward_model.params.sigma.start=5", ConfigError, "sigma"),
        ("forward_model.params.crop_height=401", ConfigError, "smaller than the simulation"),
        ("optimizer.max_evals=-1", ConfigError, "optimizer.max_evals"),
        ("optimizer.nmae=1", ConfigError, "did you mean 'name'"),
    ],
)
def test_bad_config_values_fail_before_writing(lattice_case: Path, tmp_path: Path, override: str,
                                                error: type, fragment: str) -> None:
    run = tmp_path / "run"
    with pytest.raises(error) as exc:
        fuse(lattice_case, run, overrides=[override])
    assert fragment.lower() in str(exc.value).lower()
    assert not run.exists()


def test_cli_errors_are_one_line_without_traceback(lattice_case: Path, tmp_path: Path,
                                                    lattice_plugin: Path) -> None:
    env = {"PYTHONPATH": str(lattice_plugin)}
    proc = run_cli(["fuse", str(lattice_case), "--out", str(tmp_path / "r"), "--set", "optimizer.name=simplex"], env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: unknown optimizer 'simplex'")
    proc = run_cli(["fuse", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "r")], env=env)
    assert proc.returncode == 2 and "config file not found" in proc.stderr


def test_multistart_writes_starts_and_keeps_the_best(lattice_case: Path, tmp_path: Path) -> None:
    serial = fuse(lattice_case, tmp_path / "serial", starts=3, max_evals=25,
                  overrides=["optimizer.executor=serial"])
    run = tmp_path / "serial"
    assert sorted(p.name for p in (run / "starts").iterdir()) == ["00", "01", "02"]
    foms = [json.loads((run / "starts" / s / "best.json").read_text())["fom"] for s in ("00", "01", "02")]
    assert serial.fom == min(foms)
    top = json.loads((run / "best.json").read_text())
    assert np.array_equal(np.load(run / "simulation.npy"),
                          np.load(run / "starts" / f"{top['start']:02d}" / "simulation.npy"))
    parallel = fuse(lattice_case, tmp_path / "par", starts=3, max_evals=25,
                    overrides=["optimizer.executor=processes", "optimizer.workers=2"])
    assert [s["fom"] for s in sorted(parallel.starts, key=lambda s: s["start"])] == foms


def test_frames_and_movie(lattice_case: Path, tmp_path: Path) -> None:
    from ingrained_core.apps.frames import render_frames, select_rows
    from ingrained_core.engine.progress import read_progress

    run = tmp_path / "run"
    fuse(lattice_case, run, max_evals=30)
    _, rows = read_progress(run / "progress.csv")
    improvements = select_rows(rows, "improvements")
    assert improvements[0]["eval"] == 1 and all(
        a["fom"] > b["fom"] for a, b in zip(improvements, improvements[1:]))
    assert [r["eval"] for r in select_rows(rows, "2-4,7")] == [2, 3, 4, 7]
    paths = render_frames(run, select="1-3", movie=True, fps=2)
    assert [p.name for p in paths] == ["frame_00000.png", "frame_00001.png", "frame_00002.png", "progress.mp4"]
    assert paths[-1].stat().st_size > 1000
    with pytest.raises(ConfigError, match="--select"):
        select_rows(rows, "3-1")


def test_json_log_reports_every_evaluation(lattice_case: Path, tmp_path: Path, lattice_plugin: Path) -> None:
    proc = run_cli(["fuse", str(lattice_case), "--out", str(tmp_path / "r"), "--max-evals", "12", "--json-log"],
                   env={"PYTHONPATH": str(lattice_plugin)})
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["event"] == "begin" and events[-1]["event"] == "end"
    assert sum(e["event"] == "evaluation" for e in events) == 12
