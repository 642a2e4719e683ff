"""The two SSIM similarities: definitions, ranges, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from ingrained_core.errors import ConfigError
from ingrained_core.similarity import FloatSSIM7, PaperSSIM, to_uint8


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
