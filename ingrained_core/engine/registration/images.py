"""Image preparation for registration: checks, 16-level quantisation, block downsampling,
and box sums from integral images.

The published registration compared *quantised* images: each image is rescaled to
[0, 1] with its own minimum and maximum and reduced to 16 grey levels
(``floor(255 * t / 16)``, values 0..15), at native resolution for the fine stage and after
downsampling by 4 for the coarse stage. Here the coarse images are 4 x 4 block means of
the quantised images, floored back to integers, so that simulation and experiment are
downsampled by exactly the same factor (a downsampled pixel ``(i, j)`` covers native pixels
``[4i, 4i + 4) x [4j, 4j + 4)``).
"""

from __future__ import annotations

import numpy as np

from ingrained_core.plugin.errors import ConfigError


def check_image(image: np.ndarray, label: str) -> np.ndarray:
    """``image`` as a finite 2-D float array, or a :class:`ConfigError` naming ``label``."""
    a = np.asarray(image)
    if a.ndim != 2:
        raise ConfigError(f"the {label} must be a 2-D image, got an array of shape {a.shape}")
    if a.size == 0:
        raise ConfigError(f"the {label} is empty (shape {a.shape})")
    a = a.astype(float, copy=False)
    # a finite sum proves every value finite in one pass (a NaN or an infinity makes it
    # non-finite); only otherwise (an overflow, or a non-finite value) look value by value
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    if not (np.isfinite(total) or np.isfinite(a).all()):
        raise ConfigError(f"the {label} holds NaN or infinite values")
    return a


def quantise(image: np.ndarray, levels: int = 16) -> np.ndarray:
    """Per-image min-max rescale to [0, 1], then ``floor(t * (256 - 1) / (256 / levels))``.

    For ``levels = 16`` this is the published ``(255 * t) // 16``: integers 0..15 (as
    floats). A constant image becomes all zeros.
    """
    lo, hi = float(image.min()), float(image.max())
    if hi <= lo:
        return np.zeros(image.shape)
    t = image - lo  # the same operations as floor(255 * ((image - lo) / (hi - lo)) / (256 / levels)), in one buffer
    t /= hi - lo
    t *= 255.0
    t /= 256.0 / levels
    return np.floor(t, out=t)


def block_downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Floor of the ``factor`` x ``factor`` block means (trailing rows/cols that do not fill a block are dropped)."""
    if factor == 1:
        return image
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:h, :w].reshape(h // factor, factor, w // factor, factor)
    return np.floor(blocks.mean(axis=(1, 3)) + 1e-9)


def integral(image: np.ndarray) -> np.ndarray:
    """Zero-padded 2-D cumulative sum: ``out[r, c] = image[:r, :c].sum()``."""
    out = np.zeros((image.shape[0] + 1, image.shape[1] + 1))
    np.cumsum(np.cumsum(image, axis=0), axis=1, out=out[1:, 1:])
    return out


def box_sums(integral_image: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums over every ``h`` x ``w`` window (valid positions, indexed by top-left corner)."""
    s = integral_image
    return s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w]
