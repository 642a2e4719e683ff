"""The probe: FWHM, transfer function, aberration sign convention, defocus spread."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ingrained_stem.probe import ProbeOptics, probe_fwhm, probe_profile, probe_transfer


def test_aberration_free_probe_fwhm():
    optics = ProbeOptics(energy=200.0, aperture=30.0)
    expected = 0.51 * optics.wavelength / 0.030
    assert probe_fwhm(optics) == pytest.approx(expected, rel=0.05)
    assert probe_fwhm(optics) == pytest.approx(0.43, abs=0.02)


def test_transfer_function_is_the_aperture_autocorrelation():
    # Without aberrations the OTF is the overlap area of two discs ("chinese hat").
    optics = ProbeOptics(energy=200.0, aperture=30.0)
    transfer = probe_transfer(optics)
    k = np.linspace(0.0, 2.0 * optics.aperture_frequency, 300)
    s = k / (2.0 * optics.aperture_frequency)
    hat = 2.0 / math.pi * (np.arccos(s) - s * np.sqrt(1.0 - s * s))
    assert np.max(np.abs(transfer(k) - hat)) < 0.01
    assert transfer(np.array([0.0]))[0] == 1.0
    assert transfer(np.array([transfer.cutoff * 1.001, 5.0])).tolist() == [0.0, 0.0]
    assert transfer.cutoff == pytest.approx(optics.transfer_cutoff)


@pytest.mark.parametrize(
    "optics",
    [ProbeOptics(), ProbeOptics(defocus=40.0, defocus_spread=30.0), ProbeOptics(aperture=20.0, cs3=0.05, defocus=25.0)],
)
def test_tabulated_transfer_reproduces_the_probe_profile(optics):
    # Two independent routes: 2-D FFT + ring average vs. the 1-D Hankel transform of A(k).
    r = np.linspace(0.0, 1.5, 31)
    direct = probe_profile(r, optics)
    via_otf = probe_transfer(optics).psf(r)
    assert np.max(np.abs(direct - via_otf)) < 0.01 * direct.max()


def test_positive_defocus_is_underfocus():
    # With Cs3 > 0 the Scherzer condition is an underfocus of +sqrt(1.5 Cs λ) in Kirkland's
    # convention; the same magnitude of overfocus gives a much broader probe.
    optics = ProbeOptics(aperture=10.0, cs3=1.0)
    scherzer = math.sqrt(1.5 * 1.0e7 * optics.wavelength)
    under = probe_fwhm(ProbeOptics(aperture=10.0, cs3=1.0, defocus=scherzer))
    over_peak = probe_profile(np.array([0.0]), ProbeOptics(aperture=10.0, cs3=1.0, defocus=-scherzer))[0]
    under_peak = probe_profile(np.array([0.0]), ProbeOptics(aperture=10.0, cs3=1.0, defocus=scherzer))[0]
    assert under_peak > 2.0 * over_peak
    assert under < 1.2 * probe_fwhm(ProbeOptics(aperture=10.0))


def test_defocus_spread_lowers_the_peak_and_keeps_the_probe_normalised():
    sharp = ProbeOptics()
    spread = ProbeOptics(defocus_spread=60.0)
    assert probe_profile(np.array([0.0]), spread)[0] < probe_profile(np.array([0.0]), sharp)[0]
    assert probe_transfer(spread)(np.array([0.0]))[0] == 1.0
