"""The shared centred affine distortion: directions and magnitudes of each component."""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.plugin.distortion import affine_distort, distort_points, distortion_matrix


def _spot(shape: tuple[int, int], row: int, col: int) -> np.ndarray:
    a = np.zeros(shape)
    a[row, col] = 1.0
    return a


def _peak(a: np.ndarray) -> tuple[int, int]:
    r, c = np.unravel_index(int(np.argmax(a)), a.shape)
    return int(r), int(c)


@pytest.mark.parametrize(
    "kwargs,src,dst",
    [
        ({"rotation": 90}, (50, 80), (20, 50)),      # right of centre -> above it (CCW on screen)
        ({"rotation": -90}, (50, 80), (80, 50)),
        ({"shear_x": 0.5}, (80, 50), (80, 65)),      # rows below the centre move right
        ({"shear_y": 0.5}, (50, 80), (65, 80)),      # columns right of the centre move down
        ({"stretch_x": 0.5}, (50, 80), (50, 95)),
        ({"stretch_y": -0.5}, (90, 50), (70, 50)),
    ],
)
def test_each_component_moves_points_as_documented(kwargs: dict, src: tuple[int, int], dst: tuple[int, int]) -> None:
    out = affine_distort(_spot((101, 101), *src), (101, 101), order=1, mode="constant", **kwargs)
    assert _peak(out) == dst
    m = distortion_matrix(**kwargs)
    x, y = distort_points(np.array([src[1], src[0]], dtype=float), m, (50.0, 50.0))
    assert (round(y), round(x)) == dst


def test_identity_and_output_window() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((41, 61))
    assert np.allclose(affine_distort(img, (41, 61)), img)
    centre = affine_distort(img, (21, 31))
    assert np.allclose(centre, img[10:31, 15:46])
