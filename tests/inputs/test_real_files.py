"""The real files of examples/ through read_image and the published preprocessing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ingrained_core.engine.experiment import ExperimentConfig, load_experiment
from ingrained_core.engine.reading import read_image
from ingrained_core.engine.preprocess import apply_steps

TWIN_STEPS = [
    {"op": "rotate", "angle": 66, "remove_collar": True},
    {"op": "centre-crop", "size": 328},
    {"op": "crop", "rows": [0, -26], "cols": [0, -26]},
    {"op": "flip", "axis": "lr"},
]

NI_STEPS = [
    {"op": "crop", "rows": [380, -240], "cols": [370, -30]},
    {"op": "rotate", "angle": -2.3, "remove_collar": True},
]


def test_dm3_shape_and_calibration(twin_dm3):
    im = read_image(twin_dm3)
    assert im.shape == (512, 512)
    assert im.data.dtype == np.float64
    assert im.pixel_size == pytest.approx(0.20216817, abs=5e-9)
    assert im.metadata["reader"] == "dm"
    assert im.source == twin_dm3


def test_dm3_pixels_match_ncempy(twin_dm3):
    """Two independent DM readers (rosettasciio here, ncempy in the test) agree pixel for pixel."""
    import ncempy.io as nio

    ref = nio.read(twin_dm3)
    im = read_image(twin_dm3)
    np.testing.assert_array_equal(im.data, np.asarray(ref["data"], dtype=float))
    assert im.pixel_size == pytest.approx(float(ref["pixelSize"][0]) * 10, rel=1e-6)


def test_twin_preprocessing_is_302_and_matches_direct_chain(twin_dm3):
    from skimage.transform import rotate

    im = apply_steps(read_image(twin_dm3), TWIN_STEPS)
    assert im.shape == (302, 302)
    assert im.pixel_size == pytest.approx(0.20216817, abs=5e-9)
    # the same chain written out with scikit-image / numpy
    raw = read_image(twin_dm3).data
    edge = int(512 / (math.cos(math.radians(66)) + math.sin(math.radians(66)))) - 5
    assert edge == 382
    r = rotate(raw, 66, preserve_range=True)
    s = (512 - edge) // 2
    r = r[s:s + edge, s:s + edge]
    c = (edge - 328) // 2
    r = r[c:c + 328, c:c + 328][:-26, :-26][:, ::-1]
    for (i, j) in [(0, 0), (0, 301), (301, 0), (150, 151), (77, 203), (301, 301)]:
        assert im.data[i, j] == pytest.approx(r[i, j], rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(im.data, r, rtol=0, atol=1e-9)
    assert [p["op"] for p in im.metadata["preprocess"]] == ["rotate", "centre-crop", "crop", "flip"]
    assert im.metadata["preprocess"][0]["shape_out"] == [382, 382]


def test_twin_trim_form_equals_crop_form(twin_dm3):
    raw = read_image(twin_dm3)
    trim_steps = TWIN_STEPS[:2] + [{"op": "trim", "bottom": 26, "right": 26}] + TWIN_STEPS[3:]
    a = apply_steps(raw, TWIN_STEPS)
    b = apply_steps(raw, trim_steps)
    np.testing.assert_array_equal(a.data, b.data)


def test_ni_tiff_is_greyscale_with_notice(ni_tif):
    import tifffile

    im = read_image(ni_tif)
    assert im.shape == (1024, 1024)
    assert im.pixel_size is None
    assert any("greyscale" in n for n in im.notices)
    assert any("pixel size unknown" in n for n in im.notices)
    rgb = tifffile.imread(ni_tif)
    np.testing.assert_array_equal(im.data, rgb[..., 1].astype(float))


def test_ni_preprocessing_404x624_then_383(ni_tif):
    raw = read_image(ni_tif)
    cropped = apply_steps(raw, NI_STEPS[:1])
    assert cropped.shape == (404, 624)
    np.testing.assert_array_equal(cropped.data, raw.data[380:-240, 370:-30])
    im = apply_steps(raw, NI_STEPS)
    assert im.shape == (383, 383)
    assert int(404 / (math.cos(math.radians(2.3)) + math.sin(math.radians(2.3)))) - 5 == 383


def test_stm_text_heights_and_pixel(stm_txt):
    im = read_image(stm_txt)
    assert im.shape == (512, 512)
    assert im.pixel_size == pytest.approx(150 / 512)
    assert round(im.pixel_size, 3) == 0.293
    assert im.metadata["value_units"] == "m"
    assert im.metadata["reader"] == "stm-text"
    # heights stay in metres, as in the file
    assert im.data[0, 0] == pytest.approx(-1.4807e-07)
    assert 1e-11 < np.ptp(im.data) < 1e-8


def test_stm_region_150(stm_txt):
    cfg = ExperimentConfig(path=stm_txt, region=(220, 370, 140, 290))
    im = load_experiment(cfg)
    assert im.shape == (150, 150)
    full = read_image(stm_txt).data
    np.testing.assert_array_equal(im.data, full[220:370, 140:290])
    assert im.pixel_size == pytest.approx(150 / 512)
