"""Relativistic electron-beam quantities: wavelength, Lorentz factor, interaction parameter.

All from CODATA 2018 constants, in the units of electron microscopy (Å, V, keV):

- λ(E) = h c / sqrt(E (E + 2 m0 c²)) (relativistically corrected wavelength);
- γ(E) = 1 + E / (m0 c²);
- σ(E) = 2π m e λ / h² with m = γ m0 (Kirkland's interaction parameter, rad / (V Å)),
  the phase a projected potential of 1 V·Å imparts on the beam.
"""

from __future__ import annotations

import math

#: Electron rest energy m0 c² in eV (CODATA 2018).
REST_ENERGY_EV = 510_998.950_00
#: Planck constant times speed of light in eV·Å (CODATA 2018, exact).
HC_EV_ANGSTROM = 12_398.419_843_320_026
#: Planck constant (J s), elementary charge (C), electron mass (kg); CODATA 2018.
PLANCK = 6.626_070_15e-34
ELEMENTARY_CHARGE = 1.602_176_634e-19
ELECTRON_MASS = 9.109_383_701_5e-31
#: 2π m0 e / h² in 1 / (V Å²): converts a 3-D potential integral (V Å³) to a first-Born
#: scattering factor (Å), non-relativistic mass. About 0.020887.
BORN_FACTOR = 2.0 * math.pi * ELECTRON_MASS * ELEMENTARY_CHARGE / PLANCK**2 * 1e-20


def wavelength(energy_kev: float) -> float:
    """Relativistic electron wavelength in Å for a beam energy in keV (0.02508 Å at 200 keV)."""
    e = float(energy_kev) * 1e3
    if not e > 0:
        raise ValueError(f"energy must be > 0 keV, got {energy_kev}")
    return HC_EV_ANGSTROM / math.sqrt(e * (e + 2.0 * REST_ENERGY_EV))


def lorentz_factor(energy_kev: float) -> float:
    """γ = 1 + E / (m0 c²) for a beam energy in keV."""
    return 1.0 + float(energy_kev) * 1e3 / REST_ENERGY_EV


def interaction_parameter(energy_kev: float) -> float:
    """Kirkland's σ = 2π γ m0 e λ / h² in rad / (V Å) (7.288e-4 at 200 keV)."""
    return lorentz_factor(energy_kev) * BORN_FACTOR * wavelength(energy_kev)
