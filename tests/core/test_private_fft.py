"""The guard of SciPy's private pocketfft binding (engine/registration/correlation.py).

The registration calls ``scipy.fft._pocketfft.pypocketfft`` directly (no per-call dispatch).
These tests hold it to the public ``scipy.fft`` functions on the registration's own sizes
(the paper's crop sizes at the lengths :class:`_AxisDFT` transforms them, padded ones
included), check that the environment variable turns it off, and that a binding with a
changed signature is refused at the check.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.fft as sfft

from ingrained_core.engine.registration import correlation as corr

#: (rows, cols) of simulations the registration correlates: the published best crops of the
#: three cases, the twin's start crop, and small odd sizes
SIZES = [(195, 153), (283, 169), (79, 79), (201, 167), (35, 37), (64, 48)]


def _lengths(rows: int, cols: int) -> tuple[int, int]:
    """The transform lengths the registration uses on each axis (padded for awkward long axes)."""
    return corr._AxisDFT(rows, real=False).m, corr._AxisDFT(cols, real=True).m


@pytest.fixture()
def private():
    """The private binding, loaded and checked afresh (whatever the environment says)."""
    return corr.load_private_pocketfft()


@pytest.mark.parametrize(("rows", "cols"), SIZES, ids=[f"{r}x{c}" for r, c in SIZES])
def test_private_path_agrees_with_the_public_one(private, monkeypatch, rows: int, cols: int) -> None:
    m_rows, m_cols = _lengths(rows, cols)
    rng = np.random.default_rng(rows * 1000 + cols)
    # quantised images, as in the registration (integers 0..255)
    f = np.floor(rng.uniform(0, 256, (rows, cols)))
    outputs = {}
    for name, binding in (("private", private), ("public", None)):
        monkeypatch.setattr(corr, "_pfft", binding)
        half = corr._rfft_last(f, m_cols)
        spec = corr._fft_rows(half.copy(), m_rows, overwrite=True)
        prod = spec * np.conj(spec)
        back = corr._ifft_rows(prod.copy(), overwrite=False)
        outputs[name] = (half, spec, back, corr._irfft_last(back, m_cols))
    ref_half = sfft.rfft(f, n=m_cols, axis=-1)
    ref_spec = sfft.fft(ref_half, n=m_rows, axis=-2)
    ref_back = sfft.ifft(ref_spec * np.conj(ref_spec), axis=-2)
    ref = (ref_half, ref_spec, ref_back, sfft.irfft(ref_back, n=m_cols, axis=-1))
    for name, got in outputs.items():
        for a, b in zip(got, ref):
            scale = float(np.abs(b).max())
            assert a.shape == b.shape, name
            assert np.abs(a - b).max() <= 1e-12 * scale, name
    # the circular autocorrelation values are integers: both paths round to the same numbers
    assert np.array_equal(np.rint(outputs["private"][3]), np.rint(ref[3])) or private is None


def test_the_correlator_gives_the_same_shift_either_way(private, monkeypatch) -> None:
    rng = np.random.default_rng(5)
    a = np.floor(rng.uniform(0, 256, (195, 153)))
    b = np.roll(a, (7, -11), axis=(0, 1))
    shifts = []
    for binding in (private, None):
        monkeypatch.setattr(corr, "_pfft", binding)
        c = corr.CircularCorrelator((195, 153))
        shifts.append(tuple(c.residual_shifts(c.spectrum(a), b, integer=True)))
    assert shifts[0] == shifts[1] == corr.residual_shift_exact(a, b)


def test_environment_variable_disables_the_private_path() -> None:
    code = ("from ingrained_core.engine.registration import correlation as c; "
            "print(c.uses_private_pocketfft())")
    env = {**os.environ, corr.NO_PRIVATE_ENV: "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    env[corr.NO_PRIVATE_ENV] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(corr.load_private_pocketfft() is not None)


def test_a_changed_signature_is_refused(monkeypatch) -> None:
    """A binding whose calls fail or give other numbers is not used (the check at import)."""
    import scipy.fft._pocketfft as pocket

    class Changed:
        @staticmethod
        def r2c(*args):
            raise TypeError("r2c() takes 5 positional arguments but 6 were given")

    class Wrong:
        r2c = staticmethod(lambda x, axes, forward, norm, out, workers: sfft.rfft(x, axis=-1) * 2)
        c2r = staticmethod(lambda x, axes, n, forward, norm, out, workers: sfft.irfft(x, n=n, axis=-1))
        c2c = staticmethod(lambda x, axes, forward, norm, out, workers: x)

    for fake in (Changed, Wrong):
        monkeypatch.setattr(pocket, "pypocketfft", fake, raising=False)
        assert corr.load_private_pocketfft() is None
