"""Real experimental images for the registration and similarity tests.

Read directly with the format libraries (not the project's readers) and preprocessed as
the published runs did (examples/*/fuse.toml and docs/inputs.md), so these tests do not depend on
the reader and preprocessing code they are not about.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ..conftest import real_file


def _centre_crop(img: np.ndarray, h: int, w: int) -> np.ndarray:
    r0, c0 = img.shape[0] // 2 - h // 2, img.shape[1] // 2 - w // 2
    return img[r0 : r0 + h, c0 : c0 + w]


def _rotate_collar_free(img: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate CCW about the centre (range preserved) and keep the collar-free centred square
    of edge int(min(h, w) / (cos + sin)) - 5, as the published preprocessing."""
    from skimage.transform import rotate

    t = np.radians(abs(degrees) % 90)
    edge = int(min(img.shape) / (np.cos(t) + np.sin(t))) - 5
    return _centre_crop(rotate(img, degrees, preserve_range=True), edge, edge)


@pytest.fixture(scope="session")
def twin_experiment() -> np.ndarray:
    """CdTe twin (HAADF26.dm3) after the published preprocessing: 302 x 302."""
    path = real_file("cdte_twin/HAADF26.dm3")
    from ncempy.io import dm

    raw = np.asarray(dm.dmReader(str(path))["data"], dtype=float)
    img = _rotate_collar_free(raw, 66.0)  # 382 x 382
    img = _centre_crop(img, 328, 328)[:-26, :-26]
    img = np.fliplr(img).copy()
    assert img.shape == (302, 302)
    return img


@pytest.fixture(scope="session")
def ni_experiment() -> np.ndarray:
    """Ni/M3B2 (HAADF91.tif, RGB with equal channels) after the published preprocessing: 383 x 383."""
    path = real_file("ni_m3b2/HAADF91.tif")
    import tifffile

    rgb = tifffile.imread(str(path))
    grey = rgb[..., 0].astype(float)
    img = _rotate_collar_free(grey[380:-240, 370:-30], -2.3)
    assert img.shape == (383, 383)
    return img.copy()
