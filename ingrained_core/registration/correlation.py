"""Exact circular cross-correlation of same-shape images, and the residual shift it finds.

The residual shift is what ``skimage.registration.phase_cross_correlation(reference,
moving, normalization=None)`` returns at ``upsample_factor=1``: the whole-pixel lag of the
maximum of ``|IDFT(DFT(reference) * conj(DFT(moving)))|`` (the first maximum in C order),
wrapped to the signed range (lags above ``fix(n / 2)`` become negative). It is computed
at the exact image size, because the correlation is circular: padding would change it.

Simulations have awkward sizes (odd crop sizes such as 201 x 167, 167 and 67 prime), at
which pocketfft falls back to slow generic passes (a 201 x 167 ``rfft2`` costs as much as
seven 208 x 168 ones). Along such an axis this module applies the DFT as a cached matrix
product (BLAS), which is several times faster at these sizes; smooth or large axes use
``scipy.fft``. The transforms are cached per shape (:class:`CircularCorrelator`).

When both images hold integers (the quantised images of the registration), every
correlation value is an integer: it is rounded before the maximum is taken, so ties are
broken by position alone and not by floating-point noise, on every platform.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft as sfft

#: Axes longer than this always use scipy.fft (a dense DFT matrix grows as n²).
_MATMUL_MAX = 640
#: Axes whose largest prime factor is at most this use scipy.fft (its fast radices).
_SMOOTH_PRIME = 17


def _largest_prime_factor(n: int) -> int:
    p, largest = 2, 1
    while p * p <= n:
        while n % p == 0:
            largest, n = p, n // p
        p += 1
    return max(largest, n) if n > 1 else largest


def _use_matmul(n: int) -> bool:
    return 16 < n <= _MATMUL_MAX and _largest_prime_factor(n) > _SMOOTH_PRIME


class _AxisDFT:
    """Forward/inverse DFT along one axis: a matrix product or scipy.fft, chosen by size."""

    def __init__(self, n: int, real: bool):
        self.n, self.real = n, real
        self.matmul = _use_matmul(n)
        if not self.matmul:
            return
        k = np.arange(n // 2 + 1 if real else n)
        # exp(-2 pi i x k / n) from the n roots of unity, indexed by (x k) mod n: exact
        # periodicity and no large arguments to cos/sin.
        m = np.outer(np.arange(n), k) % n  # (n, nk)
        roots = np.exp(-2j * np.pi * np.arange(n) / n)
        fwd = roots[m]
        if real:
            # forward: F[k] = sum_x f[x] (cos - i sin); inverse over the Hermitian half spectrum
            self.cos, self.msin = np.ascontiguousarray(fwd.real), np.ascontiguousarray(fwd.imag)
            w = np.full(k.size, 2.0)
            w[0] = 1.0
            if n % 2 == 0:
                w[-1] = 1.0
            self.icos = np.ascontiguousarray((w[:, None] * fwd.real.T) / n)
            self.imsin = np.ascontiguousarray((w[:, None] * fwd.imag.T) / n)
        else:
            self.fwd_mat = fwd  # symmetric (n, n)
            self.inv_mat = np.conj(fwd) / n

    def forward_last(self, f: np.ndarray) -> np.ndarray:
        """Real DFT along the last axis (half spectrum)."""
        if self.matmul:
            out = np.empty(f.shape[:-1] + (self.cos.shape[1],), dtype=complex)
            out.real = f @ self.cos
            out.imag = f @ self.msin
            return out
        return sfft.rfft(f, axis=-1)

    def inverse_last(self, spec: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`forward_last` (real result)."""
        if self.matmul:
            return spec.real @ self.icos + spec.imag @ self.imsin
        return sfft.irfft(spec, n=self.n, axis=-1)

    def forward_rows(self, spec: np.ndarray) -> np.ndarray:
        """Complex DFT along the second-to-last axis."""
        if self.matmul:
            return self.fwd_mat @ spec
        return sfft.fft(spec, axis=-2)

    def inverse_rows(self, spec: np.ndarray) -> np.ndarray:
        if self.matmul:
            return self.inv_mat @ spec
        return sfft.ifft(spec, axis=-2)


class CircularCorrelator:
    """Circular cross-correlations of images of one shape ``(h, w)``; build once, reuse.

    ``spectrum(img)`` is the 2-D real DFT (half spectrum along the columns); images may
    be stacked along leading axes. ``residual_shifts(ref_spec, moving)`` gives the
    whole-pixel shift of each moving image relative to the reference.
    """

    def __init__(self, shape: tuple[int, int]):
        self.shape = (int(shape[0]), int(shape[1]))
        self._rows = _AxisDFT(self.shape[0], real=False)
        self._cols = _AxisDFT(self.shape[1], real=True)
        self._mid = np.array([int(np.fix(n / 2)) for n in self.shape])

    def spectrum(self, img: np.ndarray) -> np.ndarray:
        """2-D DFT of a real image (or a stack of them), half spectrum on the last axis."""
        return self._rows.forward_rows(self._cols.forward_last(np.asarray(img, dtype=float)))

    def correlation(self, ref_spec: np.ndarray, moving_spec: np.ndarray, integer: bool = False) -> np.ndarray:
        """``IDFT(ref_spec * conj(moving_spec))``: the real circular correlation (stackable)."""
        cc = self._cols.inverse_last(self._rows.inverse_rows(ref_spec * np.conj(moving_spec)))
        if integer:
            cc = np.rint(cc)
        return cc

    def residual_shifts(self, ref_spec: np.ndarray, moving: np.ndarray, integer: bool = False) -> np.ndarray:
        """Signed whole-pixel shifts ``(..., 2)`` as ``phase_cross_correlation(normalization=None)``.

        The shift is the one that registers ``moving`` with the reference: if the
        reference equals the experiment at placement ``q`` and ``moving`` is the patch at
        placement ``p``, the shift is ``p - q`` (for a lag inside the signed range).
        """
        return self.shifts_from_spectrum(ref_spec, self.spectrum(moving), integer)

    def shifts_from_spectrum(self, ref_spec: np.ndarray, moving_spec: np.ndarray, integer: bool = False) -> np.ndarray:
        """:meth:`residual_shifts` for a moving image given by its :meth:`spectrum`."""
        cc = np.abs(self.correlation(ref_spec, moving_spec, integer))
        h, w = self.shape
        flat = cc.reshape(cc.shape[:-2] + (h * w,))
        idx = np.argmax(flat, axis=-1)
        shifts = np.stack(np.unravel_index(idx, (h, w)), axis=-1).astype(np.int64)
        for axis, n in enumerate(self.shape):
            s = shifts[..., axis]
            s[s > self._mid[axis]] -= n
            if n == 1:
                s[...] = 0
        return shifts


@lru_cache(maxsize=64)
def correlator(shape: tuple[int, int]) -> CircularCorrelator:
    """A cached :class:`CircularCorrelator` for ``shape``."""
    return CircularCorrelator(shape)


def residual_shift(reference: np.ndarray, moving: np.ndarray) -> tuple[int, int]:
    """Whole-pixel residual shift between two same-shape images (see the module docstring)."""
    ref = np.asarray(reference, dtype=float)
    mov = np.asarray(moving, dtype=float)
    if ref.shape != mov.shape or ref.ndim != 2:
        raise ValueError(f"residual_shift needs two 2-D images of one shape, got {ref.shape} and {mov.shape}")
    corr = correlator(ref.shape)
    integer = bool(np.all(ref == np.round(ref)) and np.all(mov == np.round(mov)))
    s = corr.residual_shifts(corr.spectrum(ref), mov, integer)
    return int(s[0]), int(s[1])


def residual_shift_exact(reference: np.ndarray, moving: np.ndarray) -> tuple[int, int]:
    """The definition itself: scikit-image's ``phase_cross_correlation(reference, moving,
    normalization=None)`` in whole pixels (slow; for tests and comparisons)."""
    from skimage.registration import phase_cross_correlation

    shift, _, _ = phase_cross_correlation(np.asarray(reference, float), np.asarray(moving, float), normalization=None)
    return round(float(shift[0])), round(float(shift[1]))
