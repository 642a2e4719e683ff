"""Measure the lattice of a periodic image: how well it repeats under a pixel translation."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def repeat_residual(image: np.ndarray, shift_colrow: tuple[float, float], margin: int | None = None) -> float:
    """RMS of image(p + t) − image(p) over the interior, relative to the image's std (0 = periodic)."""
    h, w = image.shape
    tc, tr = shift_colrow
    m = margin if margin is not None else int(np.ceil(max(abs(tc), abs(tr)))) + 2
    rows, cols = np.mgrid[m : h - m, m : w - m].astype(float)
    moved = ndimage.map_coordinates(image, [rows + tr, cols + tc], order=3, mode="nearest")
    base = image[m : h - m, m : w - m]
    return float(np.sqrt(np.mean((moved - base) ** 2)) / image.std())


def lattice_vector_px(length_px: float, angle_deg: float) -> tuple[float, float]:
    """(col, row) offset of a vector of ``length_px`` pointing ``angle_deg`` CCW on screen."""
    t = np.radians(angle_deg)
    return length_px * np.cos(t), -length_px * np.sin(t)


def measure_hex_lattice(image: np.ndarray, length_guess: float) -> tuple[float, float]:
    """(angle mod 60 in degrees, length in px) of the translation that best repeats ``image``.

    Sweeps the direction over [0, 60) at the guessed length, then the length at the best
    direction, then the direction again, minimising :func:`repeat_residual`.
    """
    angles = np.arange(0.0, 60.0, 0.25)
    res = [repeat_residual(image, lattice_vector_px(length_guess, a)) for a in angles]
    best_a = float(angles[int(np.argmin(res))])
    lengths = length_guess * np.linspace(0.85, 1.15, 121)
    res = [repeat_residual(image, lattice_vector_px(L, best_a)) for L in lengths]
    best_l = float(lengths[int(np.argmin(res))])
    angles = best_a + np.linspace(-1.0, 1.0, 41)
    res = [repeat_residual(image, lattice_vector_px(best_l, a)) for a in angles]
    best_a = float(angles[int(np.argmin(res))]) % 60.0
    return best_a, best_l
