"""ADF cross-sections from the Molière (eikonal) scattering factor, cached per (Z, kV, detector).

The eikonal amplitude of an atom with projected potential v_z and transmission phase
χ(b) = σ v_z(b) is (q in Å⁻¹, λ the wavelength)

    f_M(q) = (i/λ) ∫ d²b exp(2πi q·b) [1 - exp(iχ(b))]
           = γ f_e(q) + (2πi/λ) ∫_0^∞ J0(2π q b) [1 - exp(iχ) + iχ] b db,

the first term being its Born limit (1 - e^{iχ} ≈ -iχ) in closed form; the remainder is
O(χ²), concentrated near the nucleus, and integrated numerically on a logarithmic radial
grid. The ADF cross-section of the annular detector θ_in..θ_out (small angles, θ = λq) is

    σ_ADF = ∫ |f_M|² dΩ = 2π λ² ∫_{θ_in/λ}^{θ_out/λ} |f_M(q)|² q dq    (Å²),

integrated by Gauss–Legendre quadrature. At 200 kV and 100–150 mrad this gives
Au 4.00e-3, Te 2.16e-3, Cd 1.90e-3, Si 2.02e-4 Å².
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import j0

from .electron import interaction_parameter, lorentz_factor, wavelength
from .scattering import kirkland_parameters, projected_potential, scattering_factor

# Radial grid for the eikonal correction: b = exp(u), u uniform. 6000 points between
# 1e-7 Å and 15 Å resolve J0 at the largest detector frequencies (converged to < 1e-6).
_B_MIN, _B_MAX, _B_POINTS = 1e-7, 15.0, 6000
_QUADRATURE_POINTS = 48


def moliere_scattering_factor(z: int, q: np.ndarray, energy_kev: float) -> np.ndarray:
    """Complex Molière (eikonal) scattering amplitude f_M(q) in Å (relativistic)."""
    kirkland_parameters(z)  # clear error for unknown elements
    q = np.atleast_1d(np.asarray(q, dtype=float))
    lam = wavelength(energy_kev)
    chi_per_v = interaction_parameter(energy_kev)
    u = np.linspace(np.log(_B_MIN), np.log(_B_MAX), _B_POINTS)
    b = np.exp(u)
    du = u[1] - u[0]
    chi = chi_per_v * projected_potential(z, b)
    # 1 - e^{iχ} + iχ, written to keep precision where χ is small: 2 sin²(χ/2) + i(χ - sin χ).
    remainder = 2.0 * np.sin(0.5 * chi) ** 2 + 1j * (chi - np.sin(chi))
    weights = np.full(b.size, du)
    weights[[0, -1]] *= 0.5
    integrand = remainder * b * b * weights  # b db = b² du
    bessel = j0(2.0 * np.pi * q[:, None] * b[None, :])
    correction = (2j * np.pi / lam) * (bessel @ integrand.real + 1j * (bessel @ integrand.imag))
    return lorentz_factor(energy_kev) * scattering_factor(z, q) + correction


@lru_cache(maxsize=4096)
def adf_cross_section(z: int, energy_kev: float, inner_mrad: float, outer_mrad: float) -> float:
    """ADF cross-section (Å²) of one atom for an annular detector, cached per (Z, kV, detector)."""
    if not 0.0 <= inner_mrad < outer_mrad:
        raise ValueError(f"detector angles must satisfy 0 <= inner < outer, got {inner_mrad}, {outer_mrad} mrad")
    lam = wavelength(energy_kev)
    q1, q2 = inner_mrad * 1e-3 / lam, outer_mrad * 1e-3 / lam
    x, w = np.polynomial.legendre.leggauss(_QUADRATURE_POINTS)
    q = 0.5 * (q2 - q1) * x + 0.5 * (q2 + q1)
    w = 0.5 * (q2 - q1) * w
    f = moliere_scattering_factor(int(z), q, energy_kev)
    return float(2.0 * np.pi * lam**2 * np.sum(w * np.abs(f) ** 2 * q))


def born_cross_section(z: int, energy_kev: float, inner_mrad: float, outer_mrad: float) -> float:
    """The same integral with the first-Born factor γ f_e (for comparison; larger for heavy atoms)."""
    lam = wavelength(energy_kev)
    q1, q2 = inner_mrad * 1e-3 / lam, outer_mrad * 1e-3 / lam
    x, w = np.polynomial.legendre.leggauss(_QUADRATURE_POINTS)
    q = 0.5 * (q2 - q1) * x + 0.5 * (q2 + q1)
    w = 0.5 * (q2 - q1) * w
    f = lorentz_factor(energy_kev) * scattering_factor(int(z), q)
    return float(2.0 * np.pi * lam**2 * np.sum(w * f**2 * q))
