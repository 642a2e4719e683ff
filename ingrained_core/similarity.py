"""Similarity distances between a simulation and the experimental patch it was placed on.

- ``ssim`` (default, :class:`PaperSSIM`): the published runs' definition. Each image is
  scaled linearly to 0-255 and cast to 8-bit (floor), then scikit-image's
  ``structural_similarity`` with a 35-pixel uniform window and data range 255;
  d_sim = 1 - SSIM, in [0, 2]. The paper's reading of FOM values (>= 1 poor, < 0.5 good,
  < 0.2 excellent) was calibrated on it.
- ``ssim-float7`` (:class:`FloatSSIM7`): float images rescaled to [0, 1] each, 7-pixel
  window, data range 1. Gives larger values for the same fit; not comparable with the paper.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .errors import ConfigError


def _check(simulation: np.ndarray, patch: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(simulation, dtype=float)
    b = np.asarray(patch, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ConfigError(f"similarity needs two 2-D images of the same shape, got {a.shape} and {b.shape}")
    if min(a.shape) < window:
        raise ConfigError(
            f"similarity window {window} px is larger than the image ({a.shape[0]} x {a.shape[1]} px): "
            "use a larger crop or another similarity"
        )
    return a, b


def _unit_range(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros_like(a)  # a constant image carries no structure: scaled to 0
    return (a - lo) / (hi - lo)


def to_uint8(a: np.ndarray) -> np.ndarray:
    """Linear scaling to 0-255 and a floor cast to 8 bits, as the published runs did."""
    return np.floor(_unit_range(a) * 255.0).astype(np.uint8)


class PaperSSIM:
    """1 - SSIM on 8-bit images with a 35-pixel window (the paper's d_sim; the default)."""

    name: ClassVar[str] = "ssim"
    window: ClassVar[int] = 35

    def distance(self, simulation: np.ndarray, patch: np.ndarray) -> float:
        from skimage.metrics import structural_similarity

        a, b = _check(simulation, patch, self.window)
        s = structural_similarity(to_uint8(a), to_uint8(b), win_size=self.window, data_range=255)
        return float(1.0 - s)


class FloatSSIM7:
    """1 - SSIM on float images rescaled to [0, 1], 7-pixel window, data range 1."""

    name: ClassVar[str] = "ssim-float7"
    window: ClassVar[int] = 7

    def distance(self, simulation: np.ndarray, patch: np.ndarray) -> float:
        from skimage.metrics import structural_similarity

        a, b = _check(simulation, patch, self.window)
        s = structural_similarity(_unit_range(a), _unit_range(b), win_size=self.window, data_range=1.0)
        return float(1.0 - s)
