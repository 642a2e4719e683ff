"""The ``bicrystal`` builder: the paper's interface mode, from its JSON config keys.

Two grains (``slab_1``, ``slab_2``) are oriented (:mod:`.oriented`), their width and depth
repeats chosen by near-coincidence (:mod:`.coincidence`), both strained to the common width
and depth, and stacked along c:

- **slab_2 is the lower grain** (site property ``grain`` = 0) and **slab_1 the upper grain**
  (``grain`` = 1), as in the published Ni/M3B2 structure (Ni, slab_2, below Mo3B2, slab_1);
- the lower grain starts at z = interface_2_width / 2, the upper grain follows after
  interface_1_width, and interface_2_width (split across the periodic boundary) closes
  the cell: c = h_lower + interface_1_width + h_upper + interface_2_width;
- each grain's height is the largest whole number of vertical periods in its
  ``max_dimension`` (a cut of that height for an irrational upward direction);
- atoms of the upper grain closer than ``collision_distance`` (1 Å) to an atom of the lower
  grain are removed at interface 1 and/or 2 (``collision_removal``).
- the stacked cell is then translated vertically so that the mid-plane of the *centred*
  interface (``centred_interface``: 1 = slab_2 below slab_1, 2 = the periodic boundary)
  lies at half the cell height, where the forward models centre their crop, as far as the
  other interface's gap allows (no grain crosses the periodic boundary; the rest is
  reported as ``centre_offset``); with interface 2 centred, slab_2 is labelled grain 1.

A top-level ``structure_file`` (the paper's published structure) is used as is unless
``rebuild`` is true. The original JSON files load unchanged (``"pixel_size": ""`` means
not given).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingrained_core.builtins.structures.coincidence import (
    Coincidence,
    Match,
    list_matches,
)
from ingrained_core.builtins.structures.oriented import (
    BulkSpec,
    Source,
    load_bulk,
    orient,
    to_structure,
)
from ingrained_core.plugin.paths import resolve_path
from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.protocols import BuildResult


class SlabConfig(BulkSpec):
    """One grain (``slab_1`` / ``slab_2``), the paper's keys plus an optional bulk source."""

    chemical_formula: str = Field(description="chemical formula, e.g. 'CdTe', 'B2Mo3'")
    space_group: str = Field(description="Hermann–Mauguin symbol, e.g. 'F-43m'")
    uvw_project: tuple[int, int, int] = Field(description="beam (projection) direction, conventional indices")
    uvw_upward: tuple[int, int, int] = Field(description="direction up on the screen, perpendicular to uvw_project")
    tilt_angle: float = Field(0.0, description="counter-clockwise rotation of the crystal on screen (degrees)")
    max_dimension: float = Field(gt=0, description="height bound of the grain (Å)")
    flip_species: bool = Field(False, description="swap the two elements of a binary compound (polarity)")
    termination: Literal["auto"] | float = Field(
        "auto", description="height (Å) above a lattice point where the grain's cut starts; 'auto': 0 for the lower "
        "grain, and for the upper grain the atomic layer (within one vertical period) that keeps atoms farthest apart "
        "across both interfaces, then the fewest like-element contacts (a coherent twin comes out bulk-like)")
    termination_index: int | None = Field(
        None, ge=0, description="the cut by index: the grain's distinct atomic layers within one vertical period, "
        "lowest first (strain.json lists them under grains.<slab>.terminations); replaces termination")
    height: Literal["periods", "cut"] = Field(
        "periods", description="'periods': whole vertical periods within max_dimension; 'cut': the paper's cut at "
        "max_dimension keeping the atoms on both faces (height = the span of the atoms)")

    @model_validator(mode="after")
    def _one_termination(self) -> SlabConfig:
        if self.termination_index is not None and self.termination != "auto":
            raise ValueError("give termination (a height) or termination_index, not both")
        return self


class ConstraintsConfig(BaseModel):
    """``constraints``: the over-lattice bounds and the interfaces."""

    model_config = ConfigDict(extra="forbid")

    min_width: float = Field(ge=0, description="smallest allowed width of each grain (Å)")
    max_width: float = Field(gt=0, description="largest allowed width of each grain (Å)")
    min_depth: float = Field(ge=0, description="smallest allowed depth (along the beam) of each grain (Å)")
    max_depth: float = Field(gt=0, description="largest allowed depth of each grain (Å)")
    interface_1_width: float = Field(0.0, description="gap between the lower grain's top and the upper grain (Å)")
    interface_2_width: float = Field(0.0, description="gap at the periodic boundary, upper top to lower bottom (Å)")
    collision_removal: tuple[bool, bool] = Field((True, True), description="remove colliding atoms at interface 1, 2")
    collision_distance: float = Field(1.0, gt=0, description="atoms closer than this (Å) across an interface collide")
    pixel_size: float | None = Field(None, gt=0, description="pixel size (Å) for the forward model; '' = not given")
    match: Match = Field("absolute", description="coincidence criterion: 'absolute' misfit in Å (published) or 'relative'")
    max_strain: float | None = Field(5.0, gt=0, description="largest strain (%) of either grain along the width or "
                                     "the depth for a match to be admissible; null: no limit")
    width_match: Literal["auto"] | int = Field("auto", description="the width match by index among the admissible "
                                               "pairs of repeats, best misfit first ('auto' = 0)")
    depth_match: Literal["auto"] | int = Field("auto", description="the depth match by index ('auto' = 0)")

    @field_validator("width_match", "depth_match")
    @classmethod
    def _non_negative(cls, v: Any) -> Any:
        if v != "auto" and v < 0:
            raise ValueError("a match index is 0 or more")
        return v

    @field_validator("pixel_size", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and v.strip() == "" else v

    @model_validator(mode="after")
    def _bounds(self) -> ConstraintsConfig:
        for lo, hi in (("min_width", "max_width"), ("min_depth", "max_depth")):
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(f"{lo} ({getattr(self, lo):g}) is larger than {hi} ({getattr(self, hi):g})")
        return self


Vary = Literal["slab_1.termination", "slab_2.termination", "width_match", "depth_match", "slab_1.height",
               "slab_2.height", "centred_interface"]


class BicrystalConfig(BaseModel):
    """Config of the ``bicrystal`` builder: the paper's JSON, plus build options."""

    model_config = ConfigDict(extra="forbid")

    slab_1: SlabConfig = Field(description="the upper grain (grain 1)")
    slab_2: SlabConfig = Field(description="the lower grain (grain 0)")
    constraints: ConstraintsConfig
    structure_file: Path | None = Field(None, description="a ready structure, used unless rebuild = true")
    rebuild: bool = Field(False, description="build from the slabs even when structure_file is given")
    source: Source = Field("materials-project", description="bulk cells without unit_cell: 'materials-project' or 'library'")
    angle_tolerance: float = Field(0.01, gt=0, le=1, description="snap tilted directions to lattice directions within (deg)")
    coincidence_tolerance: float = Field(1.0, gt=0, le=10, description="largest angle of a near-coincidence vector (deg)")
    mp_cache_dir: Path | None = Field(None, description="Materials Project cache directory (default ~/.cache/ingrained/mp)")
    centred_interface: Literal["auto", 1, 2] = Field(
        "auto", description="the interface placed at half the cell height, where the forward model centres its crop: "
        "1 = slab_2 below slab_1 (the recipe's order; 'auto'), 2 = the periodic boundary, slab_1 below slab_2 (then "
        "slab_2 is labelled grain 1, the grain above the centred interface)")
    vary: list[Vary] = Field(["slab_1.termination", "width_match", "centred_interface"], description="the choices "
                             "an enumeration (ingrained build --enumerate, a fuse screen) varies, where the config "
                             "leaves them 'auto'")

    _resolve = field_validator("structure_file", "mp_cache_dir", mode="before")(resolve_path)


class BicrystalBuilder:
    """Two oriented grains stacked into a periodic bicrystal (slab_1 above slab_2)."""

    name: ClassVar[str] = "bicrystal"
    Config: ClassVar[type[BaseModel]] = BicrystalConfig

    def build(self, config: BicrystalConfig) -> BuildResult:
        if config.structure_file is not None and not config.rebuild:
            return self._from_file(config)
        return build_bicrystal(config)

    def _from_file(self, config: BicrystalConfig) -> BuildResult:
        from ingrained_core.builtins.structures.file import read_structure

        s = read_structure(config.structure_file)
        frac_c = np.asarray(s.frac_coords)[:, 2] % 1.0
        if "grain" not in s.site_properties:
            s.add_site_property("grain", [int(f > 0.5) for f in frac_c])
        report = {
            "builder": "bicrystal", "source": "structure_file", "structure_file": str(config.structure_file),
            "formula": s.composition.formula.replace(" ", ""), "n_atoms": len(s),
            "cell_abc": [round(x, 6) for x in s.lattice.abc],
            "grain_labels": "site property 'grain': 1 above half height (upper), 0 below",
            "strain_line": f"structure read from {config.structure_file} (not rebuilt; strain unknown)",
        }
        return BuildResult(structure=s, report=report)


def build_bicrystal(config: BicrystalConfig) -> BuildResult:
    """Build the bicrystal from the slab configs (ignores structure_file), with the choices
    the config fixes and ``"auto"`` for the others."""
    prep = prepare_bicrystal(config)
    return assemble(prep, choices_from_config(config, prep))


@dataclass
class Prepared:
    """What every candidate of one recipe shares: the oriented grains and the admissible matches."""

    config: BicrystalConfig
    grains: dict[str, Any]
    provenance: dict[str, Any]
    widths: list[Coincidence]
    depths: list[Coincidence]


def prepare_bicrystal(config: BicrystalConfig) -> Prepared:
    """Load and orient both grains and list the admissible width and depth matches."""
    c = config.constraints
    mp_opts = {"cache_dir": config.mp_cache_dir} if config.mp_cache_dir else {}
    grains, provenance = {}, {}
    for key in ("slab_1", "slab_2"):
        slab: SlabConfig = getattr(config, key)
        bulk, prov = load_bulk(slab.chemical_formula, slab.space_group, slab, default_source=config.source,
                               field_prefix=f"{key}.", mp_options=mp_opts)
        provenance[key] = prov
        grains[key] = orient(
            bulk, slab.uvw_project, slab.uvw_upward, slab.tilt_angle, label=f"{key} ({slab.chemical_formula})",
            field_prefix=f"{key}.", angle_tolerance=config.angle_tolerance,
            coincidence_tolerance=config.coincidence_tolerance, max_width=c.max_width, flip_species=slab.flip_species,
        )
    g1, g2 = grains["slab_1"], grains["slab_2"]
    labels = (f"slab_1 ({config.slab_1.chemical_formula})", f"slab_2 ({config.slab_2.chemical_formula})")
    widths = list_matches(g1.period_b, g2.period_b, c.min_width, c.max_width, match=c.match, field="width",
                          labels=labels, max_strain=c.max_strain)
    depths = list_matches(g1.period_a, g2.period_a, c.min_depth, c.max_depth, match=c.match, field="depth",
                          labels=labels, max_strain=c.max_strain)
    for name, matches in (("width_match", widths), ("depth_match", depths)):
        value = getattr(c, name)
        if value != "auto" and value >= len(matches):
            raise ConfigError(f"constraints.{name}: index {value} but only {len(matches)} {name.split('_')[0]} "
                              f"match(es) (0..{len(matches) - 1}) satisfy the constraints")
    return Prepared(config, grains, provenance, widths, depths)


def choices_from_config(config: BicrystalConfig, prep: Prepared) -> dict[str, Any]:
    """The discrete choices the config fixes (``"auto"`` where it does not)."""
    c = config.constraints
    out: dict[str, Any] = {
        "width_match": 0 if c.width_match == "auto" else int(c.width_match),
        "depth_match": 0 if c.depth_match == "auto" else int(c.depth_match),
        "centred_interface": 1 if config.centred_interface == "auto" else int(config.centred_interface),
    }
    for key in ("slab_1", "slab_2"):
        slab: SlabConfig = getattr(config, key)
        if slab.termination_index is not None:
            term: Any = {"index": int(slab.termination_index)}
        else:
            term = slab.termination
        out[key] = {"termination": term, "height": slab.height}
    return out


def grain_layers(g: Any, kd: int, kw: int, D: float, W: float, max_dimension: float) -> list[float]:
    """The distinct cut heights of a grain within one vertical period (its atomic layers),
    lowest first: termination index i starts the grain's cut at layer i."""
    span = g.period_c if g.period_c is not None else min(max_dimension, 6.0)
    pos0, _, _ = g.fill(kd, kw, D, W, span)
    return [float(x) for x in np.unique(np.round(pos0[:, 2][pos0[:, 2] < span - 1e-6], 3))]


def grain_slab(g: Any, kd: int, kw: int, D: float, W: float, slab: SlabConfig, offset: float, height_mode: str,
               field_name: str) -> tuple[np.ndarray, list[Any], float, int | None, dict[str, float]]:
    """A grain's atoms from the cut at ``offset``: (positions, species, height, vertical repeats, strain).

    ``"periods"``: the whole vertical periods within max_dimension, cut to [0, h).
    ``"cut"`` (the paper's): the atoms in [0, max_dimension], both faces included, and the
    grain's height is the span of its atoms."""
    if height_mode == "cut":
        pos, species, strain = g.fill(kd, kw, D, W, slab.max_dimension + 1e-6, z_offset=offset)
        if len(pos) == 0:
            raise ConfigError(f"{field_name}.max_dimension: the cut holds no atoms")
        z0 = float(pos[:, 2].min())
        pos = pos - np.array([0.0, 0.0, z0])
        return pos, species, float(pos[:, 2].max()), None, strain
    k_c, h = g.height_repeats(slab.max_dimension, f"{field_name}.max_dimension")
    pos, species, strain = g.fill(kd, kw, D, W, h, z_offset=offset)
    return pos, species, h, k_c, strain


def _resolve_termination(term: Any, layers: list[float], key: str) -> tuple[float | None, int | None]:
    """(offset, layer index) of a termination choice; (None, None) for ``"auto"``."""
    if term == "auto":
        return None, None
    if isinstance(term, dict):
        i = int(term["index"])
        if not 0 <= i < len(layers):
            raise ConfigError(f"{key}.termination_index: {i}, but the grain has {len(layers)} distinct cuts "
                              f"(0..{len(layers) - 1}) within one vertical period")
        return layers[i], i
    offset = float(term)
    hit = [i for i, z in enumerate(layers) if abs(z - offset) < 2e-3]
    return offset, (hit[0] if hit else None)


def assemble(prep: Prepared, choices: dict[str, Any]) -> BuildResult:
    """The bicrystal for one set of discrete choices (see :func:`choices_from_config`); the
    report's ``choices`` records every value used, ``"auto"`` resolved."""
    config = prep.config
    c = config.constraints
    g1, g2 = prep.grains["slab_1"], prep.grains["slab_2"]
    width, depth = prep.widths[choices["width_match"]], prep.depths[choices["depth_match"]]
    D, W = depth.common, width.common
    parts, report_grains, used = {}, {}, {}
    i1, i2 = c.interface_1_width, c.interface_2_width
    z0 = 0.5 * i2
    for key, g, kw, kd in (("slab_2", g2, width.k2, depth.k2), ("slab_1", g1, width.k1, depth.k1)):
        slab = getattr(config, key)
        mode = choices[key]["height"]
        layers = grain_layers(g, kd, kw, D, W, slab.max_dimension)
        offset, index = _resolve_termination(choices[key]["termination"], layers, key)
        auto = offset is None
        if auto and key == "slab_2":
            offset, index = layers[0] if layers else 0.0, 0
        elif auto:
            p_lo, s_lo, h_lo = parts["slab_2"]
            ranked = rank_terminations(g, kd, kw, D, W, slab, mode, layers, p_lo + np.array([0, 0, z0]), s_lo,
                                       z_start=z0 + h_lo + i1, rest_height=h_lo + i1 + i2)
            index = ranked[0]
            offset = layers[index]
        pos, species, h, k_c, strain = grain_slab(g, kd, kw, D, W, slab, offset, mode, key)
        parts[key] = (pos, species, h)
        used[key] = {"termination": round(float(offset), 6), "termination_index": index,
                     "termination_auto": auto, "n_terminations": len(layers), "height": mode}
        report_grains[key] = {
            "position": "upper" if key == "slab_1" else "lower", "grain": 1 if key == "slab_1" else 0,
            "formula": slab.chemical_formula, "bulk": prep.provenance[key], "orientation": g.info(),
            "repeats": {"depth": kd, "width": kw, "height": k_c},
            "own_length": {"depth": round(kd * g.period_a, 6), "width": round(kw * g.period_b, 6), "height": round(h, 6)},
            "strain_percent": {k: round(100 * v, 4) for k, v in strain.items()},
            "termination": round(float(offset), 6),
            "termination_index": index,
            "terminations": layers,
            "height_mode": mode,
            "n_atoms": len(species),
        }
    report_grains = {k: report_grains[k] for k in ("slab_1", "slab_2")}
    (p_up, s_up, h_up), (p_lo, s_lo, h_lo) = parts["slab_1"], parts["slab_2"]
    height = h_lo + i1 + h_up + i2
    if height <= 0:
        raise ConfigError(f"constraints.interface_1_width/interface_2_width: the cell height would be {height:g} Å")
    lower = p_lo + np.array([0, 0, z0])
    upper = p_up + np.array([0, 0, z0 + h_lo + i1])
    removed = _collisions(lower, upper, (D, W, height), z_split=z0 + h_lo + i1 + 0.5 * h_up,
                          distance=c.collision_distance, flags=c.collision_removal)
    keep_up = ~(removed[0] | removed[1])
    positions = np.vstack([lower, upper[keep_up]])
    species = list(s_lo) + [s for s, k in zip(s_up, keep_up) if k]
    grain = [0] * len(lower) + [1] * int(keep_up.sum())
    centred = int(choices.get("centred_interface", 1))
    shift, offset = centring_shift(height, z0 + h_lo + 0.5 * i1, i1, i2, centred)
    positions[:, 2] = np.mod(positions[:, 2] + shift, height)
    if centred == 2:  # the grain above the centred interface is grain 1 (interface_width opens that interface)
        grain = [1 - g for g in grain]
    s = to_structure(positions, species, (D, W, height), site_properties={"grain": grain})
    line = strain_line(report_grains, (D, W, height), len(s))
    used_choices = {
        "width_match": {**width.record(choices["width_match"]), "auto": c.width_match == "auto",
                        "n_matches": len(prep.widths)},
        "depth_match": {**depth.record(choices["depth_match"]), "auto": c.depth_match == "auto",
                        "n_matches": len(prep.depths)},
        "slab_1": used["slab_1"], "slab_2": used["slab_2"],
        "centred_interface": {"index": centred, "auto": config.centred_interface == "auto",
                              "vertical_shift": round(float(shift), 6), "centre_offset": round(float(offset), 6)},
    }
    report = {
        "builder": "bicrystal", "source": "slabs", "formula": s.composition.formula.replace(" ", ""),
        "n_atoms": len(s), "cell_abc": [round(x, 6) for x in (D, W, height)],
        "grain_labels": ("site property 'grain': 1 = slab_1 (upper), 0 = slab_2 (lower)" if centred == 1 else
                         "site property 'grain': 1 = slab_2 (above the centred interface 2), 0 = slab_1"),
        "coincidence": {"match": c.match, "width": vars(width), "depth": vars(depth)},
        "choices": used_choices,
        "grains": report_grains,
        "collisions_removed": {"interface_1": int(removed[0].sum()), "interface_2": int(removed[1].sum())},
        "interfaces": {"interface_1_width": i1, "interface_2_width": i2,
                       "interface_1_z": round(float(np.mod(z0 + h_lo + 0.5 * i1 + shift, height)), 6),
                       "interface_2_z": round(float(np.mod(shift, height)), 6),
                       "centred_interface": centred,
                       "interface_period": round(W, 6)},
        "pixel_size": c.pixel_size,
        "strain_line": line,
    }
    if config.structure_file is not None:
        report["structure_file_ignored"] = str(config.structure_file)
    return BuildResult(structure=s, report=report)


def centring_shift(height: float, z_if1: float, gap1: float, gap2: float, centred: int) -> tuple[float, float]:
    """(vertical shift of the stacked cell, offset left): the shift that puts the mid-plane
    of the centred interface (1 at ``z_if1``, 2 at the periodic boundary z = 0) at half the
    cell height, as far as the other interface's gap allows: the periodic boundary stays
    inside that gap, so that no grain crosses it. The offset is the centred interface's
    distance below half height, (wanted shift - shift) modulo the cell height, which a
    forward model's ``cell_shift`` adds back (a recipe screen starts it there)."""
    z_c, z_o, g_o = (z_if1, 0.0, gap2) if centred == 1 else (0.0, z_if1, gap1)
    wanted = 0.5 * height - z_c
    mid = -z_o  # the other interface at the periodic boundary
    d = (wanted - mid + 0.5 * height) % height - 0.5 * height
    shift = mid + float(np.clip(d, -0.5 * g_o, 0.5 * g_o))
    return shift, d - (shift - mid)


def rank_terminations(g: Any, kd: int, kw: int, D: float, W: float, slab: SlabConfig, mode: str,
                      layers: list[float], lower: np.ndarray, lower_species: list[Any], *, z_start: float,
                      rest_height: float) -> list[int]:
    """The upper grain's layer indices, best first: the largest smallest distance across both
    interfaces, then the fewest like-element contacts, then the lowest layer (index 0 of the
    result is the ``"auto"`` termination)."""
    from scipy.spatial import cKDTree

    el_lo = np.array([str(s) for s in lower_species])
    keys = []
    for i, layer in enumerate(layers):
        pos, sp, h, _, _ = grain_slab(g, kd, kw, D, W, slab, float(layer), mode, "slab_1")
        box = np.array([D, W, rest_height + h])
        lo = np.mod(lower, box)
        tree = cKDTree(lo, boxsize=box)
        nn = tree.query(lo, k=2)[0][:, 1].min()
        up = np.mod(pos + np.array([0, 0, z_start]), box)
        d, _ = tree.query(up)
        el_up = np.array([str(s) for s in sp])
        like = 0
        for j, hits in enumerate(tree.query_ball_point(up, r=1.15 * nn)):
            like += int(np.sum(el_lo[hits] == el_up[j]))
        keys.append(((-round(float(d.min()), 2), like, float(layer)), i))
    keys.sort()
    return [i for _, i in keys]


def _collisions(lower: np.ndarray, upper: np.ndarray, box: tuple[float, float, float], *, z_split: float,
                distance: float, flags: tuple[bool, bool]) -> tuple[np.ndarray, np.ndarray]:
    """Upper-grain atoms closer than ``distance`` to a lower-grain atom, at interface 1 and 2."""
    from scipy.spatial import cKDTree

    none = np.zeros(len(upper), dtype=bool)
    if not (flags[0] or flags[1]) or len(lower) == 0 or len(upper) == 0:
        return none, none.copy()
    boxv = np.asarray(box, dtype=float)
    tree = cKDTree(np.mod(lower, boxv), boxsize=boxv)
    d, _ = tree.query(np.mod(upper, boxv), distance_upper_bound=distance)
    hit = d < distance
    at1 = hit & (upper[:, 2] < z_split)
    at2 = hit & (upper[:, 2] >= z_split)
    return (at1 if flags[0] else none), (at2 if flags[1] else none.copy())


def strain_line(grains: dict[str, Any], cell: tuple[float, float, float], n_atoms: int) -> str:
    """One human-readable line: strain per grain and direction, the cell and atom count."""
    parts = []
    for key, g in grains.items():
        st = g["strain_percent"]
        extra = ""
        shear = max(abs(st.get("shear_width_height", 0.0)), abs(st.get("shear_depth_height", 0.0)),
                    abs(st.get("shear_depth_width", 0.0)))
        if shear > 1e-4:
            extra = f", shear {shear:.3f} %"
        parts.append(f"{key} ({g['formula']}, {g['position']}): width {_pct(st['width'])} %, depth {_pct(st['depth'])} %{extra}")
    return "; ".join(parts) + f" | cell {cell[0]:.4f} x {cell[1]:.4f} x {cell[2]:.4f} Å, {n_atoms} atoms"


def _pct(value: float) -> str:
    return f"{round(value, 3) + 0.0:+.3f}"
