"""The two SSIM similarities: definitions, ranges, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.builtins.similarity import FloatSSIM7, PaperSSIM, to_uint8


@pytest.fixture()
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:80, 0:90]
    a = np.sin(x / 3.0) * np.cos(y / 4.0)
    return a, a + rng.normal(0, 0.3, a.shape)


def test_identical_images_have_zero_distance(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, _ = pair
    assert PaperSSIM().distance(a, a) == 0.0
    assert FloatSSIM7().distance(a, 3 * a + 5) == pytest.approx(0.0, abs=1e-12)


def test_paper_definition_is_8bit_floor_and_window_35(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    ua = np.floor((a - a.min()) / (a.max() - a.min()) * 255).astype(np.uint8)
    ub = np.floor((b - b.min()) / (b.max() - b.min()) * 255).astype(np.uint8)
    expected = 1 - structural_similarity(ua, ub, win_size=35, data_range=255)
    assert PaperSSIM().distance(a, b) == pytest.approx(expected, abs=1e-15)
    assert np.array_equal(to_uint8(a), ua)


def test_range_and_ordering(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    for sim in (PaperSSIM(), FloatSSIM7()):
        d_noisy = sim.distance(a, b)
        d_inverted = sim.distance(a, -a)
        assert 0 < d_noisy < d_inverted <= 2.0
    # the 7-pixel float variant reads larger for the same (noisy) fit
    assert FloatSSIM7().distance(a, b) > PaperSSIM().distance(a, b)


def test_errors_name_the_problem(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, _ = pair
    with pytest.raises(ConfigError, match="same shape"):
        PaperSSIM().distance(a, a[:-1])
    with pytest.raises(ConfigError, match="window 35 px is larger"):
        PaperSSIM().distance(a[:30, :30], a[:30, :30])


def test_both_equal_scikit_image_on_real_patches(twin_experiment: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    exp = twin_experiment
    for h, w in ((201, 167), (195, 153), (35, 40), (80, 61)):
        r, c = int(rng.integers(0, 302 - h)), int(rng.integers(0, 302 - w))
        a = exp[r : r + h, c : c + w]
        b = exp[r + 1 : r + 1 + h, c : c + w] + rng.normal(0, 0.3 * exp.std(), (h, w))
        paper = 1 - structural_similarity(to_uint8(a), to_uint8(b), win_size=35, data_range=255)
        assert PaperSSIM().distance(a, b) == pytest.approx(paper, abs=1e-12)
        ua, ub = ((x - x.min()) / (x.max() - x.min()) for x in (a, b))
        float7 = 1 - structural_similarity(ua, ub, win_size=7, data_range=1.0)
        assert FloatSSIM7().distance(a, b) == pytest.approx(float7, abs=1e-12)


def test_patch_with_itself_and_affine_intensity_copies_are_zero(twin_experiment: np.ndarray) -> None:
    patch = twin_experiment[50:251, 60:227]
    for sim in (PaperSSIM(), FloatSSIM7()):
        assert sim.distance(patch, patch.copy()) == 0.0
        assert sim.distance(2.5 * patch - 100.0, patch) == pytest.approx(0.0, abs=1e-12)


def test_constant_images_have_a_defined_distance(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, _ = pair
    flat = np.full(a.shape, 7.0)
    for sim in (PaperSSIM(), FloatSSIM7()):
        assert sim.distance(flat, np.full(a.shape, -2.0)) == 0.0  # both scale to zeros
        d = sim.distance(flat, a)
        assert np.isfinite(d) and 0.5 < d <= 1.0
    zeros = np.zeros(a.shape, dtype=np.uint8)
    expected = 1 - structural_similarity(zeros, to_uint8(a), win_size=35, data_range=255)
    assert PaperSSIM().distance(flat, a) == pytest.approx(expected, abs=1e-12)


def test_non_finite_and_non_2d_inputs_are_errors(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, _ = pair
    bad = a.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ConfigError, match="NaN or infinite"):
        PaperSSIM().distance(a, bad)
    with pytest.raises(ConfigError, match="2-D images of the same shape"):
        FloatSSIM7().distance(a[None], a[None])
    with pytest.raises(ConfigError, match="window 7 px is larger"):
        FloatSSIM7().distance(a[:6, :50], a[:6, :50])


def _plain_mean_ssim(x: np.ndarray, y: np.ndarray, win: int, data_range: float) -> float:
    """scikit-image's formula with full-image uniform filters, cropped afterwards."""
    from scipy.ndimage import uniform_filter

    pad = (win - 1) // 2
    inner = (slice(pad, x.shape[0] - pad), slice(pad, x.shape[1] - pad))
    n = win * win
    cov_norm = n / (n - 1.0)
    def box(img: np.ndarray) -> np.ndarray:
        return uniform_filter(img, size=win)[inner]

    ux, uy = box(x), box(y)
    uxxyy, uxy = box(x * x + y * y), box(x * y)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (cov_norm * (uxxyy - ux * ux - uy * uy) + c2))
    return float(s.mean(dtype=np.float64))


def test_distances_are_the_plain_formula_bit_for_bit(twin_experiment: np.ndarray) -> None:
    """The inner-window filtering and the shared products change no bit of d_sim (a run's
    FOMs, and so its optimizer's path, stay exactly what they were)."""
    from ingrained_core.builtins.similarity import _eight_bit, mean_ssim, unit_range

    rng = np.random.default_rng(11)
    exp = twin_experiment
    for h, w in ((195, 153), (283, 169), (79, 79), (35, 36), (120, 61)):
        h = min(h, 302)
        for _ in range(3):
            r, c = int(rng.integers(0, 302 - h + 1)), int(rng.integers(0, 302 - w + 1))
            a = exp[r : r + h, c : c + w]
            b = np.roll(a, 2, axis=0) + rng.normal(0, 0.5 * exp.std(), (h, w))
            ua, ub = _eight_bit(a), _eight_bit(b)
            assert mean_ssim(ua, ub, 35, 255.0) == _plain_mean_ssim(ua, ub, 35, 255.0)
            fa, fb = unit_range(a), unit_range(b)
            assert mean_ssim(fa, fb, 7, 1.0) == _plain_mean_ssim(fa, fb, 7, 1.0)
