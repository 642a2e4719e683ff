"""Each preprocessing step on small synthetic images, against numpy/scipy/scikit-image directly."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from pydantic import ValidationError

from ingrained_core.plugin.image import ExperimentImage
from ingrained_core.engine.preprocess import (
    StepError,
    apply_steps,
    centred_square_edge,
    parse_steps,
)


@pytest.fixture()
def img() -> ExperimentImage:
    rng = np.random.default_rng(11)
    return ExperimentImage(rng.random((60, 80)), pixel_size=0.5, source=None)


def test_parse_from_toml_tables():
    text = """
[[preprocess]]
op = "rotate"
angle = 66
remove_collar = true

[[preprocess]]
op = "centre-crop"
size = 328

[[preprocess]]
op = "crop"
rows = [0, -26]
cols = [0, -26]

[[preprocess]]
op = "flip"
axis = "lr"
"""
    steps = parse_steps(tomllib.loads(text)["preprocess"])
    assert [type(s).__name__ for s in steps] == ["Rotate", "CentreCrop", "Crop", "Flip"]
    assert steps[0].remove_collar is True and steps[0].angle == 66


def test_unknown_op_and_unknown_field_are_errors():
    with pytest.raises(ValidationError, match="rotat"):
        parse_steps([{"op": "rotat", "angle": 3}])
    with pytest.raises(ValidationError, match="angel"):
        parse_steps([{"op": "rotate", "angel": 3}])
    with pytest.raises(ValidationError, match="exactly one of factor or pixel_size"):
        parse_steps([{"op": "rescale"}])
    with pytest.raises(ValidationError, match="either rows/cols or size"):
        parse_steps([{"op": "crop", "rows": [1, 2], "size": 4}])


def test_crop_slices_and_centred(img):
    out = apply_steps(img, [{"op": "crop", "rows": [5, -7], "cols": [10]}])
    np.testing.assert_array_equal(out.data, img.data[5:-7, 10:])
    out = apply_steps(img, [{"op": "crop", "size": [20, 30]}])
    np.testing.assert_array_equal(out.data, img.data[20:40, 25:55])
    assert out.pixel_size == 0.5


def test_crop_too_large_names_step(img):
    with pytest.raises(StepError, match=r"experiment.preprocess\[1\] \(centre-crop\) on a 50 x 80 image"):
        apply_steps(img, [{"op": "trim", "top": 10}, {"op": "centre-crop", "size": 70}])
    with pytest.raises(StepError, match="selects nothing"):
        apply_steps(img, [{"op": "crop", "rows": [50, 40]}])


def test_trim(img):
    out = apply_steps(img, [{"op": "trim", "top": 1, "bottom": 26, "left": 2, "right": 26}])
    np.testing.assert_array_equal(out.data, img.data[1:-26, 2:-26])


@pytest.mark.parametrize("angle", [66.0, -2.3, 120.0])
def test_rotate_matches_skimage_and_collar_rule(img, angle):
    from skimage.transform import rotate

    out = apply_steps(img, [{"op": "rotate", "angle": angle, "remove_collar": True}])
    edge = int(60 / (abs(math.cos(math.radians(angle))) + abs(math.sin(math.radians(angle))))) - 5
    assert out.shape == (edge, edge) == (centred_square_edge((60, 80), angle),) * 2
    r = rotate(img.data, angle, preserve_range=True)
    r0, c0 = (60 - edge) // 2, (80 - edge) // 2
    np.testing.assert_allclose(out.data, r[r0:r0 + edge, c0:c0 + edge], atol=1e-12)
    # no collar: every pixel inside the rotated footprint (no zero fill from outside)
    assert out.data.min() > 0


def test_rotate_keeps_range_and_shape_without_collar_removal():
    a = ExperimentImage(np.full((30, 30), 1000.0) + np.eye(30), pixel_size=None)
    out = apply_steps(a, [{"op": "rotate", "angle": 10}])
    assert out.shape == (30, 30)
    assert out.data.max() > 900  # range preserved, not rescaled to [0, 1]


def test_flip(img):
    np.testing.assert_array_equal(apply_steps(img, [{"op": "flip", "axis": "lr"}]).data, img.data[:, ::-1])
    np.testing.assert_array_equal(apply_steps(img, [{"op": "flip", "axis": "ud"}]).data, img.data[::-1])


def test_rescale_changes_pixel_size(img):
    out = apply_steps(img, [{"op": "rescale", "factor": 2}])
    assert out.shape == (120, 160)
    assert out.pixel_size == pytest.approx(0.25)
    out = apply_steps(img, [{"op": "rescale", "pixel_size": 1.0}])
    assert out.shape == (30, 40)
    assert out.pixel_size == pytest.approx(1.0)


def test_rescale_to_pixel_size_needs_calibration():
    a = ExperimentImage(np.random.default_rng(0).random((10, 10)), pixel_size=None)
    with pytest.raises(StepError, match="calibrated"):
        apply_steps(a, [{"op": "rescale", "pixel_size": 1.0}])


def test_filters_match_scipy(img):
    from scipy.ndimage import gaussian_filter, median_filter
    from scipy.signal import wiener

    np.testing.assert_allclose(apply_steps(img, [{"op": "gaussian", "sigma": 1.5}]).data,
                               gaussian_filter(img.data, 1.5, mode="reflect"))
    np.testing.assert_allclose(apply_steps(img, [{"op": "median", "size": 5}]).data,
                               median_filter(img.data, size=5, mode="reflect"))
    np.testing.assert_allclose(apply_steps(img, [{"op": "wiener", "size": 5}]).data, wiener(img.data, 5))
    # a filter reduces pixel noise
    assert apply_steps(img, [{"op": "gaussian", "sigma": 2}]).data.std() < 0.5 * img.data.std()


def test_clahe_range(img):
    out = apply_steps(img, [{"op": "clahe", "clip_limit": 0.02}])
    assert out.data.min() >= 0 and out.data.max() <= 1
    assert out.shape == img.shape


def test_plane_subtraction_removes_a_tilt():
    h, w = 40, 50
    y, x = np.mgrid[0:h, 0:w].astype(float)
    bumps = np.sin(x / 3.0) * np.cos(y / 4.0) * 1e-10
    tilted = bumps + 3e-9 * x - 1e-9 * y + 1.5e-7
    out = apply_steps(ExperimentImage(tilted, pixel_size=0.3), [{"op": "plane"}])
    fit = np.polyfit(x.ravel(), out.data.ravel(), 1)[0]
    assert abs(fit) < 1e-12
    assert abs(out.data.mean()) < 1e-12
    assert np.ptp(out.data) < 0.1 * np.ptp(tilted)
    quad = apply_steps(ExperimentImage(tilted + 1e-11 * x * x, pixel_size=0.3), [{"op": "plane", "order": 2}])
    assert np.ptp(quad.data) < 3e-10


def test_invert(img):
    out = apply_steps(img, [{"op": "invert"}])
    np.testing.assert_allclose(out.data, img.data.max() + img.data.min() - img.data)


def test_steps_are_recorded(img):
    out = apply_steps(img, [{"op": "flip", "axis": "lr"}, {"op": "rescale", "factor": 0.5}])
    rec = out.metadata["preprocess"]
    assert [r["op"] for r in rec] == ["flip", "rescale"]
    assert rec[1]["shape_in"] == [60, 80] and rec[1]["shape_out"] == [30, 40]
    assert rec[1]["pixel_size"] == pytest.approx(1.0)
    assert len(out.notices) == 2 and "rescale" in out.notices[1]
    # the input image is not modified
    assert "preprocess" not in img.metadata and img.notices == []
