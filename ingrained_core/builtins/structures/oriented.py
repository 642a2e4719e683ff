"""Oriented single crystals: a bulk cell viewed along ``uvw_project`` with ``uvw_upward``
up on the screen and a tilt about the beam, as an orthogonal periodic slab.

Conventions of the slab (the forward models rely on them):

- cell axis **a** is parallel to the beam. It points from the screen toward the viewer
  (a ∥ −uvw_project) so that (a, b, c) is right-handed with b to the right of the screen;
  a projection along ±a is the same image;
- cell axis **b** is the image horizontal (left to right as seen by the viewer,
  b ∥ beam × up);
- cell axis **c** is the image vertical, pointing up (c ∥ the tilted ``uvw_upward``).

The tilt rotates the crystal counter-clockwise on the screen (about the viewing direction)
by ``tilt_angle`` degrees: the crystal direction that ends up pointing up is
cos θ · up + sin θ · (beam × up) of the untilted frame.

Depth (a) and width (b) are whole numbers of the shortest lattice translations along the
beam and the horizontal, computed exactly (:mod:`.lattice`). After a tilt, the upward and
horizontal directions are snapped to a small-index lattice direction when one lies within
``angle_tolerance`` degrees (a rational orientation given with rounded angles, e.g. 54.73538°
for [111]); otherwise the horizontal period is a *near-coincidence* lattice vector within
``coincidence_tolerance`` degrees, the slab is deformed to make it exactly horizontal and
the residual strain is reported, and the height is a cut of the requested size (no
vertical period is needed). The height is the largest whole number of vertical periods in
``max_dimension`` when the upward direction is rational.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingrained_core.plugin.paths import resolve_path
from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.protocols import BuildResult
from ingrained_core.builtins.structures import lattice as lat

#: Atoms this close to a cell face (Å) are treated as on it (half-open interval [0, L)).
EDGE_EPS = 1e-6


# ---------------------------------------------------------------------------- orientation
@dataclass
class OrientedGrain:
    """A bulk crystal in a given orientation: its exact periods and how to fill a slab."""

    label: str
    bulk: Any  # the conventional pymatgen Structure
    tl: lat.TranslationLattice
    R: np.ndarray  # crystal Cartesian -> lab (rows: a, b, c unit vectors in the crystal frame)
    beam_uvw: tuple[int, ...]
    up_uvw: tuple[int, ...] | None
    width_uvw: tuple[int, ...] | None
    n_a: tuple[int, ...]  # primitive coords of the depth period (along a)
    n_b: tuple[int, ...]  # of the width period (along b, maybe near-coincidence)
    n_c: tuple[int, ...] | None  # of the vertical period (None: irrational, cut)
    period_a: float
    period_b: float
    period_c: float | None
    width_angle: float  # deg between the width vector and the exact horizontal
    up_snap_angle: float  # deg between the snapped and the requested upward direction
    species_map: dict[str, str] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {
            "beam_uvw": list(self.beam_uvw),
            "up_uvw": list(self.up_uvw) if self.up_uvw is not None else None,
            "width_uvw": list(self.width_uvw) if self.width_uvw is not None else None,
            "depth_period": round(self.period_a, 6),
            "width_period": round(self.period_b, 6),
            "height_period": round(self.period_c, 6) if self.period_c is not None else None,
            "up_snap_angle_deg": round(self.up_snap_angle, 6),
            "width_coincidence_angle_deg": round(self.width_angle, 6),
            "exact": self.period_c is not None and self.width_angle < 1e-6,
        }

    # -------------------------------------------------------------------- slab
    def height_repeats(self, max_dimension: float, field_name: str) -> tuple[int | None, float]:
        """Whole vertical periods fitting in ``max_dimension`` (None for a cut) and the height."""
        if self.period_c is None:
            return None, float(max_dimension)
        k = math.floor(max_dimension / self.period_c + 1e-9)
        if k < 1:
            raise ConfigError(
                f"{field_name}: {max_dimension:g} Å is shorter than one vertical period of {self.label} "
                f"along [{' '.join(map(str, self.up_uvw or ()))}] ({self.period_c:.4f} Å)"
            )
        return k, k * self.period_c

    def fill(self, k_a: int, k_b: int, depth: float, width: float, height: float, z_offset: float = 0.0
             ) -> tuple[np.ndarray, list[Any], dict[str, float]]:
        """Atoms of the slab: k_a x k_b periods deformed onto depth x width, cut to height.

        The cut is [z_offset, z_offset + height) above a lattice point (the termination),
        moved down to [0, height).

        Returns lab Cartesian positions (x along a in [0, depth), y along b in [0, width),
        z up in [0, height)), the species per atom and the strain of the deformation
        (Biot strain U − I of F = R·U, in the slab axes; engineering strains in %).
        """
        P = self.tl.prim @ self.R.T  # primitive basis in the lab frame (rows)
        A = k_a * (np.asarray(self.n_a, float) @ P)
        B = k_b * (np.asarray(self.n_b, float) @ P)
        S = np.column_stack([A, B, [0.0, 0.0, 1.0]])
        T = np.column_stack([[depth, 0, 0], [0, width, 0], [0, 0, 1.0]])
        F = T @ np.linalg.inv(S)
        # a third lattice vector with an upward component completes a supercell basis
        n3 = self._third_vector(P)
        M = np.array([np.multiply(k_a, self.n_a), np.multiply(k_b, self.n_b), n3], dtype=int)
        det = round(abs(np.linalg.det(M)))
        pts = _lattice_points_in_supercell(M)
        if len(pts) != det:  # pragma: no cover - an internal invariant of the integer algebra
            raise RuntimeError(f"supercell enumeration found {len(pts)} lattice points, expected {det}")
        frac = (pts[:, None, :] + self.tl.frac[None, :, :]).reshape(-1, 3)
        species = list(self.tl.species) * len(pts)
        pos = frac @ P @ F.T
        pos[:, 2] -= z_offset
        t3 = (np.asarray(n3, float) @ P) @ F.T
        if t3[2] <= 0:  # pragma: no cover - guaranteed by _third_vector
            raise RuntimeError("third supercell vector does not point up")
        # repeat along t3 to cover [0, height): m from ceil(-z/t3z) while z + m t3z < height
        z = pos[:, 2]
        m0 = np.ceil((-EDGE_EPS - z) / t3[2]).astype(int)
        m1 = np.ceil((height - EDGE_EPS - z) / t3[2]).astype(int)  # exclusive
        counts = np.maximum(m1 - m0, 0)
        rep = np.repeat(np.arange(len(pos)), counts)
        offs = np.concatenate([np.arange(a, b) for a, b in zip(m0, m1) if b > a]) if counts.sum() else np.zeros(0, int)
        out = pos[rep] + offs[:, None] * t3[None, :]
        out[:, 0] = np.mod(out[:, 0], depth)
        out[:, 1] = np.mod(out[:, 1], width)
        for axis, length in ((0, depth), (1, width)):
            near = np.isclose(out[:, axis], length, atol=EDGE_EPS) | np.isclose(out[:, axis], 0.0, atol=EDGE_EPS)
            out[near, axis] = 0.0
        out[np.abs(out[:, 2]) < EDGE_EPS, 2] = 0.0
        sp = [species[i] for i in rep]
        if self.species_map:
            sp = [_map_species(s, self.species_map) for s in sp]
        return out, sp, _strain(F)

    def _third_vector(self, P: np.ndarray) -> tuple[int, ...]:
        if self.n_c is not None:
            return self.n_c
        basis_int = np.rint(lat.lll_basis(P) @ np.linalg.inv(P)).astype(int)  # LLL basis in prim coords
        best = None
        r = range(-3, 4)
        na, nb = np.asarray(self.n_a), np.asarray(self.n_b)
        for i in r:
            for j in r:
                for k in r:
                    n = np.array([i, j, k]) @ basis_int
                    v = n @ P
                    if v[2] <= 1e-6 or abs(np.linalg.det(np.array([na, nb, n]))) < 0.5:
                        continue
                    if best is None or np.linalg.norm(v) < best[0]:
                        best = (float(np.linalg.norm(v)), tuple(int(x) for x in n))
        assert best is not None
        return best[1]


def _map_species(sp: Any, mapping: dict[str, str]) -> Any:
    from pymatgen.core import Composition

    return Composition({mapping.get(str(el), str(el)): amt for el, amt in sp.items()})


def _lattice_points_in_supercell(M: np.ndarray) -> np.ndarray:
    """Integer points n (primitive coords) with n·M⁻¹ in [0, 1)³: one per supercell lattice point."""
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) @ M
    lo, hi = corners.min(0), corners.max(0)
    grids = [np.arange(lo[d], hi[d] + 1) for d in range(3)]
    n = np.stack(np.meshgrid(*grids, indexing="ij"), -1).reshape(-1, 3)
    f = n @ np.linalg.inv(M.astype(float))
    ok = np.all((f > -1e-9) & (f < 1 - 1e-9), axis=1)
    return n[ok].astype(float)


def _strain(F: np.ndarray) -> dict[str, float]:
    from scipy.linalg import polar

    _, U = polar(F, side="right")
    e = U - np.eye(3)
    return {
        "depth": float(e[0, 0]), "width": float(e[1, 1]), "height": float(e[2, 2]),
        "shear_width_height": float(e[1, 2]), "shear_depth_height": float(e[0, 2]),
        "shear_depth_width": float(e[0, 1]),
    }


def orient(bulk: Any, uvw_project: tuple[int, int, int], uvw_upward: tuple[int, int, int], tilt_angle: float,
           *, label: str = "crystal", field_prefix: str = "", angle_tolerance: float = 0.01,
           coincidence_tolerance: float = 1.0, max_index: int = 24, max_width: float = 100.0,
           flip_species: bool = False) -> OrientedGrain:
    """Orient a bulk crystal: exact periods along the beam, the horizontal and the vertical.

    ``uvw_project`` and ``uvw_upward`` are directions in the conventional cell; they must be
    perpendicular (checked with the metric tensor). Raises ConfigError naming the field.
    """
    tl = lat.translation_lattice(bulk)
    beam = tuple(int(x) for x in uvw_project)
    up0 = tuple(int(x) for x in uvw_upward)
    if not any(beam):
        raise ConfigError(f"{field_prefix}uvw_project: the zero vector is not a direction")
    if not any(up0):
        raise ConfigError(f"{field_prefix}uvw_upward: the zero vector is not a direction")
    ang = lat.metric_angle_deg(beam, up0, tl.metric)
    if abs(ang - 90.0) > 1e-4:
        raise ConfigError(
            f"{field_prefix}uvw_upward: [{' '.join(map(str, up0))}] is not perpendicular to uvw_project "
            f"[{' '.join(map(str, beam))}] in this cell (angle {ang:.4f}°, computed with the metric tensor)"
        )
    n_a, t_beam = tl.shortest_along(beam)
    b_hat = t_beam / np.linalg.norm(t_beam)
    u0 = tl.conv_to_cart(up0)
    u0 /= np.linalg.norm(u0)
    r0 = np.cross(b_hat, u0)
    th = math.radians(tilt_angle)
    u = math.cos(th) * u0 + math.sin(th) * r0
    # snap the upward direction to a small-index lattice direction when one is within tolerance
    up_uvw, snap = None, 0.0
    if abs(math.sin(th)) < 1e-12:
        up_uvw = up0 if math.cos(th) > 0 else tuple(-x for x in up0)
    else:
        found = lat.rational_direction(u, tl.conv, max_index=max_index, tol_deg=angle_tolerance)
        if found is not None and abs(lat.metric_angle_deg(beam, found[0], tl.metric) - 90.0) < 1e-6:
            up_uvw, snap = found
    if up_uvw is not None:
        n_c, t_up = tl.shortest_along(up_uvw)
        u = t_up / np.linalg.norm(t_up)
        period_c: float | None = float(np.linalg.norm(t_up))
    else:
        n_c, period_c = None, None
    # the screen's right is up x beam (the published Ni/M3B2 cell and its image fix the sense;
    # with it a positive tilt turns the crystal counter-clockwise on the screen)
    right = np.cross(u, b_hat)
    right /= np.linalg.norm(right)
    R = np.array([b_hat, right, u])
    # the horizontal: exact when it is a rational direction, else a near-coincidence vector
    width_uvw = lat.rational_direction(right, tl.conv, max_index=max_index, tol_deg=1e-7)
    if width_uvw is not None:
        n_b, t_w = tl.shortest_along(width_uvw[0])
        width_uvw = width_uvw[0]
        w_ang = 0.0
    else:
        basis = lat.lll_basis(tl.prim)
        cands = lat.near_coincidence_vectors(basis, right, max_length=max_width, tol_deg=coincidence_tolerance)
        if not cands:  # pragma: no cover - the tolerance is bounded; hit only with tiny max_width
            raise ConfigError(
                f"{field_prefix}tilt_angle: after a tilt of {tilt_angle:g}° the horizontal direction of {label} is "
                f"irrational and no lattice vector shorter than {max_width:g} Å lies within "
                f"{coincidence_tolerance:g}° of it; raise the width bound or the coincidence tolerance"
            )
        t_w, _, w_ang = cands[0]
        n_b = tuple(int(x) for x in np.rint(t_w @ np.linalg.inv(tl.prim)))
    mapping: dict[str, str] = {}
    if flip_species:
        els = sorted({str(el) for sp in tl.species for el in sp})
        if len(els) != 2:
            raise ConfigError(
                f"{field_prefix}flip_species: swaps the two elements of a binary compound; {label} has "
                f"{len(els)} ({', '.join(els)})"
            )
        mapping = {els[0]: els[1], els[1]: els[0]}
    return OrientedGrain(
        label=label, bulk=bulk, tl=tl, R=R, beam_uvw=beam, up_uvw=up_uvw, width_uvw=width_uvw,
        n_a=n_a, n_b=n_b, n_c=n_c, period_a=float(np.linalg.norm(t_beam)), period_b=float(np.linalg.norm(t_w)),
        period_c=period_c, width_angle=float(w_ang), up_snap_angle=float(snap), species_map=mapping,
    )


def repeats_in(period: float, lo: float, hi: float) -> list[int]:
    """Whole numbers k with lo <= k * period <= hi."""
    k0 = max(1, math.ceil(lo / period - 1e-9))
    k1 = math.floor(hi / period + 1e-9)
    return list(range(k0, k1 + 1))


def to_structure(positions: np.ndarray, species: list[Any], abc: tuple[float, float, float],
                 site_properties: dict[str, list[Any]] | None = None) -> Any:
    """A pymatgen Structure with an orthogonal cell from lab Cartesian positions."""
    from pymatgen.core import Lattice, Structure

    a, b, c = abc
    frac = positions / np.array([a, b, c])
    return Structure(Lattice.orthorhombic(a, b, c), species, frac, site_properties=site_properties)


# ---------------------------------------------------------------------------- bulk source
Source = Literal["materials-project", "library"]


class BulkSpec(BaseModel):
    """Where a grain's bulk cell comes from: ``unit_cell`` file, else the library or the MP."""

    model_config = ConfigDict(extra="forbid")

    unit_cell: Path | None = Field(None, description="bulk cell file (any format the file builder reads); overrides source")
    source: Source | None = Field(None, description="'materials-project' (default, as in the paper; needs MP_API_KEY "
                                  "or a cached result) or 'library' (bundled cells)")
    lattice_a: float | None = Field(None, gt=0, description="library only: override of the lattice constant a (Å)")

    _resolve = field_validator("unit_cell", mode="before")(resolve_path)


def load_bulk(formula: str | None, space_group: str | None, spec: BulkSpec, *, default_source: Source,
              field_prefix: str = "", mp_options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """The bulk conventional cell of a grain and a provenance dict (unit_cell > source)."""
    if spec.unit_cell is not None:
        from ingrained_core.builtins.structures.file import read_structure

        s = read_structure(spec.unit_cell)
        if formula:
            _check_formula(s, formula, f"{field_prefix}unit_cell", spec.unit_cell)
        return s, {"source": "unit_cell", "file": str(spec.unit_cell), "lattice_abc": [round(x, 6) for x in s.lattice.abc]}
    if not formula or not space_group:
        raise ConfigError(f"{field_prefix}: give a unit_cell file, or a formula and a space group")
    source = spec.source or default_source
    if source == "library":
        from ingrained_core.builtins.structures.library import library_structure

        return library_structure(formula, space_group, spec.lattice_a, field_prefix=field_prefix)
    if spec.lattice_a is not None:
        raise ConfigError(f"{field_prefix}lattice_a: only applies to source = 'library'")
    from ingrained_core.builtins.structures.materials_project import fetch_structure

    return fetch_structure(formula, space_group, field_prefix=field_prefix, **(mp_options or {}))


def _check_formula(s: Any, formula: str, field_name: str, path: Path) -> None:
    from pymatgen.core import Composition

    try:
        want = Composition(formula).reduced_formula
    except Exception:  # noqa: BLE001 - pymatgen raises many types
        raise ConfigError(f"{field_name}: {formula!r} is not a chemical formula") from None
    if s.composition.reduced_formula != want:
        raise ConfigError(
            f"{field_name}: {path} holds {s.composition.reduced_formula}, but the chemical formula is {formula}"
        )


# ---------------------------------------------------------------------------- the builder
class OrientedConfig(BulkSpec):
    """Config of the ``oriented`` builder (one crystal as an orthogonal periodic slab)."""

    chemical_formula: str | None = Field(None, description="formula (library / Materials Project source)")
    space_group: str | None = Field(None, description="Hermann–Mauguin symbol (library / Materials Project)")
    uvw_project: tuple[int, int, int] = Field(description="beam (projection) direction, conventional-cell indices")
    uvw_upward: tuple[int, int, int] = Field(description="direction that points up on the screen; ⟂ uvw_project")
    tilt_angle: float = Field(0.0, description="counter-clockwise rotation of the crystal on screen (degrees)")
    max_dimension: float = Field(30.0, gt=0, description="height bound (Å): whole vertical periods that fit")
    min_width: float = Field(0.0, ge=0, description="width bound (Å): smallest whole number of periods >= this")
    max_width: float = Field(100.0, gt=0, description="width upper bound (Å)")
    min_depth: float = Field(0.0, ge=0, description="depth bound (Å): smallest whole number of periods >= this")
    max_depth: float = Field(100.0, gt=0, description="depth upper bound (Å)")
    flip_species: bool = Field(False, description="swap the two elements of a binary compound")
    angle_tolerance: float = Field(0.01, gt=0, le=1, description="snap the tilted upward direction to a lattice direction within this (deg)")
    coincidence_tolerance: float = Field(1.0, gt=0, le=10, description="largest angle (deg) of a near-coincidence width vector")

    @model_validator(mode="after")
    def _bounds(self) -> OrientedConfig:
        for lo, hi in (("min_width", "max_width"), ("min_depth", "max_depth")):
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(f"{lo} ({getattr(self, lo):g}) is larger than {hi} ({getattr(self, hi):g})")
        return self


class OrientedCrystalBuilder:
    """One crystal viewed along a zone axis, as an orthogonal periodic slab (a = beam, b = right, c = up)."""

    name: ClassVar[str] = "oriented"
    Config: ClassVar[type[BaseModel]] = OrientedConfig

    def build(self, config: OrientedConfig) -> BuildResult:
        from ingrained_core.builtins.limits import check_crystal_size

        check_crystal_size({"max_dimension": config.max_dimension, "min_width": config.min_width,
                            "min_depth": config.min_depth}, "structure")
        bulk, provenance = load_bulk(config.chemical_formula, config.space_group, config,
                                     default_source="materials-project")
        label = config.chemical_formula or bulk.composition.reduced_formula
        g = orient(bulk, config.uvw_project, config.uvw_upward, config.tilt_angle, label=label,
                   angle_tolerance=config.angle_tolerance, coincidence_tolerance=config.coincidence_tolerance,
                   max_width=config.max_width, flip_species=config.flip_species)
        k_a = _smallest(g.period_a, config.min_depth, config.max_depth, "min_depth/max_depth", label)
        k_b = _smallest(g.period_b, config.min_width, config.max_width, "min_width/max_width", label)
        k_c, height = g.height_repeats(config.max_dimension, "max_dimension")
        depth, width = k_a * g.period_a, k_b * g.period_b
        pos, species, strain = g.fill(k_a, k_b, depth, width, height)
        s = to_structure(pos, species, (depth, width, height))
        report = {
            "builder": self.name, "bulk": provenance, "formula": s.composition.formula.replace(" ", ""),
            "n_atoms": len(s), "cell_abc": [round(x, 6) for x in (depth, width, height)],
            "repeats": {"depth": k_a, "width": k_b, "height": k_c}, "orientation": g.info(),
            "strain_percent": {k: round(100 * v, 4) for k, v in strain.items()},
        }
        return BuildResult(structure=s, report=report)


def _smallest(period: float, lo: float, hi: float, field_name: str, label: str) -> int:
    ks = repeats_in(period, lo, hi)
    if not ks:
        raise ConfigError(
            f"{field_name}: no whole number of {label}'s period ({period:.4f} Å) lies in [{lo:g}, {hi:g}] Å"
        )
    return ks[0]
