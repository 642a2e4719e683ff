"""Coarse-to-fine placement of a simulation inside the experimental image (the paper's
"Image Registration"), and the residual translation d_trans.

1. **Coarse**: both images are block-averaged (factor 2 when the simulation is at least
   70 px on its short side) and quantised to 64 levels; every placement of the simulation
   in the experiment is ranked at once, by FFT normalised cross-correlation (``ncc``, the
   default) or by the paper's windowed-histogram chi-squared map (``chi2``). The best
   few well-separated placements become candidates.
2. **Fine**: around each candidate, at native resolution, the placements of one
   normalised cross-correlation surface (the whole +-(factor + 2) px neighbourhood at
   once), and the best position of that surface over the whole allowed window, are
   tested, best first (at most six), for *stability*: unnormalised phase cross-correlation
   (``normalization=None``) between simulation and patch finds no residual shift.
3. The chosen placement is the stable one with the highest correlation; if none is
   stable, the one with the smallest residual shift. ``d_trans`` = |dy| + |dx| of that
   residual shift in whole native pixels (0 when locked in place).

Search bias (the paper's grain-boundary mode): with a free range R = H - h of row
positions, ``vertical_bias`` b excludes the outer b * R rows at each end, so the
simulation centre stays near the image centre (b = 0.15 by default); ``horizontal_bias``
likewise for columns (0 by default). An optional ``roi`` (row0, row1, col0, col1) limits
the search to that part of the experiment.

Everything about the experiment (FFTs per transform size, integral images, the
downsampled copy) is computed once and cached, as the registrar is called for every
evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import fft as sfft

from .errors import ConfigError

COARSE_MIN_SIZE = 70
QUANT_LEVELS = 64
CHI2_BINS = 16
N_CANDIDATES = 3
FINE_TESTS = 2
PATCH_CACHE = 512
MAX_TESTS = 6


@dataclass(frozen=True)
class Placement:
    """Where the simulation sits in the experiment, and how well it is locked there."""

    row: int
    col: int
    height: int
    width: int
    d_trans: int
    shift: tuple[int, int]
    score: float
    patch: np.ndarray = field(repr=False, compare=False)


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    if f == 1:
        return a
    h, w = (a.shape[0] // f) * f, (a.shape[1] // f) * f
    return a[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))


def _quantise(a: np.ndarray, levels: int = QUANT_LEVELS) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros_like(a)
    return np.minimum(np.floor((a - lo) / (hi - lo) * levels), levels - 1)


def _integral(a: np.ndarray) -> np.ndarray:
    out = np.zeros((a.shape[0] + 1, a.shape[1] + 1), dtype=float)
    np.cumsum(np.cumsum(a, axis=0), axis=1, out=out[1:, 1:])
    return out


def _window_sums(integral: np.ndarray, h: int, w: int) -> np.ndarray:
    return integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]


class _Surface:
    """Normalised cross-correlation of templates with one fixed image, FFTs cached."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = np.asarray(image, dtype=float)
        self.s1 = _integral(self.image)
        self.s2 = _integral(self.image**2)
        self._ffts: dict[tuple[int, int], np.ndarray] = {}

    def ncc(self, template: np.ndarray) -> np.ndarray:
        """NCC of ``template`` at every valid top-left position, shape (H-h+1, W-w+1)."""
        H, W = self.image.shape
        h, w = template.shape
        shape = (sfft.next_fast_len(H, real=True), sfft.next_fast_len(W, real=True))
        fe = self._ffts.get(shape)
        if fe is None:
            fe = self._ffts[shape] = sfft.rfft2(self.image, s=shape)
        t = template - template.mean()
        tnorm = math.sqrt(float(np.sum(t * t)))
        corr = sfft.irfft2(fe * np.conj(sfft.rfft2(t, s=shape)), s=shape)[: H - h + 1, : W - w + 1]
        n = h * w
        s1 = _window_sums(self.s1, h, w)
        var = _window_sums(self.s2, h, w) - s1 * s1 / n
        denom = np.sqrt(np.maximum(var, 0.0)) * tnorm
        out = np.zeros_like(corr)
        ok = denom > 1e-12 * max(1.0, float(denom.max(initial=0.0)))
        out[ok] = corr[ok] / denom[ok]
        return out


class _Chi2:
    """Windowed-histogram chi-squared map (the paper's coarse ranking), lower is better."""

    def __init__(self, image: np.ndarray, bins: int = CHI2_BINS) -> None:
        q = np.minimum((image * bins / QUANT_LEVELS).astype(int), bins - 1)
        self.bins = bins
        self.integrals = [_integral((q == b).astype(float)) for b in range(bins)]

    def score(self, template: np.ndarray) -> np.ndarray:
        h, w = template.shape
        q = np.minimum((template * self.bins / QUANT_LEVELS).astype(int), self.bins - 1)
        ht = np.bincount(q.ravel(), minlength=self.bins).astype(float)
        chi = 0.0
        for b in range(self.bins):
            he = _window_sums(self.integrals[b], h, w)
            s = he + ht[b]
            chi = chi + np.where(s > 0, (he - ht[b]) ** 2 / np.where(s > 0, s, 1.0), 0.0)
        return -chi / (h * w)  # higher is better, like NCC


def residual_shift_exact(simulation: np.ndarray, patch: np.ndarray) -> tuple[int, int]:
    """``skimage.registration.phase_cross_correlation(patch, simulation, normalization=None)``
    as whole pixels: the reference definition the fast :func:`residual_shift` is checked against."""
    from skimage.registration import phase_cross_correlation

    shift, _, _ = phase_cross_correlation(patch, simulation, normalization=None)
    return int(round(float(shift[0]))), int(round(float(shift[1])))


def residual_shift(simulation: np.ndarray, patch: np.ndarray, sim_spectrum: np.ndarray | None = None,
                   patch_spectrum: np.ndarray | None = None) -> tuple[int, int]:
    """Whole-pixel translation that cross-correlation still finds between simulation and patch.

    Exactly ``phase_cross_correlation(patch, simulation, normalization=None)`` of
    scikit-image (unnormalised circular cross-correlation on the images' own size, peak of
    its magnitude, shifts past the midpoint wrapped to negative), as the published runs
    computed d_trans, but with real FFTs and optional precomputed spectra
    (``rfft2`` of each image) so repeated tests cost one inverse transform.
    """
    shape = patch.shape
    fs = sfft.rfft2(simulation) if sim_spectrum is None else sim_spectrum
    fp = sfft.rfft2(patch) if patch_spectrum is None else patch_spectrum
    cc = sfft.irfft2(fp * np.conj(fs), s=shape)
    peak = np.unravel_index(int(np.argmax(np.abs(cc))), shape)
    out = []
    for p, n in zip(peak, shape):
        p = int(p)
        out.append(p - n if p > n // 2 else p)
    return out[0], out[1]


class Registrar:
    """Places simulations in one experimental image (set up once, called per evaluation)."""

    def __init__(
        self,
        experiment: np.ndarray,
        *,
        vertical_bias: float = 0.15,
        horizontal_bias: float = 0.0,
        roi: tuple[int, int, int, int] | None = None,
        method: Literal["ncc", "chi2"] = "ncc",
    ) -> None:
        exp = np.asarray(experiment, dtype=float)
        if exp.ndim != 2:
            raise ConfigError(f"the experimental image must be 2-D, got shape {exp.shape}")
        if not np.all(np.isfinite(exp)):
            raise ConfigError("the experimental image holds NaN or infinite values")
        if float(exp.max()) <= float(exp.min()):
            raise ConfigError("the experimental image is constant: nothing to register against")
        for label, b in (("vertical_bias", vertical_bias), ("horizontal_bias", horizontal_bias)):
            if not 0.0 <= b < 0.5 + 1e-12:
                raise ConfigError(f"registration.{label} must lie in [0, 0.5], got {b}")
        if method not in ("ncc", "chi2"):
            raise ConfigError(f"registration.method must be 'ncc' or 'chi2', got {method!r}")
        self.offset = (0, 0)
        if roi is not None:
            r0, r1, c0, c1 = roi
            if not (0 <= r0 < r1 <= exp.shape[0] and 0 <= c0 < c1 <= exp.shape[1]):
                raise ConfigError(f"registration.roi {roi} does not lie inside the experiment {exp.shape}")
            exp = exp[r0:r1, c0:c1]
            self.offset = (r0, c0)
        self.experiment = exp
        self.vertical_bias = vertical_bias
        self.horizontal_bias = horizontal_bias
        self.method = method
        self._native = _Surface(exp)
        self._coarse: dict[int, tuple[np.ndarray, object]] = {}
        self._spectra: dict[tuple[int, int, int, int], np.ndarray] = {}

    # -- pieces ----------------------------------------------------------------------------
    def _patch_spectrum(self, r: int, c: int, h: int, w: int) -> np.ndarray:
        """``rfft2`` of an experimental patch; an optimizer revisits the same placements and
        crop sizes many times, so the most recent ones are kept (experiment-only data)."""
        key = (r, c, h, w)
        spec = self._spectra.pop(key, None)
        if spec is None:
            spec = sfft.rfft2(self.experiment[r : r + h, c : c + w])
        self._spectra[key] = spec
        if len(self._spectra) > PATCH_CACHE:
            self._spectra.pop(next(iter(self._spectra)))
        return spec

    def _coarse_scorer(self, f: int) -> tuple[np.ndarray, object]:
        if f not in self._coarse:
            img = _quantise(_block_mean(self.experiment, f))
            scorer = _Chi2(img) if self.method == "chi2" else _Surface(img)
            self._coarse[f] = (img, scorer)
        return self._coarse[f]

    def _allowed(self, h: int, w: int) -> tuple[int, int, int, int]:
        """Inclusive native ranges of top-left rows and columns the bias allows."""
        H, W = self.experiment.shape
        rr, rc = H - h, W - w
        dr = int(math.floor(self.vertical_bias * rr + 1e-9))
        dc = int(math.floor(self.horizontal_bias * rc + 1e-9))
        return dr, rr - dr, dc, rc - dc

    # -- the registration ------------------------------------------------------------------
    def register(self, simulation: np.ndarray) -> Placement:
        """The placement of ``simulation`` with the least residual shift (see module doc)."""
        sim = np.asarray(simulation, dtype=float)
        H, W = self.experiment.shape
        h, w = sim.shape
        if h > H or w > W:
            raise ConfigError(
                f"the experimental image ({H} x {W} px) is smaller than the simulation ({h} x {w} px)"
            )
        r_lo, r_hi, c_lo, c_hi = self._allowed(h, w)
        f = 2 if min(h, w) >= COARSE_MIN_SIZE else 1
        cimg, scorer = self._coarse_scorer(f)
        csim = _quantise(_block_mean(sim, f))
        ch, cw = csim.shape
        if scorer.__class__ is _Chi2:
            cmap = scorer.score(csim)  # type: ignore[attr-defined]
        else:
            cmap = scorer.ncc(csim)  # type: ignore[attr-defined]
        # Coarse candidates inside the allowed window, best first, well separated.
        masked = np.full(cmap.shape, -np.inf)
        rs, re_ = int(math.ceil(r_lo / f)), min(cmap.shape[0] - 1, r_hi // f)
        cs, ce = int(math.ceil(c_lo / f)), min(cmap.shape[1] - 1, c_hi // f)
        if re_ < rs:
            rs = re_ = min(max(0, int(round((r_lo + r_hi) / 2 / f))), cmap.shape[0] - 1)
        if ce < cs:
            cs = ce = min(max(0, int(round((c_lo + c_hi) / 2 / f))), cmap.shape[1] - 1)
        masked[rs : re_ + 1, cs : ce + 1] = cmap[rs : re_ + 1, cs : ce + 1]
        candidates = []
        sep = 3
        work = masked.copy()
        for _ in range(N_CANDIDATES):
            k = int(np.argmax(work))
            r, c = divmod(k, work.shape[1])
            if not np.isfinite(work[r, c]):
                break
            candidates.append((r * f, c * f))
            work[max(0, r - sep) : r + sep + 1, max(0, c - sep) : c + sep + 1] = -np.inf
        # Fine: one native NCC surface, tested around each candidate.
        native = self._native.ncc(sim)
        sim_fft = sfft.rfft2(sim)
        radius = f + 2
        positions: dict[tuple[int, int], float] = {}
        for r0, c0 in candidates:
            ra, rb = max(r_lo, r0 - radius), min(r_hi, r0 + radius)
            ca, cb = max(c_lo, c0 - radius), min(c_hi, c0 + radius)
            if rb < ra or cb < ca:
                ra = rb = min(max(r0, r_lo), r_hi)
                ca = cb = min(max(c0, c_lo), c_hi)
            local = native[ra : rb + 1, ca : cb + 1]
            for k in np.argsort(-local, axis=None, kind="stable")[:FINE_TESTS]:
                dr, dc = divmod(int(k), local.shape[1])
                positions[(ra + dr, ca + dc)] = float(local[dr, dc])
        # The native surface is complete anyway: its best allowed position is a candidate too.
        allowed = native[r_lo : r_hi + 1, c_lo : c_hi + 1]
        if allowed.size:
            dr, dc = divmod(int(np.argmax(allowed)), allowed.shape[1])
            positions[(r_lo + dr, c_lo + dc)] = float(allowed[dr, dc])
        # Test the best-correlated positions first; the first stable one wins, else the one
        # with the smallest residual shift.
        best: tuple[tuple[int, float], int, int, tuple[int, int]] | None = None
        ranked = sorted(positions.items(), key=lambda item: (-item[1], item[0]))[:MAX_TESTS]
        for (r, c), score in ranked:
            shift = residual_shift(sim, self.experiment[r : r + h, c : c + w], sim_fft, self._patch_spectrum(r, c, h, w))
            key = (abs(shift[0]) + abs(shift[1]), -score)
            if best is None or key < best[0]:
                best = (key, r, c, shift)
            if shift == (0, 0):
                break
        assert best is not None
        (d_trans, neg_score), r, c, shift = best
        return Placement(
            row=r + self.offset[0], col=c + self.offset[1], height=h, width=w, d_trans=int(d_trans),
            shift=shift, score=-neg_score, patch=self.experiment[r : r + h, c : c + w],
        )
