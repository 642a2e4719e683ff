"""The STM plugin is discovered through its entry point, cheaply, and its parameters are sane."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ingrained_core.plugin.params import ParameterSpace, ParamSpec
from ingrained_stm.params import StmParams


def test_entry_point_module_imports_nothing_heavy():
    code = (
        "import sys, ingrained_stm.plugin as p; "
        "c = p.ingrained_forward_models(); "
        "heavy = [m for m in ('numpy', 'scipy', 'pymatgen', 'ase') if m in sys.modules]; "
        "print(c[0].name, c[0].target, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "stm ingrained_stm.model:TersoffHamannSTM []"


def test_registry_finds_and_loads_the_stm_model():
    from ingrained_core.engine.registry import Registry

    reg = Registry()
    rows = [r for r in reg.records if r.kind == "forward_model" and r.name == "stm"]
    assert len(rows) == 1 and rows[0].status == "ok", [r.as_dict() for r in rows]
    cls = rows[0].contribution.load()
    assert cls.name == "stm" and cls.Params is StmParams and cls.input_kind == "file"


def test_parameter_names_follow_the_architecture():
    assert list(StmParams.model_fields) == [
        "z_below", "z_above", "r_val", "r_tol", "shear_x", "shear_y", "stretch_x", "stretch_y",
        "rotation", "pixel_size", "sigma", "crop_height", "crop_width", "tip_radius",
    ]


def test_bounds_hold_the_published_start_and_best_points():
    start = dict(z_below=1, z_above=1, r_val=0.016, r_tol=0.015, shear_x=0, shear_y=0, stretch_x=0,
                 stretch_y=0, rotation=110, pixel_size=0.27, sigma=0, crop_height=101, crop_width=101)
    best = dict(z_below=0.974, z_above=2.249, r_val=0.01557, r_tol=0.01539, shear_x=0.0757, shear_y=-0.2462,
                stretch_x=-0.0200, stretch_y=-0.1746, rotation=113.18, pixel_size=0.27159, sigma=3.43,
                crop_height=79, crop_width=79)
    assert StmParams(**start).rotation == 110
    assert StmParams(**best).shear_y == pytest.approx(-0.2462)
    d = StmParams.describe()
    assert d["pixel_size"]["min"] <= 0.05 and d["pixel_size"]["max"] >= 0.4
    for name in ("shear_x", "shear_y", "stretch_x", "stretch_y"):
        assert d[name]["min"] <= -0.5 and d[name]["max"] >= 0.5
    assert d["rotation"]["min"] == 0 and d["rotation"]["max"] == 360
    assert d["tip_radius"]["free"] is False and d["tip_radius"]["default"] == 0


def test_crop_sizes_are_rounded_to_odd_and_bad_values_name_the_field():
    p = StmParams(crop_height=80, crop_width=100.4)
    assert (p.crop_height, p.crop_width) == (81, 101)
    with pytest.raises(Exception, match="shear_y"):
        StmParams(shear_y=0.9)


def test_parameter_space_accepts_a_narrowed_r_val_box():
    space = ParameterSpace(StmParams, {"r_val": ParamSpec(start=0.01, min=0.001, max=0.1), "rotation": ParamSpec(start=110)})
    assert "r_val" in space.free_names and "r_tol" not in space.free_names
    assert space.to_params(space.x0).r_val == pytest.approx(0.01)


def test_model_passes_the_conformance_kit(hex_density):
    from ingrained_stm.model import TersoffHamannSTM

    from ingrained_core.testing import check_forward_model

    params = {"pixel_size": 0.25, "crop_height": 41, "crop_width": 45, "r_val": 3e-4, "z_above": 5.0, "rotation": 20.0}
    # outside the domain: bounds, and an iso-density value the density never reaches
    invalid = [{"pixel_size": 2.0}, {"crop_width": 9}, {"r_val": 900.0}]
    check_forward_model(TersoffHamannSTM, params, input=hex_density, invalid=invalid)
