"""Resource guards: inputs far beyond what a fit needs are refused with a clear message
before they take the machine's memory, each with an environment variable to raise it.

- images above :func:`max_megapixels` (50 Mpx; ``INGRAINED_MAX_MEGAPIXELS``), as read or
  after a rescale step: a 10 000 x 10 000 image took 13 GB;
- structures above :func:`max_atoms` (200 000; ``INGRAINED_MAX_ATOMS``);
- oriented crystals with a requested size above :func:`max_crystal_angstrom` (1 000 Å;
  ``INGRAINED_MAX_CRYSTAL_ANGSTROM``): 5 000 Å asked for 39 GB.
"""

from __future__ import annotations

import os

from ingrained_core.plugin.errors import ConfigError, InputFileError


def _limit(env: str, default: float) -> float:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{env}={raw!r}: expected a number") from None
    if not value > 0:
        raise ConfigError(f"{env}={raw!r}: expected a positive number")
    return value


def max_megapixels() -> float:
    return _limit("INGRAINED_MAX_MEGAPIXELS", 50.0)


def max_atoms() -> int:
    return int(_limit("INGRAINED_MAX_ATOMS", 200_000))


def max_crystal_angstrom() -> float:
    return _limit("INGRAINED_MAX_CRYSTAL_ANGSTROM", 1000.0)


def check_image_size(height: int, width: int, what: str) -> None:
    """Refuse an image of more than :func:`max_megapixels` (``what`` names it)."""
    mpx = height * width / 1e6
    if mpx > max_megapixels():
        def count(n: int) -> str:  # an absurd rescale gives 35-digit sizes: shown as 2.05e+34
            return str(n) if n < 10**9 else f"{n:.3g}"

        mp_text = f"{mpx:.0f}" if mpx < 1e9 else f"{mpx:.3g}"
        raise InputFileError(
            f"{what}: {count(height)} x {count(width)} px ({mp_text} megapixels) is above the limit of {max_megapixels():g} "
            "megapixels; crop it (experiment.region) or bin it (a rescale step), or raise the limit with "
            "INGRAINED_MAX_MEGAPIXELS")


def check_atoms(n: int, what: str) -> None:
    if n > max_atoms():
        raise InputFileError(
            f"{what}: {n} atoms is above the limit of {max_atoms()}; a fit needs a few unit cells around the "
            "imaged column, or raise the limit with INGRAINED_MAX_ATOMS")


def check_crystal_size(field_values: dict[str, float | None], what: str) -> None:
    limit = max_crystal_angstrom()
    for name, value in field_values.items():
        if value is not None and value > limit:
            raise ConfigError(
                f"{what}.{name} = {value:g} Å is above the limit of {limit:g} Å for an oriented crystal; "
                "raise it with INGRAINED_MAX_CRYSTAL_ANGSTROM")
