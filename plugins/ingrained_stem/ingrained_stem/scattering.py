"""Kirkland's 12-parameter electron scattering factors and projected atomic potentials.

The table (``data/kirkland.json``, Z = 1..103, source named in the file) parameterises the
first-Born electron scattering factor of a neutral atom as

    f_e(q) = Σ_i a_i / (q² + b_i) + Σ_i c_i exp(-d_i q²)        (i = 1..3, q = 1/d in Å⁻¹)

in Å. Its 2-D inverse Fourier transform, divided by the Born factor C = 2π m0 e / h², is
the projected potential of one atom (V·Å):

    v_z(r) = (1/C) [ 2π Σ a_i K0(2π r √b_i) + π Σ (c_i / d_i) exp(-π² r² / d_i) ].
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy.special import k0

from ingrained_core.plugin import ConfigError

from .electron import BORN_FACTOR


@dataclass(frozen=True)
class KirklandParameters:
    """The 12 parameters of one element (a, b, c, d: three each)."""

    symbol: str
    z: int
    a: tuple[float, float, float]
    b: tuple[float, float, float]
    c: tuple[float, float, float]
    d: tuple[float, float, float]


@lru_cache(maxsize=1)
def kirkland_table() -> dict[int, KirklandParameters]:
    """Atomic number -> parameters, read once from the package's data file."""
    text = resources.files(__package__).joinpath("data/kirkland.json").read_text(encoding="utf-8")
    raw = json.loads(text)["elements"]
    table = {}
    for symbol, p in raw.items():
        table[int(p["Z"])] = KirklandParameters(
            symbol, int(p["Z"]), tuple(p["a"]), tuple(p["b"]), tuple(p["c"]), tuple(p["d"])
        )
    return table


def kirkland_parameters(z: int, *, where: str = "structure") -> KirklandParameters:
    """The parameters for atomic number ``z``; a ConfigError naming the element if absent."""
    table = kirkland_table()
    try:
        return table[int(z)]
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"{where}: element with Z={z} has no Kirkland scattering parameters "
            f"(the table covers Z = {min(table)}..{max(table)})"
        ) from None


def scattering_factor(z: int, q: np.ndarray) -> np.ndarray:
    """First-Born electron scattering factor f_e(q) in Å at spatial frequencies q (Å⁻¹)."""
    p = kirkland_parameters(z)
    q2 = np.asarray(q, dtype=float)[..., None] ** 2
    a, b, c, d = (np.asarray(v) for v in (p.a, p.b, p.c, p.d))
    return np.sum(a / (q2 + b) + c * np.exp(-d * q2), axis=-1)


def projected_potential(z: int, r: np.ndarray) -> np.ndarray:
    """Projected potential v_z(r) of one atom in V·Å at radii r > 0 (Å)."""
    p = kirkland_parameters(z)
    r = np.asarray(r, dtype=float)[..., None]
    a, b, c, d = (np.asarray(v) for v in (p.a, p.b, p.c, p.d))
    lorentzian = 2.0 * np.pi * a * k0(2.0 * np.pi * r * np.sqrt(b))
    gaussian = np.pi * (c / d) * np.exp(-(np.pi**2) * r**2 / d)
    return np.sum(lorentzian + gaussian, axis=-1) / BORN_FACTOR
