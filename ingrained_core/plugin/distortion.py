"""The centred affine distortion shared by every forward model (shear, stretch, rotation).

One matrix, one interpolation. With (x, y) = (column, row) offsets from the image centre,
the undistorted point p maps to ``M p`` with ``M = S · H · R``:

- R rotates by ``rotation`` degrees counter-clockwise as seen on screen (rows grow down);
- H = [[1, shear_x], [shear_y, 1]]: horizontal shear moves each row sideways in proportion
  to its distance from the centre, vertical shear likewise moves each column;
- S = diag(1 + stretch_x, 1 + stretch_y) scales each axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage


def distortion_matrix(
    shear_x: float = 0.0,
    shear_y: float = 0.0,
    stretch_x: float = 0.0,
    stretch_y: float = 0.0,
    rotation: float = 0.0,
) -> np.ndarray:
    """The 2x2 matrix M acting on (x, y) = (column, row) offsets from the centre."""
    t = math.radians(rotation)
    # Counter-clockwise on screen with y pointing down is a clockwise rotation in (x, y).
    rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    shear = np.array([[1.0, shear_x], [shear_y, 1.0]])
    stretch = np.diag([1.0 + stretch_x, 1.0 + stretch_y])
    return stretch @ shear @ rot


def distort_points(xy: np.ndarray, matrix: np.ndarray, center: tuple[float, float]) -> np.ndarray:
    """Apply M to points given as (..., 2) arrays of (x, y) about ``center`` = (x0, y0)."""
    c = np.asarray(center, dtype=float)
    return (np.asarray(xy, dtype=float) - c) @ matrix.T + c


def affine_distort(
    image: np.ndarray,
    out_shape: tuple[int, int],
    *,
    shear_x: float = 0.0,
    shear_y: float = 0.0,
    stretch_x: float = 0.0,
    stretch_y: float = 0.0,
    rotation: float = 0.0,
    order: int = 1,
    mode: str = "grid-wrap",
) -> np.ndarray:
    """Distort ``image`` about its centre and sample an ``out_shape`` window at the same centre.

    The output pixel at offset q from the output centre takes the input value at
    ``M^-1 q`` from the input centre: one interpolation of order ``order``. ``mode`` is
    scipy.ndimage's boundary mode; ``"grid-wrap"`` suits periodic simulations.
    """
    m = distortion_matrix(shear_x, shear_y, stretch_x, stretch_y, rotation)
    inv = np.linalg.inv(m)
    # ndimage works in (row, col) = (y, x): swap axes of the (x, y) matrix.
    inv_rc = inv[::-1, ::-1]
    in_c = (np.array(image.shape, dtype=float) - 1.0) / 2.0
    out_c = (np.array(out_shape, dtype=float) - 1.0) / 2.0
    offset = in_c - inv_rc @ out_c
    return ndimage.affine_transform(
        np.asarray(image, dtype=float), inv_rc, offset=offset, output_shape=tuple(out_shape), order=order, mode=mode
    )


def required_extent(out_shape: tuple[int, int], matrix: np.ndarray) -> tuple[int, int]:
    """Rows and columns of undistorted image needed to fill ``out_shape`` after distortion."""
    h, w = out_shape
    inv = np.linalg.inv(matrix)
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [-w / 2, h / 2], [w / 2, h / 2]])
    src = corners @ inv.T
    width = int(math.ceil(np.ptp(src[:, 0]))) + 4
    height = int(math.ceil(np.ptp(src[:, 1]))) + 4
    return height, width


@dataclass(frozen=True)
class Distortion:
    """The distortion as one value: shear, stretch (fractions) and rotation (degrees CCW).

    ``Distortion.from_params(params)`` takes whichever of ``shear_x``, ``shear_y``,
    ``stretch_x``, ``stretch_y`` and ``rotation`` a parameter set has (the others are 0);
    :attr:`matrix` is M = S · H · R, :meth:`apply` distorts an image with it.
    """

    shear_x: float = 0.0
    shear_y: float = 0.0
    stretch_x: float = 0.0
    stretch_y: float = 0.0
    rotation: float = 0.0

    @classmethod
    def from_params(cls, params: Any) -> Distortion:
        """The distortion named by a parameter set's fields (missing ones are 0)."""
        return cls(**{f: float(getattr(params, f, 0.0)) for f in ("shear_x", "shear_y", "stretch_x", "stretch_y",
                                                                   "rotation")})

    @property
    def matrix(self) -> np.ndarray:
        """The 2x2 matrix M on (x, y) = (column, row) offsets from the centre."""
        return distortion_matrix(self.shear_x, self.shear_y, self.stretch_x, self.stretch_y, self.rotation)

    def apply(self, image: np.ndarray, out_shape: tuple[int, int], *, order: int = 1,
              mode: str = "grid-wrap") -> np.ndarray:
        """``image`` distorted about its centre, an ``out_shape`` window (see :func:`affine_distort`)."""
        return affine_distort(image, out_shape, shear_x=self.shear_x, shear_y=self.shear_y,
                              stretch_x=self.stretch_x, stretch_y=self.stretch_y, rotation=self.rotation,
                              order=order, mode=mode)
