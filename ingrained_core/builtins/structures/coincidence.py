"""Choosing the width and depth repeats of two grains (near-coincidence site lattice).

For one in-plane direction (width or depth) each grain offers the lengths k · p (its
exact period p, k whole) that lie within the bounds. Among all pairs, the pair with the
smallest misfit wins: by default the *absolute* misfit |k1·p1 − k2·p2| in Å (the length the
strain must absorb — it reproduces the published Ni/M3B2 choice), or the *relative* misfit
|k1·p1 − k2·p2| / mean; ties (within 1e-6) go to the smallest cell. The common length is
the arithmetic mean of the two grain lengths and each grain is strained to it, so the
strains are (common / own − 1) and of opposite sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.builtins.structures.oriented import repeats_in

Match = Literal["absolute", "relative"]


@dataclass(frozen=True)
class Coincidence:
    """The chosen repeats of the two grains along one direction and the common length."""

    k1: int
    k2: int
    own1: float
    own2: float
    common: float

    @property
    def strain1(self) -> float:
        return self.common / self.own1 - 1.0

    @property
    def strain2(self) -> float:
        return self.common / self.own2 - 1.0


def choose_repeats(p1: float, p2: float, lo: float, hi: float, *, match: Match = "absolute",
                   field: str = "width", labels: tuple[str, str] = ("slab_1", "slab_2")) -> Coincidence:
    """The best pair of repeats of periods ``p1``, ``p2`` with both lengths in [lo, hi]."""
    ks1, ks2 = repeats_in(p1, lo, hi), repeats_in(p2, lo, hi)
    for ks, p, label in ((ks1, p1, labels[0]), (ks2, p2, labels[1])):
        if not ks:
            raise ConfigError(
                f"constraints.min_{field}/max_{field}: no whole number of {label}'s {field} period "
                f"({p:.4f} Å) lies in [{lo:g}, {hi:g}] Å; widen the range"
            )
    best: tuple[float, float, int, int] | None = None
    for k1 in ks1:
        for k2 in ks2:
            l1, l2 = k1 * p1, k2 * p2
            mis = abs(l1 - l2) if match == "absolute" else abs(l1 - l2) / (0.5 * (l1 + l2))
            key = (round(mis, 6 if match == "absolute" else 9), 0.5 * (l1 + l2), k1, k2)
            if best is None or key < best:
                best = key
    assert best is not None
    _, _, k1, k2 = best
    return Coincidence(k1, k2, k1 * p1, k2 * p2, 0.5 * (k1 * p1 + k2 * p2))
