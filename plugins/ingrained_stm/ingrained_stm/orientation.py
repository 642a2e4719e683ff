"""Where the surface lattice points in an image: fitted simulation, published run, experiment.

The parameter ``rotation`` alone is not the lattice orientation once shear and stretch are
large (the published Cu2O best point has shear_y −0.246 and stretch_y −0.175): the lattice
seen in the image is the in-plane lattice taken through the model's whole coordinate map.
This module states that map once and measures the same thing on an image.

Conventions: a direction is an angle in degrees counter-clockwise on screen from the image
x axis (columns grow right, rows grow down), reduced mod 180 (a lattice row has no sign).
A hexagonal lattice has three nearest-neighbour directions φ, φ+60, φ+120; its
*orientation* is φ mod 60. After an affine distortion the three directions are no longer
60° apart, so the orientation is their circular mean on the 60° circle,
``arg(Σ exp(6iθ_k)) / 6`` mod 60, which equals φ for an undistorted lattice.

- :func:`lattice_vectors_px` — this model's map (:mod:`ingrained_stm.imaging`): a vector v
  (Å, x right, y up as seen from above) lands at ``M · diag(1, −1) · v / pixel_size``
  (column, row) pixels, ``M = stretch · shear · rotation`` of :mod:`ingrained_core.plugin.distortion`.
- :func:`published_lattice_vectors_px` — the map of the published ingrained STM code for
  a hexagonal density, read from its documented pipeline (facts, not code): the
  (a-index, b-index) grid of the density is laid out as (rows, columns), sheared along x by
  −b_x/|a| to put b at its angle, resized to the pixel size, then rotated (scikit-image,
  CCW), sheared with H = [[1, x], [y, 1]] used as the *inverse* map (so the forward map is
  H⁻¹), and stretched by (1 + stretch) per axis. Rows are not rescaled by √3/2, so its
  undistorted lattice directions are 0°, 63.4°, 116.6° rather than 0°, 60°, 120°; that is
  one reason its best point carries a large y stretch.
- :func:`measure_lattice` — the lattice of an image itself: nearest-neighbour peaks of the
  overlap-normalised autocorrelation, each refined to sub-pixel accuracy as the translation
  that best repeats the image. This is the ground truth a fit should agree with.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ingrained_core.plugin import distortion_matrix

_DISTORTION = ("shear_x", "shear_y", "stretch_x", "stretch_y", "rotation")


def _get(params: Any, name: str, default: float = 0.0) -> float:
    if isinstance(params, Mapping):
        return float(params.get(name, default))
    return float(getattr(params, name, default))


def neighbour_vectors(lattice: np.ndarray) -> np.ndarray:
    """The three shortest lattice directions a, b and the shorter of a + b, a − b (rows, Å)."""
    lat = np.asarray(lattice, dtype=float)[:2, :2]
    a, b = lat[0], lat[1]
    third = a + b if np.linalg.norm(a + b) <= np.linalg.norm(a - b) else a - b
    return np.stack([a, b, third])


def lattice_vectors_px(params: Any, lattice: np.ndarray) -> np.ndarray:
    """(3, 2) (column, row) pixel offsets of the nearest-neighbour vectors in this model's image.

    ``params``: StmParams or a mapping with pixel_size, shear_x/y, stretch_x/y, rotation;
    ``lattice``: the in-plane lattice (rows a, b; Å, x right, y up), e.g.
    ``model.surface.lattice``.
    """
    m = distortion_matrix(*(_get(params, k) for k in _DISTORTION))
    v = neighbour_vectors(lattice)
    xy_screen = np.column_stack([v[:, 0], -v[:, 1]]) / _get(params, "pixel_size", 1.0)
    return xy_screen @ m.T


def published_lattice_vectors_px(params: Any, lattice: np.ndarray | None = None) -> np.ndarray:
    """(3, 2) (column, row) offsets of the lattice in the published code's image (see module doc).

    ``lattice`` (rows a, b in Å, a along x) sets the lattice shear −b_x/|a|; the default is a
    hexagonal cell. The resulting lattice (as a set of points) does not depend on the sign
    of b_x. The overall length scale is |a| / pixel_size.
    """
    if lattice is None:
        lattice = np.array([[1.0, 0.0], [-0.5, math.sqrt(3.0) / 2.0]])
    lat = np.asarray(lattice, dtype=float)[:2, :2]
    a_len = float(np.linalg.norm(lat[0]))
    x_lat = -lat[1, 0] / a_len
    scale = a_len / _get(params, "pixel_size", 1.0)
    # grid (a-index -> row, b-index -> column), lattice shear applied as an inverse map
    a_vec = np.array([-x_lat, 1.0]) * scale
    b_vec = np.array([1.0, 0.0]) * scale
    t = math.radians(_get(params, "rotation"))
    rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    h = np.array([[1.0, _get(params, "shear_x")], [_get(params, "shear_y"), 1.0]])
    s = np.diag([1.0 + _get(params, "stretch_x"), 1.0 + _get(params, "stretch_y")])
    forward = s @ np.linalg.inv(h) @ rot
    v = np.stack([a_vec, b_vec])
    third = v[0] + v[1] if np.linalg.norm(v[0] + v[1]) <= np.linalg.norm(v[0] - v[1]) else v[0] - v[1]
    return np.stack([v[0], v[1], third]) @ forward.T


def directions(vectors_px: np.ndarray) -> np.ndarray:
    """Angles (degrees CCW on screen, mod 180) of (column, row) pixel vectors."""
    v = np.asarray(vectors_px, dtype=float)
    return np.mod(np.degrees(np.arctan2(-v[:, 1], v[:, 0])), 180.0)


def orientation(direction_deg: np.ndarray) -> float:
    """The lattice orientation mod 60: circular mean of the directions on the 60° circle."""
    z = sum(cmath.exp(6j * math.radians(float(d))) for d in np.ravel(direction_deg))
    value = math.degrees(cmath.phase(z)) / 6.0 % 60.0
    return 0.0 if value > 60.0 - 1e-9 else value


def angle_difference(a: float, b: float, period: float = 60.0) -> float:
    """Signed a − b reduced to [−period/2, period/2)."""
    return (a - b + period / 2.0) % period - period / 2.0


def direction_mismatch(dirs_a: np.ndarray, dirs_b: np.ndarray) -> float:
    """Largest angle (mod 180) between paired directions, under the best pairing of the sets."""
    from itertools import permutations

    a = np.asarray(dirs_a, dtype=float)
    b = np.asarray(dirs_b, dtype=float)
    best = math.inf
    for perm in permutations(range(len(b))):
        worst = max(abs(angle_difference(float(x), float(b[j]), 180.0)) for x, j in zip(a, perm))
        best = min(best, worst)
    return best


def lattice_orientation(params: Any, lattice: np.ndarray) -> float:
    """Orientation (degrees mod 60) of the surface lattice in this model's image at ``params``."""
    return orientation(directions(lattice_vectors_px(params, lattice)))


def published_lattice_orientation(params: Any, lattice: np.ndarray | None = None) -> float:
    """Orientation (degrees mod 60) of the lattice in the published code's image at ``params``."""
    return orientation(directions(published_lattice_vectors_px(params, lattice)))


# -- measuring the lattice on an image ---------------------------------------------------
def repeat_residual(image: np.ndarray, shift_colrow: np.ndarray, margin: int) -> float:
    """RMS of image(p + t) − image(p) over the interior, relative to the image's std."""
    from scipy import ndimage

    h, w = image.shape
    tc, tr = float(shift_colrow[0]), float(shift_colrow[1])
    rows, cols = np.mgrid[margin : h - margin, margin : w - margin].astype(float)
    moved = ndimage.map_coordinates(image, [rows + tr, cols + tc], order=3, mode="nearest")
    base = image[margin : h - margin, margin : w - margin]
    return float(np.sqrt(np.mean((moved - base) ** 2)) / (image.std() + 1e-300))


def _autocorrelation(image: np.ndarray) -> np.ndarray:
    """Autocorrelation of the zero-mean image divided by the overlap area (centre at the middle)."""
    img = image - image.mean()
    h, w = img.shape
    shape = (2 * h, 2 * w)
    f = np.fft.rfft2(img, shape)
    ones = np.fft.rfft2(np.ones_like(img), shape)
    ac = np.fft.irfft2(f * np.conj(f), shape)
    overlap = np.fft.irfft2(ones * np.conj(ones), shape)
    ac = np.fft.fftshift(ac / np.maximum(overlap, 1.0))
    return ac / ac[h, w]


def measure_lattice(image: np.ndarray, *, max_period_px: float | None = None) -> dict[str, Any]:
    """The nearest-neighbour lattice vectors of a periodic image, measured on the image.

    Returns ``{"vectors": (3, 2) (column, row) px, "directions": deg mod 180,
    "lengths": px, "orientation": deg mod 60, "residuals": repeat residual of each}``.
    ``max_period_px`` bounds the search (default: a third of the smaller image side).
    """
    from scipy import ndimage, optimize

    img = np.asarray(image, dtype=float)
    h, w = img.shape
    r_max = max_period_px if max_period_px is not None else min(h, w) / 3.0
    ac = _autocorrelation(img)
    cy, cx = h, w
    local = (ac == ndimage.maximum_filter(ac, size=5)) & (ac > 0.0)
    ys, xs = np.nonzero(local)
    dr, dc = ys - cy, xs - cx
    r = np.hypot(dr, dc)
    keep = (r > 3.0) & (r <= r_max)
    dr, dc, r, val = dr[keep], dc[keep], r[keep], ac[ys[keep], xs[keep]]
    if val.size < 2:
        raise ValueError("no periodic peaks found in the image's autocorrelation")
    strong = val >= 0.5 * val.max()
    dr, dc, r = dr[strong], dc[strong], r[strong]
    order = np.argsort(r)
    v1 = np.array([dc[order[0]], dr[order[0]]], dtype=float)
    v2 = None
    for k in order[1:]:
        cand = np.array([dc[k], dr[k]], dtype=float)
        cosang = abs(cand @ v1) / (np.linalg.norm(cand) * np.linalg.norm(v1))
        if cosang < math.cos(math.radians(30.0)):
            v2 = cand
            break
    if v2 is None:
        raise ValueError("the image's autocorrelation shows only one lattice direction")
    margin = math.ceil(max(np.linalg.norm(v1), np.linalg.norm(v2)) * 1.5) + 2

    def refine(v: np.ndarray) -> tuple[np.ndarray, float]:
        res = optimize.minimize(lambda t: repeat_residual(img, t, margin), v, method="Nelder-Mead",
                                options={"xatol": 1e-3, "fatol": 1e-6, "initial_simplex": np.array([v, v + [0.7, 0], v + [0, 0.7]])})
        return np.asarray(res.x, dtype=float), float(res.fun)

    v1, e1 = refine(v1)
    v2, e2 = refine(v2)
    third = v1 + v2 if np.linalg.norm(v1 + v2) <= np.linalg.norm(v1 - v2) else v1 - v2
    v3, e3 = refine(third)
    vecs = np.stack([v1, v2, v3])
    dirs = directions(vecs)
    return {
        "vectors": vecs,
        "directions": dirs,
        "lengths": np.linalg.norm(vecs, axis=1),
        "orientation": orientation(dirs),
        "residuals": [e1, e2, e3],
    }
