"""The image side of every HAADF model: crop fitting, the band-limited render, the distortion.

Shared by the convolution model here and any other HAADF model with the same parameters:

- :func:`fit_crop` reduces a crop that does not fit the content to the largest odd size
  that does, with a notice (crop sizes are odd; the size actually used is reported);
- :func:`plan_grid` chooses the FFT grid: the crop plus a margin for the PSF's reach on
  every side, 5-smooth sizes, and a splatting grid fine enough not to alias;
- :func:`render_columns` places weighted points with sub-pixel accuracy (cubic B-spline
  splatting, deconvolved in Fourier space) and applies the radial transfer function, the
  Gaussian source blur and the pixel's box integration *in the distorted frame*: the
  centred shear/stretch of the simulated image is evaluated exactly in Fourier space
  (Î'(k) = |det M| Î(Mᵀk)), with no interpolation at all;
- :func:`distort_to_crop` is the same distortion for a model that already has an image
  on some grid (e.g. multislice): resampling to the requested pixel size and
  shear/stretch in ONE interpolation (``ingrained_core.plugin.distortion.affine_distort``).

Screen convention: x grows to the right, y grows UP in physical space; rows grow down.
A distortion matrix M (``ingrained_core.plugin.distortion.distortion_matrix``) acts on
(x, row-down) offsets from the crop centre, in pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft

from ingrained_core.plugin import affine_distort
from ingrained_core.plugin import ParameterError

#: Highest fraction of the splatting grid's sampling frequency at which the band must sit
#: for the B-spline aliases to stay below ~4 % of the (already < 1e-3) transfer there.
SPLAT_BAND_FRACTION = 0.3
#: Relative level of the source Gaussian that bounds the band (exp(-…k²) = 1e-3).
BAND_LEVEL = 1e-3
MIN_CROP = 35
#: Points of the uniform |κ| table the radial transfer is looked up in.
RADIAL_TABLE = 8192


def odd_floor(value: float) -> int:
    """The largest odd integer <= value (at least 1)."""
    n = math.floor(value + 1e-9)
    if n % 2 == 0:
        n -= 1
    return max(n, 1)


@dataclass(frozen=True)
class CropFit:
    """Crop size actually used and why it differs from the request (if it does)."""

    height: int
    width: int
    notices: tuple[str, ...] = ()


def fit_crop(
    height: int,
    width: int,
    *,
    pixel_size: float,
    content_height: float,
    content_width: float | None = None,
    stretch_x: float = 0.0,
    stretch_y: float = 0.0,
    min_size: int = MIN_CROP,
) -> CropFit:
    """Reduce the crop to the content (Å, undistorted) seen at ``pixel_size`` after stretching.

    ``content_width`` None means the content is tiled as far as needed (never reduced).
    A content too small for even ``min_size`` pixels is a ParameterError naming the crop.
    """
    notices: list[str] = []
    max_h = odd_floor(content_height * (1.0 + stretch_y) / pixel_size)
    if height > max_h:
        if max_h < min_size:
            raise ParameterError(
                f"crop_height: the content is only {content_height:.2f} Å tall, {max_h} px at pixel_size "
                f"{pixel_size:g} Å (stretch_y {stretch_y:g}), below the minimum crop of {min_size} px"
            )
        notices.append(
            f"crop_height reduced from {height} to {max_h} px: the cell is {content_height:.2f} Å tall "
            f"at pixel_size {pixel_size:g} Å"
        )
        height = max_h
    if content_width is not None:
        max_w = odd_floor(content_width * (1.0 + stretch_x) / pixel_size)
        if width > max_w:
            if max_w < min_size:
                raise ParameterError(
                    f"crop_width: the tiled image is only {content_width:.2f} Å wide, {max_w} px at "
                    f"pixel_size {pixel_size:g} Å, below the minimum crop of {min_size} px"
                )
            notices.append(
                f"crop_width reduced from {width} to {max_w} px: the tiled image is {content_width:.2f} Å "
                f"wide at pixel_size {pixel_size:g} Å"
            )
            width = max_w
    return CropFit(int(height), int(width), tuple(notices))


@dataclass(frozen=True)
class GridPlan:
    """The FFT grid of one evaluation, in the frame of the (distorted) output crop.

    ``shape`` (ny, nx) holds the crop, centred, plus at least ``margin`` pixels on every
    side (so neither the FFT's wrap-around nor the atoms left out beyond the margin reach
    the crop); its sampling is the pixel size. ``fine_shape`` is the splatting grid over
    the same period, finer when the band would otherwise alias. The crop's centre pixel is
    grid index ``center`` = (row, col).
    """

    shape: tuple[int, int]
    fine_shape: tuple[int, int]
    crop: tuple[int, int]
    margin: int
    pixel_size: float

    @property
    def offset(self) -> tuple[int, int]:
        """Grid index of the crop's top-left pixel."""
        return ((self.shape[0] - self.crop[0]) // 2, (self.shape[1] - self.crop[1]) // 2)

    @property
    def center(self) -> tuple[int, int]:
        oy, ox = self.offset
        return (oy + (self.crop[0] - 1) // 2, ox + (self.crop[1] - 1) // 2)

    @property
    def fine_spacing(self) -> tuple[float, float]:
        """Splatting-grid spacing (dy, dx) in Å."""
        p = self.pixel_size
        return (p * self.shape[0] / self.fine_shape[0], p * self.shape[1] / self.fine_shape[1])


def plan_grid(crop: tuple[int, int], *, pixel_size: float, margin: float, band: float) -> GridPlan:
    """Grid for a crop of ``crop`` = (h, w) px with ``margin`` Å of PSF reach kept around it.

    ``band`` is the highest spatial frequency (Å⁻¹, output frame) with non-negligible
    transfer; the splatting grid is refined until the band lies below
    SPLAT_BAND_FRACTION of its sampling frequency. FFT sizes are 5-smooth.
    """
    h, w = crop
    m = math.ceil(margin / pixel_size)
    ny = sfft.next_fast_len(h + 2 * m, real=True)
    nx = sfft.next_fast_len(w + 2 * m, real=True)
    coarse_band = min(band, 0.5 / pixel_size)
    max_fine = SPLAT_BAND_FRACTION / coarse_band if coarse_band > 0 else math.inf
    nfy = max(ny, sfft.next_fast_len(math.ceil(ny * pixel_size / max_fine), real=True))
    nfx = max(nx, sfft.next_fast_len(math.ceil(nx * pixel_size / max_fine), real=True))
    return GridPlan(shape=(ny, nx), fine_shape=(nfy, nfx), crop=(h, w), margin=m, pixel_size=pixel_size)


def source_region(plan: GridPlan, matrix: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box (x_min, x_max, y_min, y_max) in Å, y up, of the undistorted points that
    can land on the grid's crop-plus-margin (offsets from the crop centre)."""
    h, w = plan.crop
    hx = 0.5 * w + plan.margin + 2.0
    hy = 0.5 * h + plan.margin + 2.0
    corners = np.array([[-hx, -hy], [hx, -hy], [-hx, hy], [hx, hy]])
    src = corners @ np.linalg.inv(matrix).T * plan.pixel_size
    return (src[:, 0].min(), src[:, 0].max(), -src[:, 1].max(), -src[:, 1].min())


def _bspline_weights(t: np.ndarray) -> np.ndarray:
    """Cubic B-spline weights (4, n) for offsets i-1, i, i+1, i+2 at fractions t in [0, 1)."""
    t2 = t * t
    t3 = t2 * t
    return np.stack(
        [
            (1.0 - t) ** 3 / 6.0,
            (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0,
            (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0,
            t3 / 6.0,
        ]
    )


def splat(shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Deposit ``weights`` at fractional (row, col) grid positions with cubic B-splines, wrapping."""
    ny, nx = shape
    r0 = np.floor(rows)
    c0 = np.floor(cols)
    wr = _bspline_weights(rows - r0)  # (4, n)
    wc = _bspline_weights(cols - c0)
    ri = (r0.astype(np.int64)[None, :] + np.arange(-1, 3)[:, None]) % ny  # (4, n)
    ci = (c0.astype(np.int64)[None, :] + np.arange(-1, 3)[:, None]) % nx
    flat = (ri[:, None, :] * nx + ci[None, :, :]).ravel()
    vals = (wr[:, None, :] * wc[None, :, :] * weights[None, None, :]).ravel()
    return np.bincount(flat, weights=vals, minlength=ny * nx).reshape(ny, nx)


def render_columns(
    rows: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray,
    *,
    plan: GridPlan,
    transfer: Callable[[np.ndarray], np.ndarray],
    transfer_k: np.ndarray,
    source_size: float,
    matrix: np.ndarray | None = None,
    pixel_integration: bool = True,
) -> np.ndarray:
    """The crop (per Å²) of weighted points at (row, col) pixel offsets from the crop centre.

    The points are already distorted (q = M s); the image is the distortion of the
    undistorted band-limited image, computed exactly in Fourier space: with κ = Mᵀk,

        Î(k) = |det M| S(k) · T(|κ|) · exp(-π² (d/2)² |κ|² / ln 2) · sinc(kx p) sinc(ky p),

    S the points' spectrum (cubic B-spline splatting, deconvolved), T the probe transfer
    (``transfer``, tabulated at ``transfer_k``), d the source-size FWHM, p the pixel (box
    integration over the pixel; ``pixel_integration=False`` drops the two sinc factors,
    i.e. samples the image at the pixel centres, as incostem does). Frequencies above the
    grid's Nyquist are dropped.
    """
    m = np.eye(2) if matrix is None else np.asarray(matrix, dtype=float)
    ny, nx = plan.shape
    nfy, nfx = plan.fine_shape
    p = plan.pixel_size
    dfy, dfx = plan.fine_spacing
    cy, cx = plan.center
    grid = splat((nfy, nfx), (rows + cy) * (nfy / ny), (cols + cx) * (nfx / nx), weights)
    # float32 FFTs: twice as fast, and far more precise than any image comparison needs.
    # rfft2 in its two passes (the same numbers bit for bit): along the rows, then along
    # the columns for only the nx // 2 + 1 frequencies the output grid keeps.
    half = sfft.rfft(grid.astype(np.float32), axis=1)
    if nfx != nx:
        half = half[:, : nx // 2 + 1]
    spec = sfft.fft(half, axis=0, overwrite_x=True)
    if nfy != ny:
        neg = ny - ny // 2 - 1
        spec = np.concatenate([spec[: ny // 2 + 1], spec[nfy - neg :]], axis=0)
    ky = sfft.fftfreq(ny, d=p)
    kx = sfft.rfftfreq(nx, d=p)
    # |Mᵀk|² = k·(M Mᵀ)k for k = (kx, ky).
    g = m @ m.T
    kappa2 = (g[0, 0] * kx * kx).astype(np.float32)[None, :] + (g[1, 1] * ky * ky).astype(np.float32)[:, None]
    if g[0, 1] != 0.0:
        kappa2 += np.outer((2.0 * g[0, 1]) * ky, kx).astype(np.float32)
    # Radial part (probe transfer times source Gaussian), resampled once per call on a fine
    # uniform |κ| table and looked up (nearest of RADIAL_TABLE points, error < 1e-4).
    cutoff = float(transfer_k[-1])
    step = cutoff / (RADIAL_TABLE - 2)
    kt = np.arange(RADIAL_TABLE) * step
    gauss = math.pi**2 * (0.5 * source_size) ** 2 / math.log(2.0)
    table = (transfer(kt) * np.exp(-gauss * kt * kt)).astype(np.float32)
    table[-1] = 0.0
    index = np.sqrt(kappa2)
    index *= np.float32(1.0 / step)
    index += np.float32(0.5)
    idx = index.astype(np.intp)
    np.minimum(idx, RADIAL_TABLE - 1, out=idx)
    filt = table[idx]
    # Separable parts: box integration over the pixel, B-spline deconvolution, scale.
    scale = abs(np.linalg.det(m)) * (ny / nfy) * (nx / nfx) / (dfy * dfx)
    box = 1.0 if pixel_integration else 0.0
    fy = np.sinc(box * ky * p) / np.sinc(ky * dfy) ** 4 * scale
    fx = np.sinc(box * kx * p) / np.sinc(kx * dfx) ** 4
    if ny % 2 == 0:
        fy[ny // 2] = 0.0
    if nx % 2 == 0:
        fx[nx // 2] = 0.0
    filt *= fy.astype(np.float32)[:, None]
    filt *= fx.astype(np.float32)[None, :]
    spec *= filt
    # irfft2(spec, s=(ny, nx)) in its two passes, the second on the crop's rows only (the
    # same numbers bit for bit: irfft2 scales once, after its last pass, as here)
    oy, ox = plan.offset
    h, w = plan.crop
    crop_rows = sfft.ifft(spec, axis=0, norm="forward", overwrite_x=True)[oy : oy + h]
    image = sfft.irfft(crop_rows, n=nx, axis=1, norm="forward")[:, ox : ox + w]
    image *= np.float32(1.0 / (ny * nx))
    return image


def distort_to_crop(
    image: np.ndarray,
    spacing: tuple[float, float],
    crop: tuple[int, int],
    *,
    pixel_size: float,
    shear_x: float = 0.0,
    shear_y: float = 0.0,
    stretch_x: float = 0.0,
    stretch_y: float = 0.0,
    order: int = 1,
) -> np.ndarray:
    """Shear/stretch about the centre and resample from ``spacing`` (dy, dx) to ``pixel_size``.

    With D = diag(dx/p, dy/p) the grid-to-pixel scale and M = S·H the distortion, the
    output offset q samples the grid at (M D)⁻¹ q; M D is again a stretch-shear product
    with shear_x·Dy/Dx, shear_y·Dx/Dy and (1 + stretch)·D, so one call to
    ``affine_distort`` (one interpolation) does both.
    """
    dy, dx = spacing
    sx = dx / pixel_size
    sy = dy / pixel_size
    return affine_distort(
        image,
        crop,
        shear_x=shear_x * sy / sx,
        shear_y=shear_y * sx / sy,
        stretch_x=(1.0 + stretch_x) * sx - 1.0,
        stretch_y=(1.0 + stretch_y) * sy - 1.0,
        order=order,
        mode="grid-wrap",
    )


def source_band(source_size: float, transfer_cutoff: float) -> float:
    """Highest frequency (Å⁻¹) where the transfer times the source Gaussian exceeds BAND_LEVEL."""
    if source_size <= 0:
        return transfer_cutoff
    k_gauss = math.sqrt(4.0 * math.log(2.0) * math.log(1.0 / BAND_LEVEL)) / (math.pi * source_size)
    return min(transfer_cutoff, k_gauss)
