"""Similarity distances between a simulation and the experimental patch it was placed on.

- ``ssim`` (default, :class:`PaperSSIM`): the published runs' definition. Each image is
  scaled linearly to 0-255 (minimum -> 0, maximum -> 255) and cast to 8 bits by floor,
  then the mean structural similarity of scikit-image's ``structural_similarity`` with a
  35-pixel uniform window, data range 255 and its other defaults (K1 = 0.01, K2 = 0.03,
  sample covariance); d_sim = 1 - SSIM, in [0, 2]. The paper's reading of FOM values
  (>= 1 poor, < 0.5 good, < 0.2 excellent) was calibrated on it.
- ``ssim-float7`` (:class:`FloatSSIM7`): each image rescaled to [0, 1] (float), 7-pixel
  uniform window, data range 1. It reads larger for the same fit; not comparable with the
  paper's figures.

Both compute scikit-image's value (the tests compare them to it) with the same uniform
filters, but form the SSIM map only where scikit-image keeps it (it filters the whole
image, then drops the ``(win - 1) / 2`` border), which halves the work.

Defined values: a constant image (no structure) is scaled to all zeros, so its distance
is finite and identical constant images have distance 0. Errors (:class:`ConfigError`):
images of different shapes, non-2-D or non-finite images, and images smaller than the
window on either side.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ingrained_core.plugin.errors import ConfigError

K1, K2 = 0.01, 0.03


def _check(simulation: np.ndarray, patch: np.ndarray, window: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(simulation)
    b = np.asarray(patch)
    if a.ndim != 2 or a.shape != b.shape:
        raise ConfigError(
            f"similarity {name!r} needs two 2-D images of the same shape, got {a.shape} and {b.shape}"
        )
    if min(a.shape) < window:
        raise ConfigError(
            f"similarity {name!r}: its window {window} px is larger than the image "
            f"({a.shape[0]} x {a.shape[1]} px); use a crop of at least {window} x {window} px or another similarity"
        )
    a = a.astype(float, copy=False)
    b = b.astype(float, copy=False)
    if not (_all_finite(a) and _all_finite(b)):
        raise ConfigError(f"similarity {name!r}: the simulation or the patch holds NaN or infinite values")
    return a, b


def _all_finite(a: np.ndarray) -> bool:
    """Whether every value is finite: a finite sum proves it in one pass without a mask
    (a NaN or an infinity makes the sum non-finite); only otherwise (an overflow, or a
    non-finite value) are the values checked one by one."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(a).all())


def unit_range(a: np.ndarray) -> np.ndarray:
    """Linear rescale to [0, 1] (minimum -> 0, maximum -> 1); a constant image -> zeros."""
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape)
    return (a - lo) / (hi - lo)


def to_uint8(a: np.ndarray) -> np.ndarray:
    """Linear scaling to 0-255 and a floor cast to 8 bits, as the published runs did."""
    return np.floor(unit_range(np.asarray(a, dtype=float)) * 255.0).astype(np.uint8)


def _eight_bit(a: np.ndarray) -> np.ndarray:
    """:func:`to_uint8` as floats (the same integers 0..255, without the 8-bit round trip;
    the same operations as ``floor(unit_range(a) * 255)``, in one buffer)."""
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape)
    t = a - lo
    t /= hi - lo
    t *= 255.0
    return np.floor(t, out=t)


def _inner_box_mean(image: np.ndarray, win: int) -> np.ndarray:
    """``uniform_filter(image, size=win)`` on the windows that lie fully inside the image
    only: the same numbers, bit for bit.

    scipy's ``uniform_filter`` runs a 1-D running mean along the rows axis, then along the
    columns axis, each line on its own; here the first pass runs on the whole image (the
    second needs every column) and the second only on the rows that are kept.
    """
    from scipy.ndimage import uniform_filter1d

    pad = (win - 1) // 2
    h, w = image.shape
    first = uniform_filter1d(image, win, axis=0)
    return uniform_filter1d(first[pad : h - pad], win, axis=1)[:, pad : w - pad]


def mean_ssim(x: np.ndarray, y: np.ndarray, win: int, data_range: float) -> float:
    """Mean SSIM as ``skimage.metrics.structural_similarity(x, y, win_size=win,
    data_range=data_range)`` with its defaults (uniform window, sample covariance):
    the same filters, but the SSIM map is only formed on the windows that scikit-image
    keeps (those lying fully inside the image); products that scikit-image's expression
    forms twice are formed once (the same values: doubling is exact in floating point)."""
    n = win * win
    cov_norm = n / (n - 1.0)
    ux, uy = _inner_box_mean(x, win), _inner_box_mean(y, win)
    # vx + vy only ever appear summed: one filter of x^2 + y^2 instead of two
    sq = x * x
    sq += y * y
    uxxyy, uxy = _inner_box_mean(sq, win), _inner_box_mean(x * y, win)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    uxuy = ux * uy
    uxx, uyy = ux * ux, uy * uy
    # numerator: (2 ux uy + c1) (2 vxy + c2), vxy = cov_norm (uxy - ux uy)
    num = uxy - uxuy
    num *= cov_norm
    num *= 2.0
    num += c2
    uxuy *= 2.0
    uxuy += c1
    num *= uxuy
    # denominator: (ux^2 + uy^2 + c1) (cov_norm (uxxyy - ux^2 - uy^2) + c2)
    den = uxxyy - uxx
    den -= uyy
    den *= cov_norm
    den += c2
    uxx += uyy
    uxx += c1
    den *= uxx
    num /= den
    return float(num.mean(dtype=np.float64))


class PaperSSIM:
    """1 - SSIM on 8-bit images with a 35-pixel window (the paper's d_sim; the default)."""

    name: ClassVar[str] = "ssim"
    window: ClassVar[int] = 35

    def distance(self, simulation: np.ndarray, patch: np.ndarray) -> float:
        """``1 - SSIM`` of the two images scaled to 8 bits, in [0, 2]; 0 for identical images."""
        a, b = _check(simulation, patch, self.window, self.name)
        ua, ub = _eight_bit(a), _eight_bit(b)
        if np.array_equal(ua, ub):
            return 0.0
        return 1.0 - mean_ssim(ua, ub, self.window, 255.0)


class FloatSSIM7:
    """1 - SSIM on float images rescaled to [0, 1], 7-pixel window, data range 1."""

    name: ClassVar[str] = "ssim-float7"
    window: ClassVar[int] = 7

    def distance(self, simulation: np.ndarray, patch: np.ndarray) -> float:
        """``1 - SSIM`` of the two images rescaled to [0, 1], in [0, 2]; 0 for identical images."""
        a, b = _check(simulation, patch, self.window, self.name)
        ua, ub = unit_range(a), unit_range(b)
        if np.array_equal(ua, ub):
            return 0.0
        return 1.0 - mean_ssim(ua, ub, self.window, 1.0)
