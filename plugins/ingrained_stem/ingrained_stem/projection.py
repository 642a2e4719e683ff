"""A structure projected along a cell axis, with its two grains and the interface shift.

Parameter-independent set-up, done once per structure: which cell axis is the beam, the
image horizontal and the image vertical; each atom's horizontal position x (Å, along the
horizontal axis, periodic), vertical position y (Å, along the vertical axis, up on screen)
and depth z (Å, along the beam, periodic); its grain (0 = lower, 1 = upper); its atomic
numbers and occupancies; and the atomic columns (atoms of one grain that share a
projected position), so an image only has to place each column once.

Per evaluation, :meth:`ProjectedStructure.interface` applies ``interface_width``: the
upper grain moves up by that much (the cell grows with it, so the gap at the periodic
boundary is unchanged), and atoms of the upper grain that come closer than the collision
distance (1 Å) to an atom of the lower grain are removed, as the paper's builder did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingrained_core.plugin import ConfigError

from .scattering import kirkland_parameters

AXES = ("a", "b", "c")
#: Fractional tolerance for "exactly at half the cell height" (floating-point rounding).
HALF_HEIGHT_TOLERANCE = 1e-9
#: Atoms closer than this (Å) across the interface collide; the upper-grain one is removed.
COLLISION_DISTANCE = 1.0
#: Projected positions closer than this (Å) belong to the same column.
COLUMN_TOLERANCE = 1e-3


@dataclass(frozen=True)
class InterfaceState:
    """The structure at one interface width: kept atoms and per-column weights/heights."""

    width: float
    kept: np.ndarray  # bool per atom
    removed: int


class ProjectedStructure:
    """A pymatgen Structure seen along ``beam_axis`` with ``horizontal_axis`` across the screen."""

    def __init__(
        self,
        structure: Any,
        *,
        beam_axis: str = "a",
        horizontal_axis: str = "b",
        collision_distance: float = COLLISION_DISTANCE,
        half_height: str = "lower",
    ) -> None:
        if half_height not in ("lower", "upper"):
            raise ConfigError(f"half_height: expected 'lower' or 'upper', got {half_height!r}")
        self.half_height = half_height
        if beam_axis not in AXES:
            raise ConfigError(f"beam_axis: expected one of 'a', 'b', 'c', got {beam_axis!r}")
        if horizontal_axis not in AXES:
            raise ConfigError(f"horizontal_axis: expected one of 'a', 'b', 'c', got {horizontal_axis!r}")
        if horizontal_axis == beam_axis:
            raise ConfigError(f"horizontal_axis: must differ from beam_axis (both are {beam_axis!r})")
        if not hasattr(structure, "lattice") or not hasattr(structure, "frac_coords"):
            raise ConfigError(f"structure: expected a pymatgen Structure, got {type(structure).__name__}")
        if len(structure) == 0:
            raise ConfigError("structure: has no atoms; a HAADF image needs at least one atom")
        self.structure = structure
        self.beam_axis = beam_axis
        self.horizontal_axis = horizontal_axis
        self.vertical_axis = next(a for a in AXES if a not in (beam_axis, horizontal_axis))
        ib, ih, iv = (AXES.index(a) for a in (beam_axis, horizontal_axis, self.vertical_axis))
        self._axis_index = (ib, ih, iv)
        lattice = structure.lattice
        angles = lattice.angles
        if any(abs(angle - 90.0) > 1e-3 for angle in angles):
            raise ConfigError(
                "structure: the projection needs an orthogonal cell (all angles 90°), got angles "
                + ", ".join(f"{x:.4f}" for x in angles)
            )
        lengths = lattice.abc
        self.depth = float(lengths[ib])
        self.width = float(lengths[ih])
        self.height = float(lengths[iv])
        self.collision_distance = float(collision_distance)

        frac = np.asarray(structure.frac_coords, dtype=float)
        self.x = np.mod(frac[:, ih], 1.0) * self.width
        self.y = frac[:, iv] * self.height
        self.z = np.mod(frac[:, ib], 1.0) * self.depth
        self.grain = self._grain_labels(structure, frac[:, iv], half_height)
        self.species = self._species(structure)
        self._columns()
        self._candidates_window = -1.0

    # ----------------------------------------------------------------- set-up
    @staticmethod
    def _grain_labels(structure: Any, vertical_frac: np.ndarray, half_height: str = "lower") -> np.ndarray:
        """Grain per site: the ``grain`` site property, else the half of the cell it lies in.

        A site exactly at half the height goes to the lower grain (``half_height="lower"``)
        or, as the published runs' builder did (upper grain: z >= c/2), to the upper one.
        """
        props = structure.site_properties
        if "grain" in props:
            labels = np.asarray([g if g is not None else -1 for g in props["grain"]])
            if not np.all(np.isin(labels, (0, 1))):
                bad = sorted({str(g) for g in props["grain"] if g not in (0, 1)})
                raise ConfigError(
                    f"structure: site property 'grain' must be 0 (lower) or 1 (upper), found {', '.join(bad)}"
                )
            return labels.astype(np.int8)
        if half_height == "upper":
            return (vertical_frac >= 0.5 - HALF_HEIGHT_TOLERANCE).astype(np.int8)
        return (vertical_frac > 0.5).astype(np.int8)

    @staticmethod
    def _species(structure: Any) -> list[tuple[tuple[int, float], ...]]:
        """Per site: ((Z, occupancy), ...), every Z checked against the scattering table."""
        out = []
        checked: set[int] = set()
        for index, site in enumerate(structure):
            entries = []
            for sp, occu in site.species.items():
                z = getattr(sp, "Z", None)
                if z is None or type(sp).__name__ == "DummySpecies":
                    raise ConfigError(
                        f"structure: site {index} holds {sp!s}, which is not an element "
                        "(no scattering parameters)"
                    )
                if z not in checked:
                    kirkland_parameters(z, where=f"structure (site {index}, {sp!s})")
                    checked.add(z)
                entries.append((int(z), float(occu)))
            out.append(tuple(entries))
        return out

    def _columns(self) -> None:
        """Group atoms of one grain with the same projected (x, y) into columns."""
        key = np.stack(
            [
                self.grain.astype(float),
                np.rint(self.x / COLUMN_TOLERANCE),
                np.rint(self.y / COLUMN_TOLERANCE),
            ],
            axis=1,
        )
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        self.atom_column = inverse.ravel().astype(np.int64)
        self.column_x = self.x[first]
        self.column_y = self.y[first]
        self.column_upper = self.grain[first].astype(bool)
        self.n_columns = int(first.size)

    # ------------------------------------------------------------ weighting
    def atom_weights(self, cross_section: Any) -> np.ndarray:
        """Σ occupancy · cross_section(Z) per atom; ``cross_section`` maps Z -> Å²."""
        cache: dict[int, float] = {}
        out = np.empty(len(self.species))
        for i, entries in enumerate(self.species):
            total = 0.0
            for z, occu in entries:
                if z not in cache:
                    cache[z] = float(cross_section(z))
                total += occu * cache[z]
            out[i] = total
        return out

    def column_weights(self, atom_weights: np.ndarray, kept: np.ndarray | None = None) -> np.ndarray:
        """Summed atom weights per column, over the kept atoms only."""
        w = atom_weights if kept is None else np.where(kept, atom_weights, 0.0)
        return np.bincount(self.atom_column, weights=w, minlength=self.n_columns)

    # ------------------------------------------------------------- interface
    def _prepare_candidates(self, window: float) -> None:
        """Atom pairs that can collide for any |interface_width| <= window (computed once).

        Candidates are lower/upper atoms within reach of the interface; of their pairs only
        those whose horizontal and depth separations alone are closer than the collision
        distance are kept (``fl(dx² + dz²) < d²``: adding ``dy² >= 0`` first never makes a
        pair closer in floating point either, so no colliding pair is dropped), with their
        ``dx²`` and ``dz²``: per evaluation only ``dy`` remains to be computed, in the same
        expression, so the kept atoms are the same bit for bit.
        """
        lower = np.nonzero(self.grain == 0)[0]
        upper = np.nonzero(self.grain == 1)[0]
        reach = window + self.collision_distance
        empty = np.zeros(0, dtype=np.int64)
        self._pair_lower = self._pair_upper = empty
        self._pair_dxx = self._pair_dzz = np.zeros(0)
        self._cand_lower = self._cand_upper = empty
        if lower.size and upper.size:
            lower_top = self.y[lower].max()
            upper_bottom = self.y[upper].min()
            lo = lower[self.y[lower] >= upper_bottom - reach]
            up = upper[self.y[upper] <= lower_top + reach]
            self._cand_lower, self._cand_upper = lo, up  # for a shifted upper grain
            if lo.size and up.size:
                dx = self.x[up][None, :] - self.x[lo][:, None]
                dx -= self.width * np.rint(dx / self.width)
                dz = self.z[up][None, :] - self.z[lo][:, None]
                dz -= self.depth * np.rint(dz / self.depth)
                dxx, dzz = dx * dx, dz * dz
                i, j = np.nonzero(dxx + dzz < self.collision_distance**2)
                self._pair_lower, self._pair_upper = lo[i], up[j]
                self._pair_dxx, self._pair_dzz = dxx[i, j], dzz[i, j]
        self._candidates_window = window

    def interface(self, width: float, shift: float = 0.0) -> InterfaceState:
        """Kept atoms after moving the upper grain up by ``width`` Å (and by ``shift`` Å along
        the width, periodic) and removing collisions."""
        width = float(width)
        if abs(width) > self._candidates_window:
            self._prepare_candidates(max(3.0, math.ceil(abs(width))))
        kept = np.ones(len(self.species), dtype=bool)
        if shift == 0.0:  # the precomputed pairs: only dy changes with the width
            if self._pair_upper.size:
                dy = (self.y[self._pair_upper] + width) - self.y[self._pair_lower]
                close = (self._pair_dxx + dy * dy + self._pair_dzz) < self.collision_distance**2
                kept[self._pair_upper[close]] = False
        elif (lo := self._cand_lower).size and (up := self._cand_upper).size:
            dx = (self.x[up][None, :] + float(shift)) - self.x[lo][:, None]
            dx -= self.width * np.rint(dx / self.width)
            dz = self.z[up][None, :] - self.z[lo][:, None]
            dz -= self.depth * np.rint(dz / self.depth)
            dy = (self.y[up][None, :] + width) - self.y[lo][:, None]
            close = (dx * dx + dy * dy + dz * dz) < self.collision_distance**2
            kept[up[close.any(axis=0)]] = False
        return InterfaceState(width=width, kept=kept, removed=int((~kept).sum()))

    def structure_at(self, width: float, shift: float = 0.0) -> Any:
        """The pymatgen Structure as simulated at ``width`` (and ``shift`` along the width):
        shifted, grown, collisions removed."""
        from pymatgen.core import Lattice, Structure

        state = self.interface(width, shift)
        iv = self._axis_index[2]
        matrix = np.array(self.structure.lattice.matrix, dtype=float)
        unit_v = matrix[iv] / np.linalg.norm(matrix[iv])
        new_height = self.height + width
        if new_height <= 0:
            raise ConfigError(f"interface_width: {width} Å would collapse the {self.height:.3f} Å cell")
        matrix[iv] = unit_v * new_height
        cart = np.array(self.structure.cart_coords, dtype=float)
        cart = cart + np.outer(self.grain * width, unit_v)
        if shift:
            ih = self._axis_index[1]
            unit_h = matrix[ih] / np.linalg.norm(matrix[ih])
            cart = cart + np.outer(self.grain * float(shift), unit_h)
        keep = np.nonzero(state.kept)[0]
        props = {k: [v[i] for i in keep] for k, v in self.structure.site_properties.items()}
        props["grain"] = [int(self.grain[i]) for i in keep]
        return Structure(
            Lattice(matrix),
            [self.structure[i].species for i in keep],
            cart[keep],
            coords_are_cartesian=True,
            site_properties=props,
        )
