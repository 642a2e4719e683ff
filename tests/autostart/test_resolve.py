"""start = "auto" in a run config: parsing, start.json, fallbacks, calibration against fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.engine.autostart.resolve import (
    auto_start_case,
    calibration_notes,
    calibration_record,
    start_record,
)
from ingrained_core.engine.config import read_config_file, validate_config
from ingrained_core.engine.problem import build_problem
from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.params import ParamSpec

from .conftest import ROOT, TWIN

GEOMETRIC = ("pixel_size", "shear_x", "shear_y", "stretch_x", "stretch_y")


def _experiment(tmp_path: Path, twin_model, kind: str = "lattice") -> Path:
    rng = np.random.default_rng(11)
    if kind == "lattice":
        truth = dict(twin_model.Params().model_dump(), crop_height=131, crop_width=131, source_size=1.25,
                     pixel_size=0.22, shear_x=0.03, stretch_x=0.02, stretch_y=-0.02)
        img = twin_model.simulate(twin_model.Params(**truth)).array
        img = img + rng.normal(0, img.std() / 2.0, img.shape)
    else:
        img = rng.normal(size=(131, 131))
    path = tmp_path / f"{kind}.npy"
    np.save(path, img)
    return path


def _config(image: Path, params: dict, **sections) -> dict:
    return {
        "experiment": {"path": str(image), "pixel_size": 0.2},
        "structure": {"builder": "file", "path": str(TWIN)},
        "forward_model": {"name": "haadf", "params": {
            "crop_height": {"start": 101, "min": 81}, "crop_width": {"start": 101, "min": 81}, **params}},
        "autostart": {"candidates": 2, "around": 1},
        **sections,
    }


def _auto(**over) -> dict:
    out = {n: {"start": "auto", "min": -0.1, "max": 0.1} for n in GEOMETRIC[1:]}
    out["pixel_size"] = {"start": "auto", "min": 0.12, "max": 0.35}
    out.update(over)
    return out


def test_spec_accepts_auto():
    assert ParamSpec.model_validate("auto").auto is True
    spec = ParamSpec.model_validate({"start": "auto", "min": 0.1, "max": 0.3})
    assert spec.auto and spec.start is None and spec.min == 0.1
    spec = ParamSpec.model_validate({"start": 0.2, "auto": True})
    assert spec.auto and spec.start == 0.2


def test_auto_only_for_geometric_parameters(tmp_path, twin_model):
    image = _experiment(tmp_path, twin_model)
    cfg = validate_config(_config(image, _auto(source_size={"start": "auto"})), tmp_path)
    with pytest.raises(ConfigError, match="source_size.*only for the geometric"):
        build_problem(cfg)


def test_absurd_starts_beside_auto_give_the_same_start_json(tmp_path, twin_model):
    image = _experiment(tmp_path, twin_model)
    plain = build_problem(validate_config(_config(image, _auto()), tmp_path))
    absurd = {n: {"start": v, "auto": True, "min": -0.1, "max": 0.1}
              for n, v in (("shear_x", 0.099), ("shear_y", -0.097), ("stretch_x", -0.1), ("stretch_y", 0.1))}
    absurd["pixel_size"] = {"start": 0.349, "auto": True, "min": 0.12, "max": 0.35}
    other = build_problem(validate_config(_config(image, absurd), tmp_path))
    a, b = start_record(plain), start_record(other)
    assert a is not None and a["status"] == "estimated"
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert plain.space.values(plain.space.x0) == other.space.values(other.space.x0)
    # the start lands near the truth (0.22 Å/px; uniform stretch folded into the pixel size)
    assert a["start"]["pixel_size"] == pytest.approx(0.22, rel=0.03)
    assert a["calibration"]["pixel_size"] == 0.2
    assert [c["source"] for c in a["candidates"]][-1] == "calibration"
    stage = a["global_stage"]
    assert stage["evaluations"] >= 4 and stage["evaluations"] % 2 == 0  # (1 + around) per candidate, calibration too
    assert a["start_estimated"] == stage["best"]["values"] == stage["ranking"][0]["values"]
    # the local search starts from the winner's undistorted similarity (start_distortion "none")
    assert a["start_distortion"] == "none"
    assert all(a["start"][n] == 0.0 for n in ("shear_x", "shear_y", "stretch_x", "stretch_y"))
    assert stage["best"]["fom"] == min(r["fom"] for r in stage["ranking"] if r["fom"] is not None)
    # the resolved config holds numbers only (what config.toml records)
    specs = plain.config.forward_model.params
    assert all(specs[n].start is not None and not specs[n].auto for n in GEOMETRIC)


def test_no_lattice_falls_back_to_a_configured_start(tmp_path, twin_model):
    image = _experiment(tmp_path, twin_model, kind="noise")
    params = _auto(pixel_size={"start": 0.21, "auto": True, "min": 0.12, "max": 0.35},
                   **{n: {"start": 0.0, "auto": True} for n in GEOMETRIC[1:]})
    problem = build_problem(validate_config(_config(image, params), tmp_path))
    rec = start_record(problem)
    assert rec["status"] == "fallback"
    assert "noise.npy" in rec["error"] and "no lattice" in rec["error"]
    assert any("configured starts are used" in n for n in rec["notices"])
    assert problem.space.values(problem.space.x0)["pixel_size"] == 0.21


def test_no_lattice_without_a_start_says_what_to_give(tmp_path, twin_model):
    image = _experiment(tmp_path, twin_model, kind="noise")
    with pytest.raises(ConfigError, match=r"noise\.npy.*no lattice.*give forward_model\.params\.pixel_size a start"):
        build_problem(validate_config(_config(image, _auto()), tmp_path))


def test_missing_start_gets_a_notice(tmp_path, twin_model):
    image = _experiment(tmp_path, twin_model)
    params = {"pixel_size": {"start": 0.22, "min": 0.12, "max": 0.35}}
    problem = build_problem(validate_config(_config(image, params), tmp_path))
    notes = problem.autostart.get("notices", [])
    assert any("shear_x has no start" in n and 'start = "auto"' in n for n in notes)
    assert start_record(problem) is None


def test_auto_start_case_keeps_bounds():
    raw = read_config_file(ROOT / "examples" / "cdte_twin" / "fuse.toml")
    out = auto_start_case(raw)
    params = out["forward_model"]["params"]
    for n in GEOMETRIC:
        assert params[n]["start"] == "auto"
        assert params[n]["min"] == raw["forward_model"]["params"][n]["min"]
        assert params[n]["max"] == raw["forward_model"]["params"][n]["max"]
    assert params["source_size"] == raw["forward_model"]["params"]["source_size"]
    assert "rotation" not in params  # the HAADF model has none
    assert raw["forward_model"]["params"]["pixel_size"]["start"] == 0.20716817  # the input is not changed
    validate_config(out, ROOT / "examples" / "cdte_twin")


def test_calibration_record_warns_beyond_tolerance(tmp_path, twin_model):
    image = _experiment(tmp_path, twin_model)
    params = {n: {"start": 0.0} for n in GEOMETRIC[1:]} | {"pixel_size": {"start": 0.22, "min": 0.12, "max": 0.35}}
    cfg = validate_config(_config(image, params, ), tmp_path)
    problem = build_problem(cfg)
    rec = calibration_record(problem, {"pixel_size": 0.23})
    assert rec["calibration"]["ratio"] == pytest.approx(1.15)
    assert rec["calibration"]["within_tolerance"] is False
    (text, level), = calibration_notes(rec)
    assert level == "warning" and "10 %" in text
    ok = calibration_record(problem, {"pixel_size": 0.21})
    assert calibration_notes(ok)[0][1] == "info"


def test_start_record_is_json_safe():
    from types import SimpleNamespace

    rec = start_record(SimpleNamespace(autostart={"parameters": ["pixel_size"], "uncertainty": {"pixel_size": float("nan")},
                                                  "_candidates": [object()], "rms": np.float64(np.inf)}))
    assert rec == {"parameters": ["pixel_size"], "uncertainty": {"pixel_size": None}, "rms": None}
    json.dumps(rec, allow_nan=False)


def test_preview_shows_peaks_and_estimate(tmp_path, twin_model):
    import tomli_w
    from click.testing import CliRunner

    from ingrained_core.cli.preview_cmd import preview

    image = _experiment(tmp_path, twin_model)
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(tomli_w.dumps(_config(image, _auto())))
    out = tmp_path / "preview.png"
    result = CliRunner().invoke(preview, [str(cfg), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "lattice peaks:" in result.output
    assert "automatic start (best lattice match" in result.output and "pixel_size 0.2" in result.output
    assert out.stat().st_size > 0
    noise = _experiment(tmp_path, twin_model, kind="noise")
    cfg.write_text(tomli_w.dumps(_config(noise, {})))
    result = CliRunner().invoke(preview, [str(cfg), "-o", str(out)])
    assert result.exit_code == 0 and "no lattice found" in result.output


@pytest.mark.slow
def test_global_stage_on_parallel_workers_ranks_like_the_serial_one(tmp_path, twin_model):
    """autostart.workers = 2: the starts are evaluated on the dask map (two tasks, each
    rebuilding the problem) and give the same FOMs, ranking and start as the serial stage."""
    image = _experiment(tmp_path, twin_model)
    serial = start_record(build_problem(validate_config(_config(image, _auto()), tmp_path)))
    data = _config(image, _auto())
    data["autostart"]["workers"] = 2
    parallel = start_record(build_problem(validate_config(data, tmp_path)))
    assert serial is not None and parallel is not None
    a, b = serial["global_stage"]["ranking"], parallel["global_stage"]["ranking"]
    assert len(a) == len(b) >= 4
    assert [r["values"] for r in a] == [r["values"] for r in b]
    assert [r["fom"] for r in a] == pytest.approx([r["fom"] for r in b], rel=1e-9)
    assert serial["start"] == parallel["start"]


def test_tied_global_stage_starts_become_the_runs_starts(tmp_path, twin_model):
    """Starts whose start FOM ties with the best (autostart.tie) each get a local search: they
    become optimizer.starts and optimizer.start_values, and the best end point wins."""
    import csv

    from ingrained_core.engine.multistart import start_points
    from ingrained_core.engine.run import fuse

    image = _experiment(tmp_path, twin_model)
    alone = build_problem(validate_config(_config(image, _auto()), tmp_path))  # tie 0.01: the twin's starts differ
    assert alone.config.optimizer.starts == 1 and alone.config.optimizer.start_values == []
    data = _config(image, _auto(), optimizer={"max_evals": 4, "executor": "serial"})
    data["autostart"].update(tie=1.0, local_searches=3)  # every start up to twice the best FOM ties
    problem = build_problem(validate_config(data, tmp_path))
    rec = start_record(problem)
    ls = rec["local_searches"]
    foms = [r["fom"] for r in rec["global_stage"]["ranking"] if r["fom"] is not None]
    assert ls["tied"] == len([f for f in foms if f <= 2.0 * min(foms)]) >= 3  # within 100 % of the best
    assert len(ls["starts"]) == 3 and ls["starts"][0] == rec["start"]
    for start in ls["starts"]:  # 6 decimals: the same start whatever the BLAS thread count
        assert all(round(v, 6) == v for v in start.values())
    assert ls["start_foms"] == sorted(ls["start_foms"])
    opt = problem.config.optimizer
    assert opt.starts == 3 and opt.start_values == ls["starts"][1:]
    # three searches, two go on: they would race, but a race of 500 is no shorter than this budget of 4
    assert opt.race_evals == ls["race_evals"] == 500 and ls["race_keep"] == 2
    assert any("they race: 500 evaluations each, then the best 2 go on" in n for n in rec["notices"])
    assert any("the local search runs from 3 of them" in n for n in rec["notices"])
    points = start_points(problem, 3, 0)
    for k in (1, 2):
        got = problem.space.values(points[k])
        assert all(got[n] == pytest.approx(ls["starts"][k][n], abs=1e-9) for n in GEOMETRIC)
    result = fuse(problem.config, tmp_path / "run")
    foms = []
    for k in range(3):
        with open(tmp_path / "run" / "starts" / f"{k:02d}" / "progress.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        first = rows[0]
        assert all(float(first[n]) == pytest.approx(ls["starts"][k][n], abs=1e-6) for n in GEOMETRIC)
        foms.append(min(float(r["fom"]) for r in rows))
    assert result.fom == pytest.approx(min(foms))
    assert "started_at" in result.best


def test_start_values_are_checked_and_used(tmp_path, twin_model):
    from ingrained_core.engine.multistart import start_points

    image = _experiment(tmp_path, twin_model)
    params = {"pixel_size": {"start": 0.22, "min": 0.12, "max": 0.35}, "shear_x": {"start": 0.0, "min": -0.1, "max": 0.1}}
    data = _config(image, params, optimizer={"starts": 3, "start_values": [{"pixel_size": 0.3}]})
    problem = build_problem(validate_config(data, tmp_path))
    points = start_points(problem, 3, 7)
    assert problem.space.values(points[1])["pixel_size"] == pytest.approx(0.3)
    assert problem.space.values(points[1])["shear_x"] == pytest.approx(0.0)  # the configured start
    plain = start_points(build_problem(validate_config(_config(image, params, optimizer={"starts": 3}), tmp_path)), 3, 7)
    assert np.array_equal(points[2], plain[2])  # a sampled start is the same draw with or without start_values
    bad = _config(image, params, optimizer={"starts": 2, "start_values": [{"pixel": 0.3}]})
    with pytest.raises(ConfigError, match=r"optimizer.start_values\[0\]: unknown parameter\(s\) pixel of forward "
                                          r"model 'haadf'"):
        build_problem(validate_config(bad, tmp_path))
