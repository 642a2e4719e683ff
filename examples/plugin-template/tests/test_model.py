"""The template model keeps the forward-model contract (the conformance kit checks it all)."""

from ingrained_gaussian_lattice.model import GaussianLattice

from ingrained_core.testing import check_forward_model


def test_gaussian_lattice_passes_the_conformance_kit():
    check_forward_model(GaussianLattice, {"crop_height": 41, "crop_width": 51, "rotation": 10.0})


def test_options_are_validated_and_used():
    import pytest

    from ingrained_core.plugin import ConfigError

    assert GaussianLattice(background=0.5).simulate({"crop_height": 21, "crop_width": 21}).array.min() >= 0.5
    with pytest.raises(ConfigError, match="did you mean 'background'"):
        GaussianLattice(backgroud=0.5)
