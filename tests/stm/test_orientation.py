"""Lattice orientation: the model's full coordinate map, the published code's map, and the image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ingrained_stm import orientation as O
from ingrained_stm.params import StmParams

#: The published best point of the Cu2O run (data/README.md).
PAPER_BEST = {"shear_x": 0.0757, "shear_y": -0.2462, "stretch_x": -0.0200, "stretch_y": -0.1746,
              "rotation": 113.18, "pixel_size": 0.27159}
HEX = np.array([[6.038, 0.0], [3.019, 6.038 * math.sqrt(3) / 2]])


def test_undistorted_hexagonal_lattice_points_along_the_rotation():
    for rot in (0.0, 17.0, 110.0, 233.5):
        p = {"rotation": rot, "pixel_size": 0.3}
        assert O.angle_difference(O.lattice_orientation(p, HEX), rot) == pytest.approx(0.0, abs=1e-9)
        v = O.lattice_vectors_px(p, HEX)
        assert np.allclose(np.linalg.norm(v, axis=1), 6.038 / 0.3, rtol=1e-3)
        assert O.direction_mismatch(O.directions(v), np.array([(rot + k) % 180 for k in (0, 60, 120)])) < 1e-9


def test_angle_helpers():
    assert O.angle_difference(2.0, 58.0) == pytest.approx(4.0)
    assert O.angle_difference(44.0, 47.5) == pytest.approx(-3.5)
    assert O.orientation(np.array([10.0, 70.0, 130.0])) == pytest.approx(10.0)
    assert O.direction_mismatch(np.array([10.0, 70.0, 130.0]), np.array([131.0, 9.0, 70.5])) == pytest.approx(1.0)
    assert O.direction_mismatch(np.array([179.0, 60.0, 120.0]), np.array([1.0, 60.0, 120.0])) == pytest.approx(2.0)


def test_predicted_lattice_is_the_one_measured_on_the_simulated_image(hex_density):
    """The formula is this model's map: shear, stretch and rotation all included."""
    from ingrained_stm.model import TersoffHamannSTM

    model = TersoffHamannSTM(hex_density)
    params = StmParams(z_below=1.0, z_above=2.0, r_val=float(np.median(model.surface.plane(1.0))),
                       shear_x=0.12, shear_y=-0.2, stretch_x=0.06, stretch_y=-0.15, rotation=23.0,
                       pixel_size=0.3, sigma=1.0, crop_height=121, crop_width=121)
    image = model.simulate(params).array
    measured = O.measure_lattice(image)
    predicted = O.lattice_vectors_px(params, model.surface.lattice)
    assert O.direction_mismatch(measured["directions"], O.directions(predicted)) < 0.5
    assert sorted(measured["lengths"]) == pytest.approx(sorted(np.linalg.norm(predicted, axis=1)), rel=0.01)
    # the rotation parameter alone is several degrees away from the lattice orientation here
    assert abs(O.angle_difference(O.lattice_orientation(params, model.surface.lattice), 23.0)) > 3.0


def test_published_map_of_a_hexagonal_density():
    """Rows not rescaled by sqrt(3)/2: undistorted directions 0, 63.4, 116.6; b's sign is immaterial."""
    p = {"pixel_size": 1.0}
    v = O.published_lattice_vectors_px(p, HEX)
    assert sorted(O.directions(v)) == pytest.approx([0.0, 63.435, 116.565], abs=1e-3)
    assert sorted(np.linalg.norm(v, axis=1) / 6.038) == pytest.approx([1.0, 1.118, 1.118], abs=1e-3)
    mirrored_b = HEX * np.array([[1.0, 1.0], [-1.0, 1.0]])
    for params in (p, PAPER_BEST):
        a = O.directions(O.published_lattice_vectors_px(params, HEX))
        b = O.directions(O.published_lattice_vectors_px(params, mirrored_b))
        assert O.direction_mismatch(a, b) < 1e-9


@pytest.fixture(scope="module")
def cu2o_experiment(stm_data):
    """The published region of the real topograph, tilt plane removed (as the example)."""
    from ingrained_core.engine.experiment import ExperimentConfig, load_experiment

    cfg = ExperimentConfig(
        path=stm_data / "03h_Cu2O_111_034_fwd_z_plane.txt",
        preprocess=[{"op": "crop", "rows": [220, 370], "cols": [140, 290]}, {"op": "plane", "order": 1}],
    )
    return load_experiment(cfg).data


def test_published_best_reproduces_the_lattice_measured_on_the_experiment(cu2o_experiment):
    """Ground truth: the published fit and the real image agree on where the lattice points."""
    measured = O.measure_lattice(cu2o_experiment)
    assert measured["orientation"] == pytest.approx(43.4, abs=1.0)
    paper = O.published_lattice_vectors_px(PAPER_BEST, HEX)
    assert O.direction_mismatch(measured["directions"], O.directions(paper)) < 3.0
    assert sorted(measured["lengths"]) == pytest.approx(sorted(np.linalg.norm(paper, axis=1)), rel=0.07)
    assert abs(O.angle_difference(O.published_lattice_orientation(PAPER_BEST, HEX), measured["orientation"])) < 1.5
    # the same numbers put through this model's map point elsewhere: conventions differ
    assert abs(O.angle_difference(O.lattice_orientation(PAPER_BEST, HEX), measured["orientation"])) > 15.0
