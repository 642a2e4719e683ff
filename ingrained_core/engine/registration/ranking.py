"""Coarse ranking of placements: FFT normalised cross-correlation or the paper's
windowed-histogram chi-squared map.

Both score every top-left placement of a quantised simulation inside the quantised
experiment (the registrar gives the NCC ranker native images and the chi-squared ranker
4x-downsampled ones); higher scores are better. Whatever depends only on
the experiment is computed once per ranker (the experiment's spectrum, its integral
images, and per simulation shape the window norms or per disk radius the windowed
histograms), since a registrar ranks thousands of simulations against one experiment.

- :class:`NCCRanker` (``method = "ncc"``): zero-normalised cross-correlation
  ``sum(t' * e') / (|t'| |e'|)`` of the simulation ``t`` with the experiment window ``e``
  under it (primes: mean removed), in [-1, 1]; 0 where the window is constant.
- :class:`Chi2Ranker` (``method = "chi2"``), the published method: a 16-bin histogram of
  the experiment in a disk of radius ``int(2/3 * max(h, w))`` around the placement's centre
  pixel ``(row + h // 2, col + w // 2)`` (normalised by the number of disk pixels inside
  the image), compared with the simulation's normalised histogram by
  ``chi2 = 1/2 * sum((p - q)^2 / (p + q))``; score ``1 / (chi2 + 1e-4)``.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from ingrained_core.engine.registration.images import box_sums, integral

#: window-norm maps kept per NCCRanker (one per simulation shape, least recently used dropped)
NORMS_CACHE = 64


class NCCRanker:
    """Normalised cross-correlation of templates with one fixed image."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = np.asarray(image, dtype=float)
        H, W = self.image.shape
        self._fft_shape = (sfft.next_fast_len(H, real=True), sfft.next_fast_len(W, real=True))
        self._spec = sfft.rfft2(self.image, s=self._fft_shape)
        self._s1 = integral(self.image)
        self._s2 = integral(self.image * self.image)
        self._norms: dict[tuple[int, int], np.ndarray] = {}

    def _window_norms(self, h: int, w: int) -> np.ndarray:
        # Kept for the most recent NORMS_CACHE shapes only: an optimizer varying the crop
        # size visits many shapes, and an unbounded dict grew by ~50 MB per 1000 evaluations.
        norms = self._norms.pop((h, w), None)
        if norms is None:
            s1 = box_sums(self._s1, h, w)
            var = box_sums(self._s2, h, w) - s1 * s1 / (h * w)
            norms = np.sqrt(np.maximum(var, 0.0))
            if len(self._norms) >= NORMS_CACHE:
                self._norms.pop(next(iter(self._norms)))  # least recently used
        self._norms[(h, w)] = norms
        return norms

    def _valid_correlation(self, t: np.ndarray) -> np.ndarray:
        """``sum(t * window)`` at every valid top-left placement, by a circular correlation at
        a size >= the image (valid lags never wrap).

        The same numbers, bit for bit, as ``irfft2(spec * conj(rfft2(t, s)), s)[:H-h+1,
        :W-w+1]`` (tested), with the work on rows that are all zeros or not kept skipped:
        the template's real transform runs on its ``h`` rows only (zero rows transform to
        zeros), and after the inverse along the columns only the ``H - h + 1`` valid rows
        go through the inverse along the rows. ``irfft2`` applies its ``1 / (H' W')`` once,
        at the end of the last pass; so does this.
        """
        H, W = self.image.shape
        h, w = t.shape
        Hf, Wf = self._fft_shape
        spec = sfft.fft(sfft.rfft(t, n=Wf, axis=1), n=Hf, axis=0, overwrite_x=True)
        # exactly the product irfft2's caller formed (numpy's complex products differ in the
        # last bit between operand orders and between in-place and fresh outputs)
        prod = self._spec * np.conj(spec)
        cols = sfft.ifft(prod, axis=0, norm="forward", overwrite_x=True)[: H - h + 1]
        out = sfft.irfft(cols, n=Wf, axis=1, norm="forward")[:, : W - w + 1]
        out *= 1.0 / (Hf * Wf)
        return out

    def scores(self, template: np.ndarray) -> np.ndarray:
        """NCC at every valid top-left placement, shape ``(H - h + 1, W - w + 1)``."""
        h, w = template.shape
        t = template - template.mean()
        tnorm = float(np.sqrt(np.sum(t * t)))
        corr = self._valid_correlation(t)
        denom = self._window_norms(h, w) * tnorm
        ok = denom > 1e-9 * max(1.0, tnorm)
        np.divide(corr, denom, out=corr, where=ok)
        corr[~ok] = 0.0
        return corr


def disk(radius: int) -> np.ndarray:
    """Boolean disk footprint ``x^2 + y^2 <= radius^2`` of edge ``2 * radius + 1``."""
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y) <= radius * radius


class Chi2Ranker:
    """The published windowed-histogram chi-squared ranking (see the module docstring)."""

    def __init__(self, image: np.ndarray, bins: int = 16) -> None:
        self.image = np.asarray(image)
        self.bins = bins
        self._labels = np.clip(self.image.astype(int), 0, bins - 1)
        self._hists: dict[int, np.ndarray] = {}

    def _windowed_histograms(self, radius: int) -> np.ndarray:
        """(H, W, bins) normalised histograms of the disk around every pixel."""
        hist = self._hists.get(radius)
        if hist is not None:
            return hist
        H, W = self.image.shape
        k = disk(radius).astype(float)
        shape = (sfft.next_fast_len(H + 2 * radius, real=True), sfft.next_fast_len(W + 2 * radius, real=True))
        kspec = sfft.rfft2(k, s=shape)
        stack = np.stack([(self._labels == b) for b in range(self.bins)] + [np.ones((H, W), bool)]).astype(float)
        full = sfft.irfft2(sfft.rfft2(stack, s=shape, axes=(-2, -1)) * kspec, s=shape, axes=(-2, -1))
        counts = np.rint(full[:, radius : radius + H, radius : radius + W])  # centred ("same") sums
        hist = np.moveaxis(counts[:-1] / np.maximum(counts[-1], 1.0), 0, -1)
        if len(self._hists) > 32:
            self._hists.pop(next(iter(self._hists)))
        self._hists[radius] = hist
        return hist

    def scores(self, template: np.ndarray) -> np.ndarray:
        """``1 / (chi2 + 1e-4)`` at every valid top-left placement, shape ``(H - h + 1, W - w + 1)``."""
        H, W = self.image.shape
        h, w = template.shape
        radius = int((2.0 / 3.0) * max(h, w))
        hist = self._windowed_histograms(radius)
        q = np.bincount(np.clip(np.asarray(template).astype(int), 0, self.bins - 1).ravel(), minlength=self.bins)
        q = q.astype(float) / q.sum()
        p = hist[h // 2 : h // 2 + H - h + 1, w // 2 : w // 2 + W - w + 1]
        s = p + q
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.where(s > 0, (p - q) ** 2 / s, 0.0)
        chi2 = 0.5 * terms.sum(axis=-1)
        return 1.0 / (chi2 + 1e-4)
