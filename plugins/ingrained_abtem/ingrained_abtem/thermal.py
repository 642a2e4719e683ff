"""Per-element thermal vibration amplitudes for frozen phonons, from tabulated Debye–Waller factors.

A Debye–Waller factor B (Å²) and the RMS displacement of an atom along each axis are
related by B = 8π² ⟨u²⟩, so the frozen-phonon amplitude per direction is

    sigma = sqrt(B / (8 π²))        (B = 0.79 Å² gives sigma = 0.100 Å)

``DEBYE_WALLER_B`` holds room-temperature (≈ 300 K) B values of the elemental crystals,
after the tabulation of L.-M. Peng, G. Ren, S. L. Dudarev and M. J. Whelan, "Debye–Waller
factors and absorptive scattering factors of elemental crystals", Acta Cryst. A52 (1996)
456–470. The values were entered from that table's room-temperature column to two
significant figures; check them against the paper before quoting them to more. An
element of a compound vibrates differently from its elemental crystal (CdTe: B(Cd) and
B(Te) within ~30 % of the elemental values), which is why ``phonon_sigma`` (with the
option ``thermal = "phonon_sigma"``) overrides the table with one amplitude for every
atom; an element missing from the table takes ``phonon_sigma`` and is reported so.
"""

from __future__ import annotations

import math

#: Room-temperature Debye–Waller factors B (Å²) of elemental crystals (Peng et al. 1996).
DEBYE_WALLER_B: dict[str, float] = {
    "B": 0.28,
    "C": 0.15,
    "Al": 0.85,
    "Si": 0.46,
    "Fe": 0.35,
    "Co": 0.36,
    "Ni": 0.37,
    "Cu": 0.55,
    "Zn": 1.1,
    "Ge": 0.57,
    "Mo": 0.17,
    "Ag": 0.78,
    "Cd": 1.6,
    "Sn": 1.0,
    "Te": 1.1,
    "W": 0.16,
    "Pt": 0.39,
    "Au": 0.60,
    "Pb": 2.0,
}

#: The table's citation, reported with every image that uses it.
DEBYE_WALLER_SOURCE = "Peng, Ren, Dudarev & Whelan, Acta Cryst. A52 (1996) 456, B at room temperature"


def sigma_from_b(b: float) -> float:
    """RMS displacement per direction (Å) of a Debye–Waller factor ``b`` (Å²)."""
    return math.sqrt(float(b) / (8.0 * math.pi**2))


def element_sigmas(symbols: list[str] | tuple[str, ...], mode: str, phonon_sigma: float) -> tuple[dict[str, float], dict[str, str]]:
    """The frozen-phonon sigma (Å) of every element in ``symbols`` and where each came from.

    ``mode`` "debye-waller": the table (an element missing from it takes ``phonon_sigma``);
    "phonon_sigma": ``phonon_sigma`` for every element.
    """
    sigmas: dict[str, float] = {}
    sources: dict[str, str] = {}
    for symbol in sorted(set(symbols)):
        if mode == "debye-waller" and symbol in DEBYE_WALLER_B:
            sigmas[symbol] = round(sigma_from_b(DEBYE_WALLER_B[symbol]), 6)
            sources[symbol] = f"B = {DEBYE_WALLER_B[symbol]:g} Å² (table)"
        else:
            sigmas[symbol] = float(phonon_sigma)
            sources[symbol] = ("phonon_sigma (not in the table)" if mode == "debye-waller" else "phonon_sigma")
    return sigmas, sources
