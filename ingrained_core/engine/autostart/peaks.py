"""Lattice peaks of an image: the strongest Fourier peaks, with sub-pixel positions.

A periodic image (an atomic lattice) shows sharp peaks in its power spectrum at the
reciprocal-lattice vectors. They are found as local maxima of the Hann-windowed, zero-padded
power spectrum that stand far above the spectrum's own level at the same spatial
frequency (the median over a thin ring, and over its spectrum row and column, so that
streaks along the axes from scan lines or an interface do not count): for pure noise the ratio of a power value to that
median is ``Exp(1) / ln 2`` distributed, so a ratio of 30 or more (the default) happens by
chance about once in 10⁹ spectrum pixels. Vectors are in cycles per pixel in the
(column, row) frame of the image; one of each Friedel pair (±k) is kept (the half plane
row > 0, or row = 0 and column > 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from ingrained_core.plugin.errors import IngrainedError


#: peaks weaker than this fraction of the strongest (power) are not lattice peaks worth matching
DYNAMIC_RANGE = 1e4


class NoLatticeError(IngrainedError):
    """An image (or a structure's simulation) shows no lattice to estimate a start from."""


@dataclass
class LatticePeaks:
    """Fourier peaks of one image: ``k`` (n, 2) in cycles/px as (column, row), ``strength``
    (n,) natural log of the power over the ring median, strongest first; ``shape`` of the image."""

    k: np.ndarray
    strength: np.ndarray
    shape: tuple[int, int]

    @property
    def periods_px(self) -> np.ndarray:
        """The real-space period of each peak (px)."""
        return 1.0 / np.linalg.norm(self.k, axis=1)

    def as_list(self) -> list[dict[str, float]]:
        """JSON-friendly peaks: k (cycles/px), period (px), strength."""
        return [{"k_col": float(k[0]), "k_row": float(k[1]), "period_px": float(1.0 / np.linalg.norm(k)),
                 "strength": float(s)} for k, s in zip(self.k, self.strength)]


def _ring_median(log_power: np.ndarray, radius: np.ndarray, width: float) -> np.ndarray:
    """The median of ``log_power`` over rings of ``width`` spectrum pixels, per pixel."""
    bins = np.floor(radius / width).astype(int)
    flat_bins = bins.ravel()
    order = np.argsort(flat_bins, kind="stable")
    values = log_power.ravel()[order]
    sorted_bins = flat_bins[order]
    edges = np.flatnonzero(np.diff(sorted_bins)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [values.size]])
    med = np.empty(int(sorted_bins[-1]) + 1)
    med[:] = np.nan
    for s, e in zip(starts, ends):
        med[sorted_bins[s]] = np.median(values[s:e])
    good = ~np.isnan(med)
    med = np.interp(np.arange(med.size), np.flatnonzero(good), med[good])
    return med[bins]


def lattice_peaks(
    image: np.ndarray,
    *,
    max_peaks: int = 24,
    min_ratio: float = 30.0,
    max_period_px: float | None = None,
    min_period_px: float = 2.0,
    name: str = "image",
) -> LatticePeaks:
    """The strongest lattice peaks of ``image`` (see the module doc).

    ``max_period_px`` (default: a quarter of the smaller side) and ``min_period_px``
    (default 2, the Nyquist limit) bound the periods searched. Raises
    :class:`NoLatticeError` naming ``name`` when fewer than two peaks in different
    directions stand out (a blank frame, noise, an amorphous region).
    """
    a = np.asarray(image, dtype=float)
    h, w = a.shape
    if min(h, w) < 16:
        raise NoLatticeError(f"{name}: {h} x {w} px is too small to show a lattice (at least 16 x 16 px)")
    a = a - a.mean()
    if not np.any(np.abs(a) > 1e-12 * max(1.0, float(np.abs(image).max()))):
        raise NoLatticeError(f"{name}: the image is blank (constant), it shows no lattice")
    win = np.hanning(h)[:, None] * np.hanning(w)[None, :]
    n = sfft.next_fast_len(2 * max(h, w))
    power = np.abs(sfft.fftshift(sfft.fft2(a * win, (n, n)))) ** 2
    logp = np.log(power + power.max() * 1e-30 + 1e-300)
    c = n // 2
    rr, cc = np.mgrid[0:n, 0:n]
    radius = np.hypot(rr - c, cc - c)
    bg = _ring_median(logp, radius, width=max(1.0, n / 256))
    # Scan-line noise and an interface put streaks through the spectrum along the axes: a
    # peak must also stand out from the median of its own spectrum row and column.
    bg = np.maximum(bg, np.median(logp, axis=0, keepdims=True))
    bg = np.maximum(bg, np.median(logp, axis=1, keepdims=True))
    # A noise-free image (the model's own simulation) has next to no background: peaks are
    # judged against a floor of DYNAMIC_RANGE below the strongest lattice-band power.
    band = (radius >= n / (max_period_px if max_period_px is not None else min(h, w) / 4.0))
    bg = np.maximum(bg, float(logp[band].max()) - math.log(DYNAMIC_RANGE))
    excess = logp - bg
    local = ndimage.maximum_filter(logp, size=5, mode="wrap") == logp
    k_lo = n / (max_period_px if max_period_px is not None else min(h, w) / 4.0)
    k_hi = n / min_period_px
    half = (rr > c) | ((rr == c) & (cc > c))
    ok = local & half & (radius >= k_lo) & (radius <= k_hi) & (excess >= math.log(min_ratio))
    ok[[0, -1], :] = False
    ok[:, [0, -1]] = False
    ys, xs = np.nonzero(ok)
    order = np.argsort(-excess[ys, xs])[: 4 * max_peaks]
    ys, xs = ys[order], xs[order]
    ks, strengths = [], []
    for y, x in zip(ys, xs):
        dy = _vertex(logp[y - 1, x], logp[y, x], logp[y + 1, x])
        dx = _vertex(logp[y, x - 1], logp[y, x], logp[y, x + 1])
        ks.append(((x + dx - c) / n, (y + dy - c) / n))
        strengths.append(float(excess[y, x]))
    k = np.array(ks, dtype=float).reshape(-1, 2)
    s = np.array(strengths, dtype=float)
    k, s = _drop_harmonic_duplicates(k, s, 1.5 / n)
    k, s = k[:max_peaks], s[:max_peaks]
    k = _refine_positions(a * win, k)
    if k.shape[0] < 2 or not _two_directions(k):
        found = "no peak" if k.shape[0] == 0 else f"{k.shape[0]} peak(s) along one direction only"
        raise NoLatticeError(
            f"{name}: no lattice found ({found} standing {min_ratio:g}x above the power spectrum at "
            f"periods {min_period_px:g}-{n / k_lo:.0f} px); it looks like noise, an amorphous region or a blank frame")
    return LatticePeaks(k, s, (h, w))


def _refine_positions(windowed: np.ndarray, k: np.ndarray, zoom: int = 15) -> np.ndarray:
    """Each peak moved to the maximum of the windowed image's continuous Fourier transform
    |Σ I(x) e^(-2πi k·x)|² near it (the spectrum grid only samples it): the transform on a
    fine grid of ``zoom`` x ``zoom`` points over ±0.7 of a spectrum bin (two matrix
    products), then the parabola through the best point and its neighbours."""
    h, w = windowed.shape
    if k.shape[0] == 0:
        return k
    span = 0.7 / max(h, w)
    d = np.linspace(-span, span, zoom)
    step = d[1] - d[0]
    rows = np.arange(h, dtype=float) - (h - 1) / 2.0
    cols = np.arange(w, dtype=float) - (w - 1) / 2.0
    kr = k[:, 1][:, None] + d[None, :]  # (P, z)
    kc = k[:, 0][:, None] + d[None, :]
    er = np.exp(-2j * np.pi * kr[:, :, None] * rows[None, None, :]).reshape(-1, h)  # (P z, h)
    left = (er @ windowed).reshape(k.shape[0], zoom, w)  # (P, z, w)
    ec = np.exp(-2j * np.pi * cols[None, :, None] * kc[:, None, :])  # (P, w, z)
    power = np.abs(np.einsum("pzw,pwy->pzy", left, ec)) ** 2  # (P, z_row, z_col)
    out = k.copy()
    for i in range(k.shape[0]):
        lp = np.log(power[i] + 1e-300)
        r, c = np.unravel_index(int(np.argmax(lp)), lp.shape)
        if 0 < r < zoom - 1 and 0 < c < zoom - 1:
            out[i, 1] = kr[i, r] + step * _vertex(lp[r - 1, c], lp[r, c], lp[r + 1, c])
            out[i, 0] = kc[i, c] + step * _vertex(lp[r, c - 1], lp[r, c], lp[r, c + 1])
    return out


def _vertex(left: float, mid: float, right: float) -> float:
    """Sub-pixel offset of the parabola through three samples (clipped to ±0.5)."""
    denom = left - 2.0 * mid + right
    if denom >= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def _drop_harmonic_duplicates(k: np.ndarray, s: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge peaks closer than ``tol`` (a split maximum), keeping the stronger."""
    keep: list[int] = []
    for i in range(k.shape[0]):
        if all(np.linalg.norm(k[i] - k[j]) > tol for j in keep):
            keep.append(i)
    return k[keep], s[keep]


def _two_directions(k: np.ndarray, min_angle_deg: float = 10.0) -> bool:
    unit = k / np.linalg.norm(k, axis=1, keepdims=True)
    cos = np.abs(unit @ unit.T)
    return bool(np.any(cos < math.cos(math.radians(min_angle_deg))))
