"""Parameter models and the run-level parameter space."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ingrained_core.plugin.errors import ParameterError
from ingrained_core.plugin.params import ModelParams, ParameterSpace, ParamSpec, nearest_odd, param_field


class P(ModelParams):
    pixel_size: float = param_field(0.2, ge=0.05, le=0.4, unit="Å", description="pixel")
    blur: float = param_field(1.0, ge=0.0, le=2.0, unit="Å", description="blur")
    energy: float = param_field(200.0, ge=60.0, le=300.0, unit="keV", description="energy", free=False)
    crop_height: int = param_field(101, ge=35, le=301, unit="px", kind="odd_int", description="rows")


def test_bounds_units_and_descriptions_are_declared() -> None:
    d = P.describe()
    assert d["pixel_size"] == {"default": 0.2, "min": 0.05, "max": 0.4, "unit": "Å", "description": "pixel",
                               "free": True, "kind": "float"}
    assert d["energy"]["free"] is False and d["crop_height"]["kind"] == "odd_int"


def test_invalid_value_names_the_field() -> None:
    with pytest.raises(ValidationError) as exc:
        P(pixel_size=0.5)
    assert "pixel_size" in str(exc.value)
    with pytest.raises(ValidationError):
        P(unknown=1.0)


@pytest.mark.parametrize("value,expected", [(100, 101), (101, 101), (102.9, 103), (35.2, 35), (36, 37)])
def test_odd_rounding(value: float, expected: int) -> None:
    assert nearest_odd(value) == expected
    assert P(crop_height=value).crop_height == expected


def test_space_fixes_and_narrows() -> None:
    space = ParameterSpace(P, {"pixel_size": ParamSpec(start=0.21, min=0.1, max=0.3), "blur": ParamSpec.model_validate(1.5)})
    assert space.free_names == ["pixel_size", "crop_height"]
    assert space.fixed == {"blur": 1.5, "energy": 200.0}
    values = space.values(space.x0)
    assert values["pixel_size"] == pytest.approx(0.21) and values["blur"] == 1.5
    # out-of-box proposals are clipped, never outside the bounds
    clipped = space.values(np.array([1.7, -3.0]))
    assert clipped["pixel_size"] == pytest.approx(0.3) and clipped["crop_height"] == 35
    assert space.to_unit(values) == pytest.approx(space.x0)


def test_space_frees_an_optics_parameter() -> None:
    space = ParameterSpace(P, {"energy": ParamSpec(fixed=False, min=180, max=220)})
    assert "energy" in space.free_names


@pytest.mark.parametrize(
    "specs,fragment",
    [
        ({"pixel": ParamSpec(start=0.2)}, "unknown parameter(s) pixel"),
        ({"pixel_size": ParamSpec(min=0.01)}, "exceed the model's allowed range"),
        ({"pixel_size": ParamSpec(start=0.39, max=0.3)}, "start 0.39 is outside its bounds"),
    ],
)
def test_space_errors_name_the_parameter(specs: dict, fragment: str) -> None:
    with pytest.raises(ParameterError) as exc:
        ParameterSpace(P, specs)
    assert fragment in str(exc.value)


def test_paramspec_min_greater_than_max() -> None:
    with pytest.raises(ValidationError) as exc:
        ParamSpec(min=2, max=1)
    assert "greater than max" in str(exc.value)
