"""Exact circular cross-correlation of same-shape images, and the residual shift it finds.

The residual shift is what ``skimage.registration.phase_cross_correlation(reference,
moving, normalization=None)`` returns at ``upsample_factor=1``: the whole-pixel lag of the
maximum of ``|IDFT(DFT(reference) * conj(DFT(moving)))|`` (the first maximum in C order),
wrapped to the signed range (lags above ``fix(n / 2)`` become negative). It is computed
at the exact image size, because the correlation is circular: padding would change it.

Simulations have awkward sizes (odd crop sizes such as 201 x 167 or 283 x 169, with
large prime factors), at which pocketfft falls back to slow generic passes or to
Bluestein's algorithm. Each axis is computed one of three ways (:func:`axis_mode`, rules
from measured crossovers): at its own length by pocketfft (smooth lengths), as a cached
DFT matrix product (BLAS; short awkward lengths), or as the *linear* correlation at a fast
length ``m >= 2n`` folded back onto the ``n`` circular lags (``cc[l] = L[l] + L[m - n + l]``;
long awkward lengths, e.g. 283 -> 576). All three give the circular correlation at the
exact size; they differ only in floating-point rounding, far below the 0.5 that matters
for the integer correlations of quantised images. The transforms are cached per shape
(:class:`CircularCorrelator`); products are transformed in place (fewer large temporaries).

When both images hold integers (the quantised images of the registration), every
correlation value is an integer: it is rounded before the maximum is taken, so ties are
broken by position alone and not by floating-point noise, on every platform.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft as sfft

#: Awkward axes (a prime factor above _SMOOTH_PRIME) up to these lengths use the matrix
#: product; longer ones the padded linear correlation. Measured crossovers (forward +
#: inverse, 150 lines, one core): complex rows ~100, real last axis ~240.
_MATMUL_MAX_COMPLEX = 100
_MATMUL_MAX_REAL = 240
#: Axes whose largest prime factor is at most this use scipy.fft at their own length.
_SMOOTH_PRIME = 17


#: Set (to anything but "", "0", "false", "no") to use only scipy.fft's public functions.
NO_PRIVATE_ENV = "INGRAINED_NO_PRIVATE_SCIPY"


def load_private_pocketfft():
    """scipy.fft's own pocketfft binding (``scipy.fft._pocketfft.pypocketfft``), or None.

    The binding computes the same transforms as the public functions without their per-call
    dispatch (a measurable share of a registration's time on small images), but it is
    private: a SciPy release may move it or change its signatures. So it is used only if it
    imports *and* reproduces the public ``rfft``/``irfft``/``fft``/``ifft`` on a small
    padded case (the four calls below, with the arguments this module passes); anything
    else (an import error, a changed signature, a different result) gives None, and the
    public functions are used.
    """
    try:
        from scipy.fft._pocketfft import pypocketfft as pfft

        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 7, 9))
        half = pfft.r2c(np.concatenate([x, np.zeros((2, 7, 3))], axis=-1), (2,), True, 0, None, 1)
        back = pfft.c2r(half, (2,), 12, False, 2, None, 1)
        rows = pfft.c2c(half.copy(), (1,), True, 0, None, 1)
        inv = pfft.c2c(rows.copy(), (1,), False, 2, None, 1)
        ok = (np.allclose(half, sfft.rfft(x, n=12, axis=-1), rtol=1e-12, atol=1e-12)
              and np.allclose(back, sfft.irfft(half, n=12, axis=-1), rtol=1e-12, atol=1e-12)
              and np.allclose(rows, sfft.fft(half, axis=-2), rtol=1e-12, atol=1e-12)
              and np.allclose(inv, sfft.ifft(rows, axis=-2), rtol=1e-12, atol=1e-12))
    except Exception:  # noqa: BLE001 - any failure of a private API means: do not use it
        return None
    return pfft if ok else None


def _private_allowed() -> bool:
    import os

    return os.environ.get(NO_PRIVATE_ENV, "").strip().lower() in ("", "0", "false", "no")


#: the private binding when allowed and working (checked once, at import), else None
_pfft = load_private_pocketfft() if _private_allowed() else None


def uses_private_pocketfft() -> bool:
    """Whether this process computes the transforms with SciPy's private pocketfft binding."""
    return _pfft is not None


def _rfft_last(f: np.ndarray, m: int) -> np.ndarray:
    """``scipy.fft.rfft(f, n=m, axis=-1)`` for float64 ``f`` (zero padded to ``m``)."""
    if _pfft is None:
        return sfft.rfft(f, n=m, axis=-1)
    if f.shape[-1] != m:
        padded = np.zeros(f.shape[:-1] + (m,))
        padded[..., : f.shape[-1]] = f
        f = padded
    return _pfft.r2c(f, (f.ndim - 1,), True, 0, None, 1)


def _irfft_last(spec: np.ndarray, m: int) -> np.ndarray:
    """``scipy.fft.irfft(spec, n=m, axis=-1)`` for a half spectrum of ``m // 2 + 1`` entries."""
    if _pfft is None:
        return sfft.irfft(spec, n=m, axis=-1)
    return _pfft.c2r(spec, (spec.ndim - 1,), m, False, 2, None, 1)


def _fft_rows(spec: np.ndarray, m: int, overwrite: bool) -> np.ndarray:
    """``scipy.fft.fft(spec, n=m, axis=-2, overwrite_x=overwrite)`` for complex128 ``spec``."""
    if _pfft is None:
        return sfft.fft(spec, n=m, axis=-2, overwrite_x=overwrite)
    if spec.shape[-2] != m:
        padded = np.zeros(spec.shape[:-2] + (m, spec.shape[-1]), dtype=complex)
        padded[..., : spec.shape[-2], :] = spec
        spec, overwrite = padded, True
    return _pfft.c2c(spec, (spec.ndim - 2,), True, 0, spec if overwrite else None, 1)


def _ifft_rows(spec: np.ndarray, overwrite: bool) -> np.ndarray:
    """``scipy.fft.ifft(spec, axis=-2, overwrite_x=overwrite)`` for complex128 ``spec``."""
    if _pfft is None:
        return sfft.ifft(spec, axis=-2, overwrite_x=overwrite)
    return _pfft.c2c(spec, (spec.ndim - 2,), False, 2, spec if overwrite else None, 1)


def _largest_prime_factor(n: int) -> int:
    p, largest = 2, 1
    while p * p <= n:
        while n % p == 0:
            largest, n = p, n // p
        p += 1
    return max(largest, n) if n > 1 else largest


def axis_mode(n: int, real: bool) -> str:
    """How a circular correlation of length ``n`` is computed along one axis: ``"fft"``
    (pocketfft at length ``n``), ``"matmul"`` (dense DFT matrix) or ``"pad"`` (linear
    correlation by pocketfft at a fast length >= 2n, folded back to length ``n``)."""
    if n <= 16 or _largest_prime_factor(n) <= _SMOOTH_PRIME:
        return "fft"
    return "matmul" if n <= (_MATMUL_MAX_REAL if real else _MATMUL_MAX_COMPLEX) else "pad"


class _AxisDFT:
    """Forward/inverse transform along one axis for circular correlations of length ``n``.

    ``"fft"`` and ``"matmul"`` are the DFT of length ``n``. ``"pad"`` transforms at a fast
    length ``m >= 2n`` with zero padding: the inverse of the product of two such spectra is
    the *linear* correlation ``L`` (lags ``-(n-1) .. n-1``, negative lags at ``m + l``), and
    the circular correlation is ``L[l] + L[m - n + l]`` for ``l = 0 .. n-1``: the same
    numbers (exact arithmetic), at the cost of smooth-length FFTs. The real matrix products
    work on interleaved (re, im) pairs, the float view of the complex spectrum: one
    contiguous GEMM per transform.
    """

    def __init__(self, n: int, real: bool):
        self.n, self.real = n, real
        self.mode = axis_mode(n, real)
        # 2-3-5-smooth padded lengths (pocketfft's fastest radices; e.g. 576 rather than 567)
        self.m = sfft.next_fast_len(2 * n, real=True) if self.mode == "pad" else n
        if self.mode != "matmul":
            return
        k = np.arange(n // 2 + 1 if real else n)
        # exp(-2 pi i x k / n) from the n roots of unity, indexed by (x k) mod n: exact
        # periodicity and no large arguments to cos/sin.
        m = np.outer(np.arange(n), k) % n  # (n, nk)
        roots = np.exp(-2j * np.pi * np.arange(n) / n)
        fwd = roots[m]
        if real:
            # forward: F[k] = sum_x f[x] (cos - i sin), columns interleaved (re_k, im_k)
            self.fwd_real = np.empty((n, 2 * k.size))
            self.fwd_real[:, 0::2] = fwd.real
            self.fwd_real[:, 1::2] = fwd.imag
            # inverse over the Hermitian half spectrum, rows interleaved (re_k, im_k)
            w = np.full(k.size, 2.0)
            w[0] = 1.0
            if n % 2 == 0:
                w[-1] = 1.0
            self.inv_real = np.empty((2 * k.size, n))
            self.inv_real[0::2] = (w[:, None] * fwd.real.T) / n
            self.inv_real[1::2] = (w[:, None] * fwd.imag.T) / n
        else:
            self.fwd_mat = fwd  # symmetric (n, n)
            self.inv_mat = np.conj(fwd) / n

    def forward_last(self, f: np.ndarray) -> np.ndarray:
        """Real transform along the last axis (half spectrum)."""
        if self.mode == "matmul":
            f = np.ascontiguousarray(f)
            out = f.reshape(-1, self.n) @ self.fwd_real
            return out.view(complex).reshape(f.shape[:-1] + (self.fwd_real.shape[1] // 2,))
        return _rfft_last(f, self.m)

    def inverse_last(self, spec: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`forward_last` for a product of spectra: the circular
        correlation along the last axis (real, length ``n``)."""
        if self.mode == "matmul":
            spec = np.ascontiguousarray(spec)
            out = spec.reshape(-1, spec.shape[-1]).view(float) @ self.inv_real
            return out.reshape(spec.shape[:-1] + (self.n,))
        out = _irfft_last(spec, self.m)
        if self.mode == "pad":  # fold in place (the two ranges do not overlap: m >= 2n)
            n, m = self.n, self.m
            out[..., :n] += out[..., m - n :]
            out = out[..., :n]
        return out

    def forward_rows(self, spec: np.ndarray, overwrite: bool = False) -> np.ndarray:
        """Complex transform along the second-to-last axis (``overwrite``: ``spec`` may be
        used as the output)."""
        if self.mode == "matmul":
            return self.fwd_mat @ spec
        return _fft_rows(spec, self.m, overwrite)

    def inverse_rows(self, spec: np.ndarray, overwrite: bool = False) -> np.ndarray:
        """Inverse of :meth:`forward_rows` for a product of spectra (length ``n`` after it;
        ``overwrite``: ``spec`` may be used as the output)."""
        if self.mode == "matmul":
            return self.inv_mat @ spec
        out = _ifft_rows(spec, overwrite)
        if self.mode == "pad":  # fold in place (the two ranges do not overlap: m >= 2n)
            n, m = self.n, self.m
            out[..., :n, :] += out[..., m - n :, :]
            out = out[..., :n, :]
        return out


@lru_cache(maxsize=128)
def _axis_dft(n: int, real: bool) -> _AxisDFT:
    """The transform along one axis, cached per length: shapes that share a height or a
    width share it (an optimizer varying the crop size reuses them instead of rebuilding
    whole correlators, which also keeps the heap from churning in long runs)."""
    return _AxisDFT(n, real)


class CircularCorrelator:
    """Circular cross-correlations of images of one shape ``(h, w)``; build once, reuse.

    ``spectrum(img)`` is the 2-D real DFT (half spectrum along the columns); images may
    be stacked along leading axes. ``residual_shifts(ref_spec, moving)`` gives the
    whole-pixel shift of each moving image relative to the reference.
    """

    def __init__(self, shape: tuple[int, int]):
        self.shape = (int(shape[0]), int(shape[1]))
        self._rows = _axis_dft(self.shape[0], real=False)
        self._cols = _axis_dft(self.shape[1], real=True)
        self._mid = np.array([int(np.fix(n / 2)) for n in self.shape])

    def spectrum(self, img: np.ndarray) -> np.ndarray:
        """2-D DFT of a real image (or a stack of them), half spectrum on the last axis."""
        return self._rows.forward_rows(self._cols.forward_last(np.asarray(img, dtype=float)), overwrite=True)

    def column_transform(self, img: np.ndarray) -> np.ndarray:
        """The first half of :meth:`spectrum`: the real transform along the last axis, row
        by row (so rows of a taller strip give those of any patch cut from it)."""
        return self._cols.forward_last(np.asarray(img, dtype=float))

    def row_transform(self, columns: np.ndarray) -> np.ndarray:
        """The second half of :meth:`spectrum`, from ``h`` rows of :meth:`column_transform`."""
        return self._rows.forward_rows(np.ascontiguousarray(columns))

    def correlation(self, ref_spec: np.ndarray, moving_spec: np.ndarray, integer: bool = False) -> np.ndarray:
        """``IDFT(ref_spec * conj(moving_spec))``: the real circular correlation (stackable)."""
        # one product buffer, transformed in place (fewer large temporaries: each costs
        # page faults where large buffers are mapped individually, see ingrained_core.engine.memory)
        prod = np.conjugate(moving_spec)
        ref_shape = np.shape(ref_spec)
        if len(ref_shape) <= prod.ndim and prod.shape[prod.ndim - len(ref_shape):] == ref_shape:
            np.multiply(ref_spec, prod, out=prod)  # the reference broadcasts over the stack
        else:
            prod = ref_spec * prod
        cc = self._cols.inverse_last(self._rows.inverse_rows(prod, overwrite=True))
        if integer:
            np.rint(cc, out=cc)
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
        cc = self.correlation(ref_spec, moving_spec, integer)
        np.abs(cc, out=cc)
        h, w = self.shape
        if cc.ndim == 2:  # one image: plain integers (the same rule as below)
            dy, dx = divmod(int(np.argmax(cc)), w)  # argmax of a 2-D array: first maximum, C order
            dy = dy - h if dy > self._mid[0] else dy
            dx = dx - w if dx > self._mid[1] else dx
            return np.array([0 if h == 1 else dy, 0 if w == 1 else dx], dtype=np.int64)
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
