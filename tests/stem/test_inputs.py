"""Bad input gives one clear error naming the parameter (or the structure's problem)."""

from __future__ import annotations

import pytest
from ingrained_stem.model import HaadfConvolution
from ingrained_stem.params import HaadfParams
from pydantic import ValidationError

from ingrained_core.plugin.errors import ConfigError, ParameterError

from .conftest import single_atom


def test_structure_without_atoms():
    from pymatgen.core import Lattice, Structure

    empty = Structure(Lattice.orthorhombic(4.0, 10.0, 10.0), [], [])
    with pytest.raises(ConfigError, match="structure: has no atoms"):
        HaadfConvolution(empty)


def test_element_without_scattering_parameters():
    # The table ends at Lr (Z = 103); oganesson has no parameters.
    with pytest.raises(ConfigError, match=r"Z=118 has no Kirkland scattering parameters"):
        HaadfConvolution(single_atom("Og"))


def test_dummy_species_is_not_an_element():
    from pymatgen.core import DummySpecies, Lattice, Structure

    structure = Structure(Lattice.orthorhombic(4.0, 10.0, 10.0), [DummySpecies("X")], [[0, 0.5, 0.5]])
    with pytest.raises(ConfigError, match="not an element"):
        HaadfConvolution(structure)


@pytest.mark.parametrize("value", [0.01, 1.5, -0.2])
def test_pixel_size_outside_its_bounds(value):
    with pytest.raises(ValidationError, match="pixel_size"):
        HaadfParams(pixel_size=value)


@pytest.mark.parametrize("name", ["crop_height", "crop_width"])
def test_crop_below_the_minimum(name):
    with pytest.raises(ValidationError, match=name):
        HaadfParams(**{name: 21})


def test_crops_are_rounded_to_odd_sizes():
    params = HaadfParams(crop_height=200, crop_width=152.4)
    assert (params.crop_height, params.crop_width) == (201, 153)


def test_detector_outer_must_exceed_inner():
    model = HaadfConvolution(single_atom("Au"))
    with pytest.raises(ParameterError, match="detector_outer"):
        model.simulate(HaadfParams(detector_inner=150.0, detector_outer=100.0, crop_height=101, crop_width=101))


def test_cell_too_small_for_the_minimum_crop():
    model = HaadfConvolution(single_atom("Au", height=10.0))  # 10 Å = 25 px at 0.4 Å
    with pytest.raises(ParameterError, match="crop_height"):
        model.simulate(HaadfParams(pixel_size=0.4))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beam_axis": "x"}, "beam_axis"),
        ({"horizontal_axis": "d"}, "horizontal_axis"),
        ({"beam_axis": "b", "horizontal_axis": "b"}, "horizontal_axis"),
        ({"tiles": 0}, "tiles"),
        ({"thickness": 3.0}, "thickness: Extra inputs are not permitted"),
    ],
)
def test_bad_model_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        HaadfConvolution(single_atom("Au"), **kwargs)


def test_non_orthogonal_cell():
    from pymatgen.core import Lattice, Structure

    hexagonal = Structure(Lattice.hexagonal(4.0, 10.0), ["Si"], [[0, 0, 0.5]])
    with pytest.raises(ConfigError, match="orthogonal cell"):
        HaadfConvolution(hexagonal)


def test_grain_labels_must_be_zero_or_one():
    structure = single_atom("Au")
    structure.add_site_property("grain", [2])
    with pytest.raises(ConfigError, match="grain"):
        HaadfConvolution(structure)


def test_params_given_as_a_mapping_are_validated():
    model = HaadfConvolution(single_atom("Au"))
    with pytest.raises(ParameterError, match="source_size"):
        model.simulate({"source_size": -1.0})
    image = model.simulate({"crop_height": 101, "crop_width": 101})
    assert image.array.shape == (101, 101)
