"""Every distinct candidate of a bicrystal recipe (the structure hypotheses of the paper's Case 4).

A recipe leaves discrete choices open: the upper (and, if asked, the lower) grain's
termination among its distinct cuts within one vertical period, the width (and depth)
match among the admissible pairs of repeats, the height mode, and which of the cell's two
interfaces is centred (the one the crop sees). The choices named in the
config's ``vary`` list and left ``"auto"`` are enumerated; the others stay as the config
fixes them. Candidate 0 is what a plain build gives (every ``"auto"`` resolved), the others
follow in match order, then in the automatic termination ranking.

Two candidates are the same when their projected columns (position along the width and
the height, species, grain label and atoms per column) agree within :data:`SAME_TOLERANCE` up to an
in-plane translation (periodic in the cell); the later one is merged into the earlier, and
the table says which indices merged.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.protocols import BuildResult

#: Projected columns this close (Å) after the best in-plane translation are the same.
SAME_TOLERANCE = 0.05


@dataclass
class Candidate:
    """One distinct structure of a recipe."""

    index: int  # among the distinct candidates
    raw_index: int  # in the full enumeration (before merging)
    name: str
    result: BuildResult
    merged: list[int] = field(default_factory=list)  # raw indices merged into this one

    @property
    def choices(self) -> dict[str, Any]:
        return self.result.report["choices"]


def enumerate_candidates(config: Any, *, limit: int | None = None) -> list[Candidate]:
    """The distinct candidates of a ``BicrystalConfig`` (see the module docstring).

    ``limit``: more distinct candidates than this is a ConfigError naming the limit and the
    constraints to tighten."""
    from ingrained_core.builtins.structures.bicrystal import (
        assemble,
        choices_from_config,
        grain_layers,
        grain_slab,
        prepare_bicrystal,
        rank_terminations,
    )

    prep = prepare_bicrystal(config)
    base = choices_from_config(config, prep)
    c = config.constraints
    vary = set(config.vary)
    widths = range(len(prep.widths)) if ("width_match" in vary and c.width_match == "auto") else [base["width_match"]]
    depths = range(len(prep.depths)) if ("depth_match" in vary and c.depth_match == "auto") else [base["depth_match"]]

    def heights(key: str) -> list[str]:
        slab = getattr(config, key)
        return ["periods", "cut"] if f"{key}.height" in vary and "height" not in slab.model_fields_set else [slab.height]

    centred = ([1, 2] if "centred_interface" in vary and config.centred_interface == "auto"
               else [base["centred_interface"]])

    def varies(key: str) -> bool:
        slab = getattr(config, key)
        return f"{key}.termination" in vary and slab.termination == "auto" and slab.termination_index is None

    raw: list[BuildResult] = []
    for wi, di, h2, h1 in itertools.product(widths, depths, heights("slab_2"), heights("slab_1")):
        width, depth = prep.widths[wi], prep.depths[di]
        D, W = depth.common, width.common
        g2 = prep.grains["slab_2"]
        lower_terms: list[Any] = ([{"index": i} for i in range(len(grain_layers(g2, depth.k2, width.k2, D, W,
                                                                                  config.slab_2.max_dimension)))]
                                  if varies("slab_2") else [base["slab_2"]["termination"]])
        for t2 in lower_terms:
            choice = {"width_match": wi, "depth_match": di, "slab_2": {"termination": t2, "height": h2},
                      "slab_1": {"termination": base["slab_1"]["termination"], "height": h1},
                      "centred_interface": centred[0]}
            if varies("slab_1"):
                # the upper grain's layers in the automatic ranking (its first is the 'auto' one)
                first = assemble(prep, choice)
                ranked = _upper_ranking(prep, choice, first, rank_terminations, grain_slab, grain_layers)
                for k, i in enumerate(ranked):
                    up = {"termination": {"index": i}, "height": h1}
                    for view in centred:
                        if k == 0 and view == centred[0]:
                            raw.append(first)
                            continue
                        raw.append(assemble(prep, {**choice, "slab_1": up if k else choice["slab_1"],
                                                   "centred_interface": view}))
            else:
                for view in centred:
                    raw.append(assemble(prep, {**choice, "centred_interface": view}))
    distinct = _merge(raw)
    if limit is not None and len(distinct) > limit:
        raise ConfigError(
            f"[structure] screen_limit: the recipe has {len(distinct)} distinct candidates, more than the limit "
            f"{limit}; tighten constraints.max_strain or the width range (constraints.min_width/max_width, "
            f"{len(prep.widths)} width matches), fix slab_1.termination_index, or drop choices from 'vary'"
        )
    return distinct


def _upper_ranking(prep: Any, choice: dict[str, Any], first: BuildResult, rank_terminations: Any,
                   grain_slab: Any, grain_layers: Any) -> list[int]:
    """The upper grain's termination indices in the automatic ranking, for this choice."""
    config = prep.config
    c = config.constraints
    width, depth = prep.widths[choice["width_match"]], prep.depths[choice["depth_match"]]
    D, W = depth.common, width.common
    g1, g2 = prep.grains["slab_1"], prep.grains["slab_2"]
    lo_used = first.report["choices"]["slab_2"]
    p_lo, s_lo, h_lo, _, _ = grain_slab(g2, depth.k2, width.k2, D, W, config.slab_2, lo_used["termination"],
                                        choice["slab_2"]["height"], "slab_2")
    z0 = 0.5 * c.interface_2_width
    layers = grain_layers(g1, depth.k1, width.k1, D, W, config.slab_1.max_dimension)
    return rank_terminations(g1, depth.k1, width.k1, D, W, config.slab_1, choice["slab_1"]["height"], layers,
                             p_lo + np.array([0, 0, z0]), s_lo, z_start=z0 + h_lo + c.interface_1_width,
                             rest_height=h_lo + c.interface_1_width + c.interface_2_width)


def candidate_name(report: dict[str, Any]) -> str:
    """A short file-name-safe name of a candidate's choices, e.g. ``w0-3x3_t1-8_t2-0``."""
    ch = report["choices"]
    w = ch["width_match"]
    parts = [f"w{w['index']}-{w['k1']}x{w['k2']}"]
    if ch["depth_match"]["n_matches"] > 1 and ch["depth_match"]["index"]:
        parts.append(f"d{ch['depth_match']['index']}")
    for key, tag in (("slab_1", "u"), ("slab_2", "l")):
        t = ch[key]["termination_index"]
        parts.append(f"{tag}{t if t is not None else 'x'}")
        if ch[key]["height"] == "cut":
            parts[-1] += "c"
    if ch.get("centred_interface", {}).get("index", 1) == 2:
        parts.append("i2")
    return "_".join(parts)


# ------------------------------------------------------------------------- sameness
def projected_columns(structure: Any, fold: int = 1) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Columns of a structure projected along the beam (cell axis a): their (width, height)
    positions (Å), labels (species and counts, e.g. 'Cd3') and the (width, height) box.

    ``fold``: the structure repeats ``fold`` times across its width (the gcd of the two
    grains' width repeats): columns are folded into one repeat, so that the same interface
    in a wider cell compares equal (the forward model tiles the cell across the width)."""
    abc = structure.lattice.abc
    full = np.array([abc[1], abc[2]])
    yz = np.mod(np.asarray(structure.frac_coords)[:, 1:], 1.0) * full
    key = np.rint(yz / 1e-3).astype(np.int64)
    grains = structure.site_properties.get("grain") or [0] * len(structure)
    els = np.array([f"{site.specie.symbol}g{g}" for site, g in zip(structure, grains)])
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    labels = []
    for j in range(len(uniq)):
        names, counts = np.unique(els[order[bounds[j]:bounds[j + 1]]], return_counts=True)
        labels.append("".join(f"{n}{k}" for n, k in zip(names, counts)))
    pos = uniq * 1e-3
    box = np.array([full[0] / fold, full[1]])
    lab = np.array(labels)
    if fold > 1:  # keep one copy of each column: fold into the first repeat, drop duplicates
        from scipy.spatial import cKDTree

        folded = np.mod(pos, box)
        folded[np.isclose(folded, box, atol=1e-6)] = 0.0
        keep = np.ones(len(folded), dtype=bool)
        for i, j in sorted(cKDTree(folded, boxsize=box).query_pairs(0.02)):
            if keep[i] and lab[i] == lab[j]:
                keep[j] = False
        pos, lab = folded[keep], lab[keep]
    return pos, lab, (float(box[0]), float(box[1]))


def same_projection(a: Any, b: Any, tol: float = SAME_TOLERANCE) -> bool:
    """Whether two structures project to the same columns and species within ``tol`` Å, up to
    an in-plane translation (periodic in the cell)."""
    from scipy.spatial import cKDTree

    pa, la, ba = a
    pb, lb, bb = b
    if len(pa) != len(pb) or abs(ba[0] - bb[0]) > tol or abs(ba[1] - bb[1]) > tol:
        return False
    if sorted(la) != sorted(lb):
        return False
    box = np.array(bb)
    tree = cKDTree(np.mod(pb, box), boxsize=box)
    labels, counts = np.unique(la, return_counts=True)
    ref_label = labels[np.argmin(counts)]
    j = np.nonzero(la == ref_label)[0][0]
    probe = np.linspace(0, len(pa) - 1, min(len(pa), 12)).astype(int)
    for r in np.nonzero(lb == ref_label)[0]:
        shift = pb[r] - pa[j]
        d, k = tree.query(np.mod(pa[probe] + shift, box))
        if d.max() > tol or not np.all(lb[k] == la[probe]):
            continue
        moved = np.mod(pa + shift, box)
        d, k = tree.query(moved)
        if d.max() <= tol and np.all(lb[k] == la):
            return True
    return False


def _merge(raw: list[BuildResult]) -> list[Candidate]:
    out: list[Candidate] = []
    sigs: list[Any] = []
    for i, r in enumerate(raw):
        w = r.report["choices"]["width_match"]
        sig = projected_columns(r.structure, math.gcd(int(w["k1"]), int(w["k2"])))
        for cand, other in zip(out, sigs):
            if same_projection(sig, other):
                cand.merged.append(i)
                break
        else:
            name = candidate_name(r.report)
            out.append(Candidate(index=len(out), raw_index=i, name=name, result=r))
            sigs.append(sig)
    for cand in out:
        cand.result.report["candidate"] = {"index": cand.index, "name": cand.name, "raw_index": cand.raw_index,
                                           "merged_raw_indices": cand.merged, "n_raw": len(raw)}
    return out


# ------------------------------------------------------------------------- table
TABLE_FIELDS = ["index", "name", "width_match", "k1", "k2", "strain1_width_percent", "strain2_width_percent",
                "depth_match", "slab_1_termination_index", "slab_1_termination", "slab_1_height",
                "slab_2_termination_index", "slab_2_termination", "slab_2_height", "centred_interface", "n_atoms", "composition",
                "cell_a", "cell_b", "cell_c", "min_distance", "merged_raw_indices", "raw_index"]


def min_distance(structure: Any) -> float:
    """The smallest interatomic distance (Å, periodic)."""
    from scipy.spatial import cKDTree

    box = np.array(structure.lattice.abc)
    p = np.mod(np.asarray(structure.cart_coords), box)
    if len(p) < 2:
        return float("nan")
    return float(cKDTree(p, boxsize=box).query(p, k=2)[0][:, 1].min())


def table_rows(cands: list[Candidate]) -> list[dict[str, Any]]:
    """One row per distinct candidate (choices, atoms, composition, cell, strains, min distance)."""
    rows = []
    for cd in cands:
        rep, ch = cd.result.report, cd.choices
        w = ch["width_match"]
        row = {"index": cd.index, "name": cd.name, "width_match": w["index"], "k1": w["k1"], "k2": w["k2"],
               "strain1_width_percent": w["strain1_percent"], "strain2_width_percent": w["strain2_percent"],
               "depth_match": ch["depth_match"]["index"], "n_atoms": rep["n_atoms"], "composition": rep["formula"],
               "cell_a": rep["cell_abc"][0], "cell_b": rep["cell_abc"][1], "cell_c": rep["cell_abc"][2],
               "min_distance": round(min_distance(cd.result.structure), 4),
               "merged_raw_indices": " ".join(map(str, cd.merged)), "raw_index": cd.raw_index,
               "centred_interface": ch.get("centred_interface", {}).get("index", 1)}
        for key in ("slab_1", "slab_2"):
            row[f"{key}_termination_index"] = ch[key]["termination_index"]
            row[f"{key}_termination"] = ch[key]["termination"]
            row[f"{key}_height"] = ch[key]["height"]
        rows.append(row)
    return rows


def pinned_fields(report: dict[str, Any]) -> dict[str, Any]:
    """The config fields that rebuild exactly this candidate (its choices fixed), to merge
    into the recipe: per slab the termination (by index) and height mode, and the matches."""
    ch = report["choices"]
    out: dict[str, Any] = {"constraints": {"width_match": ch["width_match"]["index"],
                                           "depth_match": ch["depth_match"]["index"]}}
    if "centred_interface" in ch:
        out["centred_interface"] = int(ch["centred_interface"]["index"])
    for key in ("slab_1", "slab_2"):
        t = ch[key]["termination_index"]
        out[key] = {"height": ch[key]["height"], **({"termination_index": t} if t is not None
                                                      else {"termination": ch[key]["termination"]})}
    return out


def pin(recipe: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """``recipe`` (a bicrystal config mapping) with one candidate's choices fixed."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in recipe.items()}
    for section, fields in pinned_fields(report).items():
        if not isinstance(fields, dict):
            out[section] = fields
            continue
        sec = dict(out.get(section) or {})
        sec.pop("termination", None) if section.startswith("slab") else None
        sec.pop("termination_index", None) if section.startswith("slab") else None
        sec.update(fields)
        out[section] = sec
    return out
