"""Multislice against the convolution model on a small CdTe [110] cell (needs abTEM).

Coarse settings (0.1 Å sampling, a 50-80 mrad ADF detector, 23 Å thick, static lattice,
PRISM without interpolation) keep the one simulation of the module under ~15 s on 2 cores;
every test reuses it through the model's cache.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from ingrained_stem.params import HaadfParams
from scipy import ndimage

from .conftest import SMALL_OPTIONS, SMALL_PARAMS

pytestmark = pytest.mark.abtem


@pytest.fixture(scope="module")
def pair(need_abtem, small_cell):
    """(multislice model, its image, convolution model, its image, the HaadfParams)."""
    from ingrained_abtem.model import HaadfMultislice
    from ingrained_stem.model import HaadfConvolution

    ms = HaadfMultislice(small_cell, **SMALL_OPTIONS)
    ms_image = ms.simulate(SMALL_PARAMS)
    conv = HaadfConvolution(small_cell)
    hp = HaadfParams(**{k: v for k, v in SMALL_PARAMS.items() if k in HaadfParams.model_fields})
    return ms, ms_image, conv, conv.simulate(hp), hp


def _peaks(image: np.ndarray) -> np.ndarray:
    mx = ndimage.maximum_filter(image, size=5, mode="nearest") == image
    return np.argwhere(mx & (image > image.min() + 0.4 * np.ptp(image)))


def test_images_correlate_and_share_the_crop(pair):
    _, ms_image, _, conv_image, _ = pair
    a, b = ms_image.array, conv_image.array
    assert a.shape == b.shape == (51, 41)
    assert np.isfinite(a).all() and a.min() >= 0
    za = (a - a.mean()) / a.std()
    zb = (b - b.mean()) / b.std()
    assert float(np.mean(za * zb)) >= 0.8
    assert ms_image.metadata["crop_height"] == 51 and ms_image.metadata["notices"] == []
    info = ms_image.metadata["multislice"]
    assert info["repeats"] == 5 and info["thickness"] == pytest.approx(5 * 4.5820519, abs=1e-3)


def test_column_positions_agree_within_one_pixel(pair):
    """Every column inside the crop has a peak within one pixel in both images."""
    ms, ms_image, _, conv_image, hp = pair
    cols = ms.column_positions(hp)
    inner = [(r, c) for r, c in zip(cols["row"], cols["col"]) if 3 <= r <= 47 and 3 <= c <= 37]
    assert len(inner) >= 6
    for image in (ms_image.array, conv_image.array):
        peaks = _peaks(image)
        for r, c in inner:
            assert np.min(np.hypot(peaks[:, 0] - r, peaks[:, 1] - c)) <= 1.0, (r, c)


def test_heavier_columns_are_brighter_in_both(pair):
    ms, ms_image, _, conv_image, hp = pair
    cols = ms.column_positions(hp)
    for image in (ms_image.array, conv_image.array):
        values = ndimage.map_coordinates(image, [cols["row"], cols["col"]], order=1)
        te = values[cols["symbols"] == "Te"].mean()
        cd = values[cols["symbols"] == "Cd"].mean()
        assert te > cd


def test_image_side_changes_reuse_the_cell_image(pair):
    ms, ms_image, _, _, _ = pair
    before = dict(ms.stats)
    moved = ms.simulate({**SMALL_PARAMS, "pixel_size": 0.18, "source_size": 1.1, "shear_y": 0.05})
    assert ms.stats["computed"] == before["computed"] and ms.stats["hits"] == before["hits"] + 1
    assert moved.array.shape == (51, 41) and not np.allclose(moved.array, ms_image.array)
    again = ms.simulate(SMALL_PARAMS)
    assert np.array_equal(again.array, ms_image.array)  # same parameters, same image bit for bit


def test_defocus_change_reuses_the_s_matrix_and_blurs(pair):
    ms, ms_image, _, _, _ = pair
    built = ms._simulator._built
    computed = ms.stats["computed"]
    blurred = ms.simulate({**SMALL_PARAMS, "defocus": 60.0})
    assert ms.stats["computed"] == computed + 1 and ms._simulator._built is built  # reduction only
    assert np.ptp(blurred.array) < np.ptp(ms_image.array)  # 60 Å off focus: less contrast


def test_sampling_limit_matches_abtems_antialiasing(need_abtem):
    import abtem
    from ingrained_abtem.plan import max_scattering_angle

    probe = abtem.Probe(energy=200e3, semiangle_cutoff=30, sampling=0.05, extent=10.0)
    assert min(probe.cutoff_angles) == pytest.approx(max_scattering_angle(0.05, 200.0), rel=0.01)


def test_prism_beam_count_matches_abtem(need_abtem, small_cell):
    import abtem
    from ingrained_abtem.plan import prism_beams

    for interp in ((1, 1), (2, 3)):
        s = abtem.SMatrix(semiangle_cutoff=30, energy=200e3, extent=(9.16, 12.96), gpts=(96, 132),
                          interpolation=interp)
        assert abs(len(s.wave_vectors) - prism_beams(9.16, 12.96, interp, 200.0, 30.0)) <= 0.02 * len(s.wave_vectors)


def test_missing_inputs_and_bad_values(pair):
    from ingrained_core.plugin.errors import ParameterError

    ms = pair[0]
    with pytest.raises(ParameterError, match="detector_outer: must exceed detector_inner"):
        ms.simulate({**SMALL_PARAMS, "detector_inner": 80.0, "detector_outer": 60.0})
    with pytest.raises(ParameterError, match="thickness"):
        ms.simulate({**SMALL_PARAMS, "thickness": -1.0})
    assert math.isfinite(ms.plan(SMALL_PARAMS).memory_gib)


def test_model_passes_the_conformance_kit(pair):
    from ingrained_core.testing import check_forward_model

    ms = pair[0]  # the module's instance: its cell image is cached, so only the image side reruns
    invalid = [{"pixel_size": 2.0}, {"thickness": -1.0}, {"detector_inner": 80.0, "detector_outer": 60.0}]
    report = check_forward_model(ms, SMALL_PARAMS, invalid=invalid)
    assert report["pixel_size"] == SMALL_PARAMS.get("pixel_size", report["pixel_size"])
