"""From a periodic map on the surface cell to the simulated image: one interpolation.

The map (height or ρ) lives on the (Na, Nb) grid of the in-plane lattice (rows a, b, which
may be hexagonal). Each output pixel q (column, row offsets from the image centre) is taken
back through the centred distortion of :mod:`ingrained_core.plugin.distortion`
(p = M⁻¹ q, M = stretch · shear · rotation), scaled by the pixel size to Cartesian Å
(x right, y up as seen from above, so row offsets are negated), shifted to the top atom,
turned into fractional coordinates with the inverse lattice and into grid indices; the
map is sampled there once with ``scipy.ndimage.map_coordinates`` (``mode="grid-wrap"``,
exact periodic wrap). Lattice resampling, rotation, shear, stretch and pixel size are
therefore a single coordinate map.

Then, on an image padded so that edges see true neighbours: optional spherical-tip
dilation (the apex height of a sphere of radius R touching the surface,
h'(x) = max_d [h(x + d) + sqrt(R² − |d|²) − R]; physical, so before the blur), the
Gaussian blur of ``sigma`` pixels, and the crop to (crop_height, crop_width).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ingrained_core.plugin import distortion_matrix


def pixel_coordinates(
    out_shape: tuple[int, int],
    lattice: np.ndarray,
    grid_shape: tuple[int, int],
    origin_xy: np.ndarray,
    *,
    pixel_size: float,
    shear_x: float = 0.0,
    shear_y: float = 0.0,
    stretch_x: float = 0.0,
    stretch_y: float = 0.0,
    rotation: float = 0.0,
) -> np.ndarray:
    """Grid indices (2, H, W) on the periodic map for every output pixel (see module doc)."""
    h, w = out_shape
    m_inv = np.linalg.inv(distortion_matrix(shear_x, shear_y, stretch_x, stretch_y, rotation))
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    qx = cols - (w - 1) / 2.0
    qy = rows - (h - 1) / 2.0
    px = m_inv[0, 0] * qx + m_inv[0, 1] * qy
    py = m_inv[1, 0] * qx + m_inv[1, 1] * qy
    x = px * pixel_size + origin_xy[0]
    y = -py * pixel_size + origin_xy[1]
    # [x, y] = [u, v] @ lattice  ->  [u, v] = [x, y] @ inv(lattice)
    inv_l = np.linalg.inv(lattice)
    u = x * inv_l[0, 0] + y * inv_l[1, 0]
    v = x * inv_l[0, 1] + y * inv_l[1, 1]
    return np.stack([u * grid_shape[0], v * grid_shape[1]])


def spherical_tip(image: np.ndarray, radius_px: float, scale: float) -> np.ndarray:
    """Grey dilation of ``image`` (heights in Å) by a sphere of radius ``radius_px`` pixels.

    ``scale`` is the pixel size in Å, so the sphere's height profile is in Å too.
    """
    r = int(math.floor(radius_px))
    if r < 1:
        return image
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(float)
    d2 = (xx**2 + yy**2) * scale**2
    rad = radius_px * scale
    footprint = d2 <= rad**2
    structure = np.where(footprint, np.sqrt(np.clip(rad**2 - d2, 0.0, None)) - rad, 0.0)
    return ndimage.grey_dilation(image, footprint=footprint, structure=structure, mode="nearest")


def render(
    surface_map: np.ndarray,
    lattice: np.ndarray,
    origin_xy: np.ndarray,
    *,
    crop_height: int,
    crop_width: int,
    pixel_size: float,
    shear_x: float = 0.0,
    shear_y: float = 0.0,
    stretch_x: float = 0.0,
    stretch_y: float = 0.0,
    rotation: float = 0.0,
    sigma: float = 0.0,
    tip_radius: float = 0.0,
    order: int = 1,
) -> np.ndarray:
    """The (crop_height, crop_width) image of the periodic ``surface_map``."""
    tip_px = tip_radius / pixel_size if tip_radius > 0 else 0.0
    pad = int(math.ceil(4.0 * sigma)) + int(math.ceil(tip_px)) + 1
    out_shape = (crop_height + 2 * pad, crop_width + 2 * pad)
    coords = pixel_coordinates(
        out_shape, lattice, surface_map.shape, origin_xy, pixel_size=pixel_size,
        shear_x=shear_x, shear_y=shear_y, stretch_x=stretch_x, stretch_y=stretch_y, rotation=rotation,
    )
    img = ndimage.map_coordinates(np.asarray(surface_map, dtype=float), coords, order=order, mode="grid-wrap")
    if tip_px >= 1.0:
        img = spherical_tip(img, tip_px, pixel_size)
    if sigma > 0:
        img = ndimage.gaussian_filter(img, sigma, mode="nearest")
    return img[pad : pad + crop_height, pad : pad + crop_width]
