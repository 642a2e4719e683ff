"""From the periodic multislice image of a cell to the crop, with the image-side parameters.

The multislice image is computed once (per structure and optics) on a scan grid over one
cell, sampled finer than the probe's Nyquist λ/(4α); the HAADF image is band-limited to
2α/λ, so that grid holds it exactly as a Fourier series over the cell. Every evaluation
then renders the crop from the series, with the same image-side model as the convolution
model (``ingrained_stem.image_side``):

    Î'(k) = Î(κ) · exp(−π² (d/2)² |κ|² / ln 2) · sinc(kₓ p) sinc(k_y p),   κ = Mᵀk

(source-size Gaussian of FWHM d, box integration over the output pixel p in the
distorted frame, frequencies beyond the output grid's Nyquist dropped), evaluated on the
cell's own frequencies κ (exact, periodic). M is the distortion matrix the convolution
model uses (either shear convention: any M with a non-zero diagonal is one stretch·shear,
:func:`as_shear_stretch`). The filtered series is synthesised on a fine periodic grid of
one cell, centred on the cell centre (a Fourier phase shift, exact), and resampled to the
pixel size with the distortion in ONE cubic interpolation
(``ingrained_stem.image_side.distort_to_crop``, periodic boundary). The fine grid is
``OVERSAMPLE`` times finer than the highest frequency that survives the filter, so that
interpolation's error is ~10⁻³ of the image contrast.

Frames: the cell image comes with rows = y pointing *up* the cell; the crop is rendered
with the vertical axis up on screen ("c up", shear and stretch applied in that frame) and
turned over by the caller for ``vertical = "down"``, as the convolution model does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ingrained_stem.api import distort_to_crop, source_band
from scipy import fft as sfft

#: Fine-grid samples per period of the highest frequency kept, over the 2 of Nyquist.
OVERSAMPLE = 3.0


@dataclass(frozen=True)
class PeriodicImage:
    """A real image periodic over a ``width`` x ``height`` Å cell, as its half spectrum.

    ``array`` rows run up the cell (y), columns along x; sample (j, i) sits at
    (x, y) = (i · width / nx, j · height / ny). ``band`` (Å⁻¹) is the highest frequency
    the image holds (2α/λ for a HAADF image, capped at the grid's Nyquist).
    """

    array: np.ndarray
    width: float
    height: float
    band: float

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.array.shape[0]), int(self.array.shape[1]))

    def spectrum(self) -> np.ndarray:
        """rfft2 of the array (cached on first use)."""
        cached = self.__dict__.get("_spectrum")
        if cached is None:
            cached = sfft.rfft2(self.array)
            cached.setflags(write=False)
            object.__setattr__(self, "_spectrum", cached)
        return cached


def _fine_size(n: int, extent: float, band: float) -> int:
    """Samples over ``extent`` with OVERSAMPLE · 2 per period of ``band`` (at least n)."""
    want = math.ceil(2.0 * OVERSAMPLE * band * extent)
    return sfft.next_fast_len(max(n, want, 8), real=True)


def as_shear_stretch(matrix: np.ndarray) -> dict[str, float]:
    """(shear_x, shear_y, stretch_x, stretch_y) with ``distortion_matrix(...) == matrix``.

    Any M with a non-zero diagonal is S·H = [[s₁, s₁a], [s₂b, s₂]]; so is S·H⁻¹ (the
    convolution model's "inverse" shear convention), which lets one interpolation routine
    serve both conventions.
    """
    m = np.asarray(matrix, dtype=float)
    return {
        "shear_x": float(m[0, 1] / m[0, 0]),
        "shear_y": float(m[1, 0] / m[1, 1]),
        "stretch_x": float(m[0, 0] - 1.0),
        "stretch_y": float(m[1, 1] - 1.0),
    }


def render(
    cell: PeriodicImage,
    crop: tuple[int, int],
    *,
    pixel_size: float,
    source_size: float,
    matrix: np.ndarray | None = None,
    pixel_integration: bool = True,
    center: tuple[float, float] | None = None,
) -> np.ndarray:
    """The ``crop`` = (h, w) image, vertical axis up on screen, centred on ``center`` (x, y) Å.

    ``matrix`` is the distortion M acting on (x, row-down) offsets from the crop centre
    (``ingrained_core.plugin.distortion.distortion_matrix``; identity when None);
    ``pixel_integration`` False drops the pixel's box integration (point sampling).
    ``center`` defaults to the cell centre. See the module docstring for the model.
    """
    ny, nx = cell.shape
    w_cell, h_cell = cell.width, cell.height
    xc, yc = (0.5 * w_cell, 0.5 * h_cell) if center is None else center
    p = float(pixel_size)
    m = np.eye(2) if matrix is None else np.asarray(matrix, dtype=float)
    minv_t = np.linalg.inv(m).T

    # Cell frequencies (x, y up) and the same in the screen frame (x, row down).
    kx = sfft.rfftfreq(nx, d=w_cell / nx)
    ky = sfft.fftfreq(ny, d=h_cell / ny)
    kxx = kx[None, :]
    kyy = -ky[:, None]
    # Output-frame frequency k' = M^-T κ (screen frame).
    k1 = minv_t[0, 0] * kxx + minv_t[0, 1] * kyy
    k2 = minv_t[1, 0] * kxx + minv_t[1, 1] * kyy
    nyq = 0.5 / p
    keep = (np.abs(k1) < nyq) & (np.abs(k2) < nyq)
    kappa2 = kxx * kxx + kyy * kyy
    gauss = math.pi**2 * (0.5 * source_size) ** 2 / math.log(2.0)
    box = p if pixel_integration else 0.0
    filt = np.exp(-gauss * kappa2) * np.sinc(k1 * box) * np.sinc(k2 * box) * keep
    if nx % 2 == 0:
        filt[:, nx // 2] = 0.0  # the Nyquist column of an even grid holds no usable phase
    if ny % 2 == 0:
        filt[ny // 2, :] = 0.0

    # Highest frequency left along x and y of the cell (the fine grid must carry it).
    band = min(cell.band, source_band(source_size, cell.band))
    bx = min(band, (abs(m[0, 0]) + abs(m[1, 0])) * nyq)
    by = min(band, (abs(m[0, 1]) + abs(m[1, 1])) * nyq)
    nfx = _fine_size(nx, w_cell, bx)
    nfy = _fine_size(ny, h_cell, by)
    dxf, dyf = w_cell / nfx, h_cell / nfy
    # Fine sample (k, l) sits at (x1 + l dxf, y1 + k dyf): centre index ((n-1)/2) on (xc, yc).
    x1 = xc - 0.5 * (nfx - 1) * dxf
    y1 = yc - 0.5 * (nfy - 1) * dyf
    phase = np.exp(2j * np.pi * (kx[None, :] * x1 + ky[:, None] * y1))
    coeffs = cell.spectrum() * filt * phase * ((nfx * nfy) / (nx * ny))

    fine = np.zeros((nfy, nfx // 2 + 1), dtype=np.complex128)
    cols = min(nx // 2 + 1, nfx // 2 + 1)
    pos = (ny + 1) // 2  # rows of non-negative frequency
    neg = ny - pos
    pos_f = min(pos, (nfy + 1) // 2)
    neg_f = min(neg, nfy - (nfy + 1) // 2)
    fine[:pos_f, :cols] = coeffs[:pos_f, :cols]
    if neg_f:
        fine[nfy - neg_f :, :cols] = coeffs[ny - neg_f :, :cols]
    grid = sfft.irfft2(fine, s=(nfy, nfx))
    screen = grid[::-1]  # rows down the screen = y decreasing
    return distort_to_crop(
        np.ascontiguousarray(screen),
        (dyf, dxf),
        crop,
        pixel_size=p,
        order=3,
        **as_shear_stretch(m),
    )
