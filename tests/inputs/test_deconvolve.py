"""Wiener deconvolution preprocessing steps (scikit-image restoration), beside 'wiener'."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ingrained_core.engine.preprocess import apply_steps, parse_steps
from ingrained_core.plugin.image import ExperimentImage


def _lattice(blur: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from scipy.ndimage import gaussian_filter

    sharp = np.zeros((96, 96))
    sharp[4::8, 4::8] = 1.0
    rng = np.random.default_rng(seed)
    # the reference: the same lattice with much narrower peaks
    return gaussian_filter(sharp, 0.8, mode="wrap"), gaussian_filter(sharp, blur, mode="wrap") + rng.normal(0, 1e-3, sharp.shape)


def _image(a: np.ndarray) -> ExperimentImage:
    return ExperimentImage(data=a, pixel_size=0.2)


@pytest.mark.parametrize("op", ["wiener-deconvolve", "unsupervised-wiener-deconvolve"])
def test_deconvolution_sharpens_a_blurred_lattice(op: str) -> None:
    sharp, blurred = _lattice(2.0)
    step = {"op": op, "psf": "gaussian", "psf_size": 2.0}
    if op == "wiener-deconvolve":
        step["balance"] = 0.001
    out = apply_steps(_image(blurred), parse_steps([step])).data
    assert out.shape == blurred.shape
    c = lambda a: np.corrcoef(a.ravel(), sharp.ravel())[0, 1]
    assert c(out) > c(blurred) + 0.03
    # peaks are narrower: the peak-to-mean contrast rises
    assert (out.max() - out.mean()) / out.std() > (blurred.max() - blurred.mean()) / blurred.std()


def test_box_psf_and_repeatable_unsupervised() -> None:
    _, blurred = _lattice(1.5)
    steps = parse_steps([{"op": "unsupervised-wiener-deconvolve", "psf": "box", "psf_size": 3, "seed": 4}])
    a = apply_steps(_image(blurred), steps)
    b = apply_steps(_image(blurred), steps)
    assert np.array_equal(a.data, b.data)
    assert any("unsupervised Wiener deconvolution" in n for n in a.notices)


def test_the_adaptive_wiener_filter_is_unchanged() -> None:
    from scipy.signal import wiener

    _, blurred = _lattice(1.0)
    out = apply_steps(_image(blurred), parse_steps([{"op": "wiener", "size": 5}])).data
    assert np.allclose(out, wiener(blurred, 5))


def test_bad_psf_is_named() -> None:
    with pytest.raises(ValidationError, match="psf"):
        parse_steps([{"op": "wiener-deconvolve", "psf": "disk", "psf_size": 2}])
    with pytest.raises(ValidationError, match="psf_size"):
        parse_steps([{"op": "wiener-deconvolve", "psf_size": 0}])
    from ingrained_core.engine.preprocess import StepError

    with pytest.raises(StepError, match="constant image"):
        apply_steps(_image(np.ones((20, 20))), parse_steps([{"op": "wiener-deconvolve", "psf_size": 1}]))
