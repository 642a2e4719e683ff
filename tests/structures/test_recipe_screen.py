"""A recipe fused with screening finds the structure it was given (issue 13, items 4 and 5).

The experiment is simulated from candidate k of the CdTe twin recipe (the HAADF forward
model, seeded Gaussian noise), the recipe is fused with ``screen = "auto"``, and candidate
k must win; the run directory holds the screen's ranking and contact sheet, best.json names
the winner and its choices, simulate --from-run regenerates the winner's simulation and
resume does not repeat finished candidates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from .test_choices import EXAMPLES, recipe

#: The truth's fixed image parameters (a small crop, a coarse pixel: fast evaluations).
TRUE = {"pixel_size": 0.3, "interface_width": 0.0, "source_size": 1.0, "shear_x": 0.0, "shear_y": 0.0,
        "stretch_x": 0.0, "stretch_y": 0.0}


def _recipe_section() -> dict:
    d = recipe("cdte_twin")
    for k in ("slab_1", "slab_2"):
        d[k]["unit_cell"] = str(EXAMPLES / "cdte_twin" / d[k]["unit_cell"])
    return {"builder": "bicrystal", **d}


def _experiment(tmp: Path, k: int, seed: int) -> Path:
    """Candidate k of the recipe simulated at TRUE (crop 81 x 61 px), noise sigma 0.15 of its range."""
    from ingrained_stem.model import HaadfConvolution

    from ingrained_core.builtins.structures.bicrystal import BicrystalBuilder
    from ingrained_core.builtins.structures.enumerate import enumerate_candidates

    sec = _recipe_section()
    sec.pop("builder")
    cands = enumerate_candidates(BicrystalBuilder.Config.model_validate(sec))
    model = HaadfConvolution(cands[k].result.structure)
    img = model.simulate(model.Params(**TRUE, crop_height=81, crop_width=61)).array
    rng = np.random.default_rng(seed)
    img = img + rng.normal(0.0, 0.15 * float(np.ptp(img)), img.shape)
    path = tmp / "experiment.npy"
    np.save(path, img.astype(np.float64))
    return path


def _config(tmp: Path, exp: Path, **screen) -> Path:
    import tomli_w

    params = {k: {"start": v, "fixed": True} for k, v in TRUE.items()}
    params["source_size"] = {"start": 1.1, "min": 0.8, "max": 1.4}
    params["crop_height"] = {"start": 61, "fixed": True}
    params["crop_width"] = {"start": 41, "fixed": True}
    cfg = {
        "experiment": {"path": str(exp), "pixel_size": TRUE["pixel_size"]},
        "structure": {**_recipe_section(), **screen},
        "forward_model": {"name": "haadf", "params": params},
        "fom": {"alpha": 0.1, "beta": 1.0, "similarity": "ssim"},
        "optimizer": {"name": "scan-powell", "max_evals": 10, "executor": "serial"},
    }
    path = tmp / "fuse.toml"
    path.write_bytes(tomli_w.dumps(cfg).encode())
    return path


def _fuse(cfg: Path, out: Path):
    from ingrained_core.apps.api import fuse

    return fuse(cfg, out)


@pytest.mark.parametrize("k", [0, pytest.param(2, marks=pytest.mark.slow), pytest.param(4, marks=pytest.mark.slow)])
def test_screen_finds_the_candidate_it_was_given(tmp_path: Path, k: int) -> None:
    exp = _experiment(tmp_path, k, seed=13 + k)
    # of the 12 candidates (6 upper cuts x 2 centred interfaces): 0, 2, 4 and candidate 0
    # with the periodic interface centred (1), the same atoms the crop sees elsewhere
    res = _fuse(_config(tmp_path, exp, screen=[0, 1, 2, 4], screen_budget=4, screen_keep=2), tmp_path / "run")
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["screen"]["candidates"] == 4
    assert best["structure_choices"]["candidate"] == k, best["screen"]["ranking"]
    assert res.best["structure_choices"]["candidate"] == k
    for name in ("ranking.csv", "ranking.md", "contact_sheet.png", "strain.json", "config.toml"):
        assert (tmp_path / "run" / name).is_file(), name
    assert len(list((tmp_path / "run" / "candidates").iterdir())) == 4


def test_screen_outputs_resume_and_simulate_from_run(tmp_path: Path) -> None:
    from ingrained_core.apps.api import resume, simulate

    exp = _experiment(tmp_path, 1, seed=3)
    run = tmp_path / "run"
    # not candidate 3 (upper cut 5): inside the 61-px crop it is candidate 1 moved down by
    # cell_shift -1.44 Å, which the screen's first scan finds, and the two tie within the noise
    _fuse(_config(tmp_path, exp, screen=[0, 1, 2], screen_budget=3, screen_keep=1, screen_refine_keep=2,
                  screen_refine_budget=6), run)
    best = json.loads((run / "best.json").read_text())
    assert best["screen"]["candidates"] == 3 and best["structure_choices"]["candidate"] == 1
    # successive halving: 3 screened (3 evaluations), the best 2 refined (6), the best 1 fitted (10)
    assert best["screen"]["refine"] == {"keep": 2, "budget": 6}
    assert sorted(r["stage"] for r in best["screen"]["ranking"]) == ["full fit", "refine", "screen"]
    logged = sorted(len((c / "progress.csv").read_text().splitlines()) - 1 for c in (run / "candidates").iterdir())
    assert logged == [3, 6, 10]
    assert best["structure_choices"]["slab_1"]["termination_index"] is not None
    import tomllib

    for cand in (run / "candidates").iterdir():  # scan-powell's short screen begins with a scan round
        assert tomllib.loads((cand / "config.toml").read_text())["optimizer"]["options"]["scan_first"] is True
    sim, _, _ = simulate(from_run=run)
    assert np.array_equal(sim, np.load(run / "simulation.npy"))
    # resume: nothing is run again (every candidate finished); the logs keep their length
    logs = {p.parent.name: p.read_text() for p in (run / "candidates").glob("*/progress.csv")}
    again = resume(run)
    assert again.best["structure_choices"]["candidate"] == 1
    assert {p.parent.name: p.read_text() for p in (run / "candidates").glob("*/progress.csv")} == logs
    ranking = (run / "ranking.md").read_text()
    assert "01-" in ranking and ranking.count("\n") == 2 + 3


@pytest.mark.slow
def test_probe_stage_prunes_before_the_screen(tmp_path: Path) -> None:
    """screen_probe_keep: every candidate at a few points in one process, the best go on."""
    exp = _experiment(tmp_path, 0, seed=5)
    run = tmp_path / "run"
    _fuse(_config(tmp_path, exp, screen=[0, 1, 2, 3, 4, 5], screen_budget=3, screen_keep=1,
                  screen_probe_keep=2, screen_probe_points=2), run)
    best = json.loads((run / "best.json").read_text())
    assert best["screen"]["probe"] == {"keep": 2, "points": 2}
    stages = [r["stage"] for r in best["screen"]["ranking"]]
    assert stages.count("probe") == 4 and stages.count("full fit") == 1
    assert len(list((run / "candidates").iterdir())) == 2  # only the probe's best two were run
    assert best["screen"]["placement_range"] > 0  # cell_shift was free in the candidates' fits
    state = json.loads((run / "screen.json").read_text())
    assert len(state["probe"]) == 6 and all(np.isfinite(r["fom"]) for r in state["probe"])
