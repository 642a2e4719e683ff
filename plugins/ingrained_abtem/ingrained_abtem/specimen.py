"""The specimen abTEM simulates: the projected cell at one interface width, repeated along the beam.

The multislice frame is abTEM's: x = the image horizontal (cell axis ``horizontal_axis``),
y = the image vertical, pointing up on screen (the third axis), z = the beam. The
structure comes from the convolution model's :class:`ProjectedStructure` so the two
models see the same atoms: the upper grain moved up by ``interface_width`` (the cell grows
by as much) and the colliding upper-grain atoms removed. Positions are wrapped into the
cell: the potential is periodic in x and y, so the image is periodic across the width
*and* the height (the convolution model has nothing above or below the cell; crops never
exceed the cell height, so the two differ only within a probe's reach of the top and
bottom edges).

**Thickness.** A bicrystal cell is one period deep along the beam (9.37 Å for the CdTe
twin), which is not a specimen: the cell is repeated ``repeats = ceil(thickness / depth)``
times along z (the smallest whole number of periods that reaches ``thickness``); the
thickness actually simulated, ``repeats · depth``, is reported in the image metadata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingrained_core.plugin import ConfigError

#: Relative slack when rounding a thickness to whole repeats (9.37 Å asked of a 9.3748 Å cell is 1;
#: a thickness written to 4 decimals, as the series' thicknesses are, keeps its period count).
REPEAT_TOLERANCE = 1e-4


def _whole_atom(entries: Any) -> int | None:
    """The atomic number of a site holding one whole atom ((Z, occupancy) entries); None if it is disordered."""
    return int(entries[0][0]) if len(entries) == 1 and abs(entries[0][1] - 1.0) <= 1e-9 else None


def check_ordered(projection: Any) -> np.ndarray:
    """The atomic number of every site; a partially occupied or mixed site is a ConfigError."""
    numbers = np.empty(len(projection.species), dtype=np.int64)
    for index, entries in enumerate(projection.species):
        if _whole_atom(entries) is None:
            text = ", ".join(f"Z={z}:{occ:g}" for z, occ in entries)
            raise ConfigError(
                f"structure: site {index} is partially occupied or mixed ({text}); haadf-multislice places "
                "whole atoms (one element per site): order the structure first, set "
                "forward_model.options.partial_occupancy = \"draw\" (one seeded random-alloy realisation), "
                "or use the convolution model 'haadf', which weights columns by occupancy"
            )
        numbers[index] = entries[0][0]
    return numbers


def draw_sites(projection: Any, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    """One random-alloy realisation: every site's atomic number drawn from its occupancies (0 = vacancy).

    A multislice places whole atoms, so a disordered site (Mo 0.5 Cr 0.5) becomes Mo or Cr
    with those probabilities, and a site occupied below 1 is left empty with the rest; an
    ordered site is kept as it is. The draw is seeded (the same ``seed`` gives the same
    specimen) and made once per cell period, so every period of a repeated specimen has
    the same draw. Returns the numbers and a summary: sites drawn, and per element the
    fraction of the disordered sites' expected and drawn atoms (expected 0.5, drawn 0.48).
    """
    rng = np.random.default_rng(int(seed))
    numbers = np.empty(len(projection.species), dtype=np.int64)
    expected: dict[int, float] = {}
    drawn: dict[int, int] = {}
    disordered = 0
    for index, entries in enumerate(projection.species):
        whole = _whole_atom(entries)
        if whole is not None:
            numbers[index] = whole
            continue
        disordered += 1
        z = np.array([int(e[0]) for e in entries] + [0])
        occ = np.array([float(e[1]) for e in entries])
        p = np.append(occ, max(0.0, 1.0 - occ.sum()))
        p /= p.sum()
        numbers[index] = int(rng.choice(z, p=p))
        for zi, pi in zip(z, p):
            expected[int(zi)] = expected.get(int(zi), 0.0) + float(pi)
        drawn[int(numbers[index])] = drawn.get(int(numbers[index]), 0) + 1
    from ase.data import chemical_symbols

    def name(z: int) -> str:
        return chemical_symbols[z] if z else "vacancy"

    summary: dict[str, Any] = {"seed": int(seed), "sites_drawn": disordered}
    if disordered:
        summary["expected"] = {name(z): round(v / disordered, 4) for z, v in sorted(expected.items()) if v > 0}
        summary["drawn"] = {name(z): round(drawn.get(z, 0) / disordered, 4) for z in sorted(expected) if expected[z] > 0}
    return numbers, summary


def repeats_for(thickness: float, depth: float) -> int:
    """Whole cell periods along the beam that reach ``thickness`` Å (at least 1)."""
    return max(1, math.ceil(thickness / depth * (1.0 - REPEAT_TOLERANCE)))


@dataclass(frozen=True)
class Specimen:
    """Atoms of one cell period (x, y, z in Å, abTEM frame) and the number of periods."""

    numbers: np.ndarray
    positions: np.ndarray
    width: float
    height: float
    depth: float
    repeats: int
    removed: int

    @property
    def thickness(self) -> float:
        """Thickness actually simulated (Å)."""
        return self.repeats * self.depth

    def to_atoms(self) -> Any:
        """The repeated specimen as ASE Atoms (periodic, orthogonal cell)."""
        from ase import Atoms

        cell = Atoms(
            numbers=self.numbers,
            positions=self.positions,
            cell=[self.width, self.height, self.depth],
            pbc=True,
        )
        return cell * (1, 1, self.repeats)


def specimen_at(projection: Any, numbers: np.ndarray, interface_width: float, thickness: float) -> Specimen:
    """The specimen at ``interface_width`` (Å) and ``thickness`` (Å), as the convolution model sees it."""
    width = float(interface_width)
    height = projection.height + width
    if height <= 0:
        raise ConfigError(f"interface_width: {width} Å would collapse the {projection.height:.3f} Å cell")
    state = projection.interface(width)
    keep = state.kept & (numbers > 0)  # a drawn vacancy is no atom
    x = np.mod(projection.x[keep], projection.width)
    y = np.mod(projection.y[keep] + width * projection.grain[keep], height)
    z = np.mod(projection.z[keep], projection.depth)
    return Specimen(
        numbers=numbers[keep],
        positions=np.stack([x, y, z], axis=1),
        width=projection.width,
        height=height,
        depth=projection.depth,
        repeats=repeats_for(thickness, projection.depth),
        removed=state.removed,
    )
