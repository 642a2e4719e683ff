"""The STEM probe: aberration function, probe intensity and its radial transfer function.

Aperture function A(k) = exp(-iχ(k)) for |k| ≤ α_max/λ (hard edge), with Kirkland's
aberration function (α = λ|k|, Cs in Å, Δf > 0 = underfocus):

    χ(k) = (2π/λ) [ (Cs5 α²/6 + Cs3/4) α² - Δf/2 ] α²

The probe is ψ = IFFT(A) and its intensity |ψ|², normalised to integrate to 1. A defocus
spread Δ (1/e half-width of a Gaussian distribution of defocus) is an incoherent sum over
Gauss–Hermite nodes Δf + Δ x_i with weights w_i / √π.

The incoherent image needs the probe intensity's Fourier transform (the optical transfer
function, OTF): the autocorrelation of A, real and radially symmetric because χ is, and
zero beyond 2α_max/λ. :func:`probe_transfer` computes it once per optics on a 2-D grid
whose Nyquist frequency exceeds 2α_max/λ (so |ψ|² is not aliased) and tabulates its
radial average; :class:`RadialTransfer` then evaluates it at any |k| by interpolation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import fft as sfft
from scipy.special import j0

from .electron import wavelength

MM_TO_ANGSTROM = 1e7
#: Gauss–Hermite nodes used for a non-zero defocus spread.
DEFOCUS_SPREAD_NODES = 11


@dataclass(frozen=True)
class ProbeOptics:
    """The probe-forming optics: energy (keV), aperture (mrad), defocus (Å), Cs3/Cs5 (mm), spread (Å)."""

    energy: float = 200.0
    aperture: float = 30.0
    defocus: float = 0.0
    cs3: float = 0.0
    cs5: float = 0.0
    defocus_spread: float = 0.0

    @classmethod
    def from_params(cls, params: Any) -> ProbeOptics:
        """The optics fields of a ``HaadfParams`` (or any object with those attributes)."""
        return cls(
            energy=float(params.energy),
            aperture=float(params.aperture),
            defocus=float(params.defocus),
            cs3=float(params.cs3),
            cs5=float(params.cs5),
            defocus_spread=float(params.defocus_spread),
        )

    @property
    def wavelength(self) -> float:
        """Electron wavelength in Å."""
        return wavelength(self.energy)

    @property
    def aperture_frequency(self) -> float:
        """α_max / λ in Å⁻¹: the aperture's radius in reciprocal space."""
        return self.aperture * 1e-3 / self.wavelength

    @property
    def transfer_cutoff(self) -> float:
        """2 α_max / λ in Å⁻¹: the highest spatial frequency the probe intensity holds."""
        return 2.0 * self.aperture_frequency


def aberration_phase(k: np.ndarray, wavelength: float, defocus: float, cs3_mm: float, cs5_mm: float) -> np.ndarray:
    """χ(k) in radians for |k| in Å⁻¹ (defocus in Å, positive = underfocus; Cs in mm)."""
    alpha2 = (wavelength * np.asarray(k, dtype=float)) ** 2
    cs3 = cs3_mm * MM_TO_ANGSTROM
    cs5 = cs5_mm * MM_TO_ANGSTROM
    return (2.0 * np.pi / wavelength) * ((cs5 * alpha2 / 6.0 + cs3 / 4.0) * alpha2 - defocus / 2.0) * alpha2


def defocus_nodes(optics: ProbeOptics) -> list[tuple[float, float]]:
    """(defocus, weight) pairs: one node without spread, Gauss–Hermite nodes with it."""
    if optics.defocus_spread <= 0:
        return [(optics.defocus, 1.0)]
    x, w = np.polynomial.hermite.hermgauss(DEFOCUS_SPREAD_NODES)
    return [(optics.defocus + optics.defocus_spread * xi, wi / math.sqrt(math.pi)) for xi, wi in zip(x, w)]


def probe_profile(r: np.ndarray, optics: ProbeOptics, *, points: int = 1024) -> np.ndarray:
    """Radial probe intensity I(r) in Å⁻² (∫ I d²r = 1), from the 1-D Hankel transform.

    ψ(r) = 2π ∫_0^{k_ap} exp(-iχ(k)) J0(2π k r) k dk, and ∫|ψ|² d²r = π k_ap² (Parseval).
    """
    r = np.asarray(r, dtype=float)
    k_ap = optics.aperture_frequency
    x, w = np.polynomial.legendre.leggauss(points)
    k = 0.5 * k_ap * (x + 1.0)
    w = 0.5 * k_ap * w
    bessel = j0(2.0 * np.pi * np.outer(r.ravel(), k))
    out = np.zeros(r.size)
    for defocus, weight in defocus_nodes(optics):
        pupil = np.exp(-1j * aberration_phase(k, optics.wavelength, defocus, optics.cs3, optics.cs5))
        weights = pupil * k * w
        psi = 2.0 * np.pi * (bessel @ weights.real + 1j * (bessel @ weights.imag))
        out += weight * np.abs(psi) ** 2
    return (out / (np.pi * k_ap**2)).reshape(r.shape)


def probe_fwhm(optics: ProbeOptics) -> float:
    """Full width at half maximum (Å) of the probe intensity (0.51 λ/α without aberrations)."""
    rough = 0.5 * optics.wavelength / (optics.aperture * 1e-3)
    r = np.linspace(0.0, 4.0 * rough + 2.0 * abs(optics.defocus) * optics.aperture * 1e-3, 2001)
    profile = probe_profile(r, optics, points=512)
    half = 0.5 * profile[0]
    below = np.nonzero(profile < half)[0]
    if below.size == 0 or profile.argmax() != 0:
        raise ValueError("the probe has no central maximum; FWHM undefined for these optics")
    i = below[0]
    # Linear interpolation of the half-maximum crossing between r[i-1] and r[i].
    r_half = r[i - 1] + (profile[i - 1] - half) / (profile[i - 1] - profile[i]) * (r[i] - r[i - 1])
    return float(2.0 * r_half)


@dataclass(frozen=True)
class RadialTransfer:
    """A radially symmetric transfer function tabulated at increasing |k| (Å⁻¹); 0 beyond."""

    k: np.ndarray
    values: np.ndarray

    @property
    def cutoff(self) -> float:
        """The largest tabulated |k| (Å⁻¹); the transfer is zero beyond it."""
        return float(self.k[-1])

    def __call__(self, k: np.ndarray) -> np.ndarray:
        """T(|k|) by linear interpolation (0 beyond the cutoff)."""
        return np.interp(k, self.k, self.values, right=0.0)

    def psf(self, r: np.ndarray, points: int = 2048) -> np.ndarray:
        """The point-spread function (Å⁻²) it describes: 2π ∫ T(q) J0(2π q r) q dq."""
        q = np.linspace(0.0, self.cutoff, points)
        w = np.full(points, q[1] - q[0])
        w[[0, -1]] *= 0.5
        r = np.asarray(r, dtype=float)
        vals = j0(2.0 * np.pi * np.outer(r.ravel(), q)) @ (self(q) * q * w)
        return (2.0 * np.pi * vals).reshape(r.shape)


def _grid_points(optics: ProbeOptics) -> int:
    """FFT size whose k spacing resolves χ across the aperture (between 1024 and 2048)."""
    lam = optics.wavelength
    alpha = optics.aperture * 1e-3
    # Largest real-space reach of the probe rays: |dχ/dk| / 2π over the aperture, plus spread.
    reach = (
        abs(optics.cs5 * MM_TO_ANGSTROM) * alpha**5
        + abs(optics.cs3 * MM_TO_ANGSTROM) * alpha**3
        + (abs(optics.defocus) + 3.0 * optics.defocus_spread) * alpha
        + 20.0 * lam / alpha
    )
    n = math.ceil(20.0 * optics.aperture_frequency * reach)
    return int(sfft.next_fast_len(min(max(n, 1024), 2048)))


@lru_cache(maxsize=16)
def probe_transfer(optics: ProbeOptics) -> RadialTransfer:
    """The probe intensity's OTF, normalised to T(0) = 1, tabulated once per optics.

    Computed as FFT(|IFFT(A)|²) on an n x n grid with Nyquist frequency 2.5 α/λ (no
    aliasing of |ψ|²); the aperture edge is anti-aliased over one k-pixel, and the 2-D
    OTF is averaged in rings one k-pixel wide.
    """
    n = _grid_points(optics)
    k_ap = optics.aperture_frequency
    dx = 1.0 / (5.0 * k_ap)  # Nyquist 2.5 k_ap > 2 k_ap
    freq = sfft.fftfreq(n, d=dx)
    dk = freq[1]
    kk = np.hypot(freq[:, None], freq[None, :])
    inside = kk <= k_ap + dk
    amplitude = np.clip((k_ap - kk) / dk + 0.5, 0.0, 1.0)
    intensity = np.zeros((n, n))
    for defocus, weight in defocus_nodes(optics):
        pupil = np.zeros((n, n), dtype=complex)
        chi = aberration_phase(kk[inside], optics.wavelength, defocus, optics.cs3, optics.cs5)
        pupil[inside] = amplitude[inside] * np.exp(-1j * chi)
        psi = sfft.ifft2(pupil, workers=-1)
        intensity += weight * (psi.real**2 + psi.imag**2)
    otf = sfft.fft2(intensity, workers=-1).real
    otf /= otf[0, 0]
    # Ring average out to the support 2 k_ap (plus one ring).
    bins = np.rint(kk / dk).astype(np.int64)
    keep = bins <= math.ceil(2.0 * k_ap / dk) + 1
    b = bins[keep]
    counts = np.bincount(b)
    valid = counts > 0
    mean_k = np.bincount(b, weights=kk[keep])[valid] / counts[valid]
    mean_t = np.bincount(b, weights=otf[keep])[valid] / counts[valid]
    mean_t[0] = 1.0
    mean_k[0] = 0.0
    # Zero at and beyond the support edge.
    edge = 2.0 * k_ap
    ks = np.append(mean_k[mean_k < edge], edge)
    ts = np.append(mean_t[mean_k < edge], 0.0)
    return RadialTransfer(k=ks, values=ts)
