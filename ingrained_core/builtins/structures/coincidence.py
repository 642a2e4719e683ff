"""Choosing the width and depth repeats of two grains (near-coincidence site lattice).

For one in-plane direction (width or depth) each grain offers the lengths k · p (its
exact period p, k whole) that lie within the bounds. Every pair (k1, k2) whose strains stay
within the strain limit is a *match*; the matches are ranked by misfit: by default the
*absolute* misfit |k1·p1 − k2·p2| in Å (the length the strain must absorb — it reproduces the
published Ni/M3B2 choice), or the *relative* misfit |k1·p1 − k2·p2| / mean; ties (within
1e-6) go to the smallest cell. Match index 0 is the ``"auto"`` choice. The common length is
the arithmetic mean of the two grain lengths and each grain is strained to it, so the
strains are (common / own − 1) and of opposite sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from ingrained_core.builtins.structures.oriented import repeats_in
from ingrained_core.plugin.errors import ConfigError

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

    def record(self, index: int) -> dict[str, Any]:
        """The match as written in a report (strains in %)."""
        return {"index": index, "k1": self.k1, "k2": self.k2, "own1": round(self.own1, 6),
                "own2": round(self.own2, 6), "common": round(self.common, 6),
                "strain1_percent": round(100 * self.strain1, 4), "strain2_percent": round(100 * self.strain2, 4)}


def _pair(k1: int, k2: int, p1: float, p2: float) -> Coincidence:
    return Coincidence(k1, k2, k1 * p1, k2 * p2, 0.5 * (k1 * p1 + k2 * p2))


def list_matches(p1: float, p2: float, lo: float, hi: float, *, match: Match = "absolute",
                 max_strain: float | None = None, field: str = "width",
                 labels: tuple[str, str] = ("slab_1", "slab_2")) -> list[Coincidence]:
    """Every admissible pair of repeats of periods ``p1``, ``p2`` (lengths in [lo, hi], both
    strains within ``max_strain`` %), best misfit first. Raises ConfigError naming the
    constraint (and the closest pair it refused) when none is admissible."""
    ks1, ks2 = repeats_in(p1, lo, hi), repeats_in(p2, lo, hi)
    for ks, p, label in ((ks1, p1, labels[0]), (ks2, p2, labels[1])):
        if not ks:
            near = min((k for k in (max(1, math.floor(lo / p)), math.ceil(hi / p), math.ceil(lo / p)) if k >= 1),
                       key=lambda k: min(abs(k * p - lo), abs(k * p - hi)))
            raise ConfigError(
                f"constraints.min_{field}/max_{field}: no whole number of {label}'s {field} period "
                f"({p:.4f} Å) lies in [{lo:g}, {hi:g}] Å; the closest is {near} x {p:.4f} = {near * p:.4f} Å; "
                "widen the range"
            )
    keyed = []
    for k1 in ks1:
        for k2 in ks2:
            l1, l2 = k1 * p1, k2 * p2
            mis = abs(l1 - l2) if match == "absolute" else abs(l1 - l2) / (0.5 * (l1 + l2))
            keyed.append(((round(mis, 6 if match == "absolute" else 9), 0.5 * (l1 + l2), k1, k2), _pair(k1, k2, p1, p2)))
    keyed.sort(key=lambda t: t[0])
    ranked = [c for _, c in keyed]
    if max_strain is None:
        return ranked
    ok = [c for c in ranked if max(abs(c.strain1), abs(c.strain2)) * 100 <= max_strain + 1e-9]
    if not ok:
        near = min(ranked, key=lambda c: max(abs(c.strain1), abs(c.strain2)))
        raise ConfigError(
            f"constraints.max_strain: no {field} match keeps both grains within {max_strain:g} % strain in "
            f"[{lo:g}, {hi:g}] Å; the closest is {near.k1} x {p1:.4f} Å against {near.k2} x {p2:.4f} Å "
            f"({field} {near.common:.4f} Å, strains {100 * near.strain1:+.3f} % / {100 * near.strain2:+.3f} %); "
            f"raise max_strain or change the {field} range"
        )
    return ok


def choose_repeats(p1: float, p2: float, lo: float, hi: float, *, match: Match = "absolute",
                   field: str = "width", labels: tuple[str, str] = ("slab_1", "slab_2"),
                   max_strain: float | None = None) -> Coincidence:
    """The best pair of repeats of periods ``p1``, ``p2`` with both lengths in [lo, hi]."""
    return list_matches(p1, p2, lo, hi, match=match, max_strain=max_strain, field=field, labels=labels)[0]
