"""The image side: the periodic cell image rendered to the crop (pure numpy, no abTEM)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ingrained_stem.params import HaadfParams
from scipy import ndimage

from ingrained_core.plugin.distortion import distortion_matrix


def _filter(kx, ky, *, p, d, m):
    """The image-side transfer at cell frequency (kx, ky up): source Gaussian, pixel box, Nyquist."""
    minv_t = np.linalg.inv(m).T
    k1, k2 = minv_t @ np.array([kx, -ky])
    if abs(k1) >= 0.5 / p or abs(k2) >= 0.5 / p:
        return 0.0
    g = math.exp(-(math.pi**2) * (0.5 * d) ** 2 * (kx * kx + ky * ky) / math.log(2.0))
    return g * np.sinc(k1 * p) * np.sinc(k2 * p)


def test_render_equals_the_filtered_fourier_series():
    """Random cosines on the cell lattice: every output pixel against the series evaluated there."""
    from ingrained_abtem.render import PeriodicImage, render

    rng = np.random.default_rng(3)
    width, height, nx, ny = 9.3, 12.1, 47, 61
    waves = [(int(rng.integers(-8, 9)), int(rng.integers(-10, 11)), rng.uniform(0.2, 1.0), rng.uniform(0, 6.3))
             for _ in range(12)]
    x = np.arange(nx) * width / nx
    y = np.arange(ny) * height / ny
    X, Y = np.meshgrid(x, y)
    cell = np.full((ny, nx), 2.0)
    for m_, n_, a, phi in waves:
        cell += a * np.cos(2 * np.pi * (m_ * X / width + n_ * Y / height) + phi)
    image = PeriodicImage(cell, width, height, band=0.5 * min(nx / width, ny / height))
    p, d = 0.23, 0.4
    dist = {"shear_x": 0.07, "shear_y": -0.04, "stretch_x": 0.05, "stretch_y": -0.06}
    m = distortion_matrix(**dist)
    out = render(image, (41, 37), pixel_size=p, source_size=d, matrix=m)
    minv = np.linalg.inv(m)
    expected = np.empty_like(out)
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            s = minv @ np.array([c - 18.0, r - 20.0])
            px, py = 0.5 * width + s[0] * p, 0.5 * height - s[1] * p
            v = 2.0
            for m_, n_, a, phi in waves:
                kx, ky = m_ / width, n_ / height
                v += a * _filter(kx, ky, p=p, d=d, m=m) * math.cos(2 * np.pi * (kx * px + ky * py) + phi)
            expected[r, c] = v
    assert np.abs(out - expected).max() < 2e-3 * np.ptp(expected)


@pytest.mark.parametrize(("vertical", "shear"), [(None, None), ("down", "forward"), ("up", "inverse")])
def test_geometry_matches_the_convolution_models_columns(small_cell, vertical, shear):
    """Sharp periodic spots at the specimen's columns land where 'haadf' puts its columns."""
    from ingrained_abtem.model import HaadfMultislice
    from ingrained_abtem.render import PeriodicImage, render
    from ingrained_abtem.specimen import specimen_at

    model = HaadfMultislice(small_cell, vertical=vertical, shear=shear)
    params = HaadfParams(pixel_size=0.2, interface_width=0.4, source_size=0.0, shear_x=0.06, shear_y=-0.03,
                         stretch_x=0.04, stretch_y=-0.05, crop_height=55, crop_width=61)
    spec = specimen_at(model.projection, model._numbers, params.interface_width, 10.0)
    step = 0.1
    nx, ny = round(spec.width / step), round(spec.height / step)
    x = np.arange(nx) * spec.width / nx
    y = np.arange(ny) * spec.height / ny
    X, Y = np.meshgrid(x, y)
    cell = np.zeros((ny, nx))
    sigma = 0.3
    for px, py in {(round(a, 6), round(b, 6)) for a, b in spec.positions[:, :2]}:
        dx = (X - px + 0.5 * spec.width) % spec.width - 0.5 * spec.width
        dy = (Y - py + 0.5 * spec.height) % spec.height - 0.5 * spec.height
        cell += np.exp(-(dx * dx + dy * dy) / (2 * sigma**2))
    image = render(PeriodicImage(cell, spec.width, spec.height, band=5.0), (55, 61), pixel_size=0.2,
                   source_size=0.0, matrix=model.distortion(params))
    if model.vertical == "down":
        image = image[::-1]
    cols = model.convolution.column_positions(params)
    peaks = np.argwhere((ndimage.maximum_filter(image, size=5) == image) & (image > 0.5 * image.max()))
    inner = [(r, c) for r, c in zip(cols["row"], cols["col"]) if 5 < r < 49 and 5 < c < 55]
    assert len(inner) >= 10
    for r, c in inner:
        # sub-pixel peak: a parabola through the log of the maximum and its neighbours (exact
        # for a Gaussian spot) along each axis
        pr, pc = peaks[np.argmin(np.hypot(peaks[:, 0] - r, peaks[:, 1] - c))]
        lg = np.log(np.maximum(image[pr - 1 : pr + 2, pc - 1 : pc + 2], 1e-300))
        cr = pr + 0.5 * (lg[0, 1] - lg[2, 1]) / (lg[0, 1] - 2 * lg[1, 1] + lg[2, 1])
        cc_ = pc + 0.5 * (lg[1, 0] - lg[1, 2]) / (lg[1, 0] - 2 * lg[1, 1] + lg[1, 2])
        assert math.hypot(cr - r, cc_ - c) < 0.15, (r, c, cr, cc_)


def test_any_distortion_matrix_is_one_shear_stretch():
    from ingrained_abtem.render import as_shear_stretch

    h_inv = np.linalg.inv(np.array([[1.0, 0.08], [-0.05, 1.0]]))
    m = np.diag([1.03, 0.96]) @ h_inv  # the 'inverse' shear convention
    assert distortion_matrix(**as_shear_stretch(m)) == pytest.approx(m, abs=1e-12)


def test_render_is_deterministic_and_band_limited():
    from ingrained_abtem.render import PeriodicImage, render

    rng = np.random.default_rng(0)
    cell = PeriodicImage(rng.random((40, 30)), 6.0, 8.0, band=2.5)
    m = distortion_matrix(shear_x=0.1)
    a = render(cell, (35, 35), pixel_size=0.15, source_size=1.0, matrix=m)
    b = render(cell, (35, 35), pixel_size=0.15, source_size=1.0, matrix=m)
    assert np.array_equal(a, b) and np.isfinite(a).all()
    # the mean of a periodic image survives the filters (zero frequency untouched)
    flat = render(PeriodicImage(np.full((40, 30), 0.25), 6.0, 8.0, band=2.5), (35, 35), pixel_size=0.15,
                  source_size=1.0, matrix=distortion_matrix(stretch_y=0.2))
    assert flat == pytest.approx(np.full((35, 35), 0.25), abs=1e-12)
