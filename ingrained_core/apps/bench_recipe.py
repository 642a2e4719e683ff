"""Benchmark recipe mode (issue 13, item 6): a published case fused from its recipe.

:func:`recipe_case` turns a benchmark case's run config (``[structure] builder = "file"``
with the published POSCAR) into the same run built from the case's ``bicrystal.json``
recipe: ``structure_file`` stripped, each slab's ``unit_cell`` (the paper's cell shipped
beside the recipe, e.g. ``CdTe_F-43m_a6.629.cif``) resolved against the case directory,
else the bundled library cell. The fuse then
screens the recipe's candidates (:mod:`.recipe_screen`). The published structure file is
not read (a test runs it with the POSCAR deleted).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from ingrained_core.plugin.errors import ConfigError

#: Recipe fields per case beyond bicrystal.json that the paper's builder used.
CASE_FIELDS: dict[str, dict[str, Any]] = {
    # the published Ni/M3B2 cell was cut at max_dimension keeping the atoms on both faces, and
    # in cut mode the lower grain's termination decides its top face: both terminations are
    # varied; the slab order is the image's (Ni below), so the centred interface is not
    "ni_m3b2": {"slab_1": {"height": "cut"}, "slab_2": {"height": "cut"},
                "vary": ["slab_1.termination", "slab_2.termination", "width_match"]},
}

#: Screen settings per case (the recipe's candidate count decides them): Ni/M3B2 has 230
#: distinct candidates, too many for a screen budget each in minutes, so a probe stage
#: (every candidate at a few points) keeps the best for the screen.
CASE_SCREEN: dict[str, dict[str, Any]] = {
    "ni_m3b2": {"screen_limit": 400, "screen_probe_keep": 24, "screen_probe_points": 4},
}


def recipe_case(config: dict[str, Any], case_dir: Path) -> dict[str, Any]:
    """The case's run config (a raw mapping) turned into its recipe config: ``[structure]``
    becomes the bicrystal recipe of ``case_dir/bicrystal.json`` without ``structure_file``."""
    case_dir = Path(case_dir).resolve()
    path = case_dir / "bicrystal.json"
    if not path.is_file():
        raise ConfigError(f"recipe mode: {path} not found (the case's bicrystal recipe)")
    recipe = json.loads(path.read_text())
    recipe.pop("structure_file", None)
    recipe.pop("rebuild", None)
    for key, fields in CASE_FIELDS.get(case_dir.name, {}).items():
        if isinstance(fields, dict):
            recipe.setdefault(key, {}).update(fields)
        else:
            recipe[key] = fields
    uses_library = False
    for key in ("slab_1", "slab_2"):
        slab = recipe.get(key) or {}
        if "unit_cell" in slab:
            cell = Path(slab["unit_cell"])
            slab["unit_cell"] = str(cell if cell.is_absolute() else (case_dir / cell).resolve())
            continue
        uses_library = True
    if uses_library:
        recipe.setdefault("source", "library")
    out = copy.deepcopy(config)
    old = dict(out.get("structure") or {})
    from ingrained_core.engine.screen_options import SCREEN_KEYS

    screen = {**CASE_SCREEN.get(case_dir.name, {}), **{k: v for k, v in old.items() if k in SCREEN_KEYS}}
    out["structure"] = {"builder": "bicrystal", **recipe, **screen}
    return out


def equivalent(a: Any, b: Any, *, tol: float = 0.25, vertical_range: float | None = None) -> bool:
    """Whether structure ``a`` is ``b`` after one rigid translation (every atom within ``tol``
    Å of an atom of the same species, one to one), with the translation's vertical part within
    ``vertical_range`` of 0 modulo the cell height when given (then the same interface faces
    the crop centre, up to the free placement ``cell_shift``)."""
    import numpy as np
    from scipy.spatial import cKDTree

    if len(a) != len(b) or np.max(np.abs(np.array(a.lattice.abc) - np.array(b.lattice.abc))) > tol:
        return False
    box = np.array(b.lattice.abc)
    pa = np.asarray(a.cart_coords, float)
    pb = np.mod(np.asarray(b.cart_coords, float), box)
    ea = np.array([x.specie.symbol for x in a])
    eb = np.array([x.specie.symbol for x in b])
    if sorted(ea) != sorted(eb):
        return False
    tree = cKDTree(pb, boxsize=box)
    names, counts = np.unique(ea, return_counts=True)
    ref = names[np.argmin(counts)]
    j = np.nonzero(ea == ref)[0][0]
    for r in np.nonzero(eb == ref)[0]:
        t = pb[r] - pa[j]
        if vertical_range is not None:
            tz = (t[2] + 0.5 * box[2]) % box[2] - 0.5 * box[2]
            if abs(tz) > vertical_range + tol:
                continue
        d, k = tree.query(np.mod(pa + t, box))
        if d.max() <= tol and np.all(eb[k] == ea) and len(set(k.tolist())) == len(k):
            return True
    return False


def published_rank(run_dir: Path, published: Path) -> dict[str, Any] | None:
    """Where the published-equivalent candidate ended in a recipe screen: its name, rank,
    stage (probe / screen / full fit) and FOM; None when no candidate is equivalent (or the
    run is not a screen). Reads the published file only for this report."""
    from ingrained_core.builtins.structures.file import read_structure
    from ingrained_core.engine.registry import get_registry
    from ingrained_core.engine.screen_options import SCREEN_KEYS

    run_dir = Path(run_dir)
    state_path = run_dir / "screen.json"
    if not state_path.is_file() or not Path(published).is_file():
        return None
    state = json.loads(state_path.read_text())
    best = json.loads((run_dir / "best.json").read_text())
    pub = read_structure(Path(published))
    base = Path(state["config"].get("base_dir") or run_dir)
    builder = get_registry().get("structure_builder", "bicrystal")()
    ranking = {r["candidate"]: r for r in best["screen"]["ranking"]}

    def stage_rank(records: dict[str, Any] | list[Any], i: int) -> int | None:
        items = records.items() if isinstance(records, dict) else enumerate(records)
        foms = sorted((float(r["fom"]), int(k)) for k, r in items if r.get("fom") == r.get("fom"))
        order = [k for _, k in foms]
        return order.index(i) + 1 if i in order else None

    found = []
    for i, e in enumerate(state["entries"]):
        if e["kind"] != "recipe":
            continue
        sec = {k: v for k, v in e["structure"].items() if k not in SCREEN_KEYS and k != "builder"}
        s = builder.build(builder.Config.model_validate(sec, context={"base_dir": base})).structure
        if len(s) != len(pub):
            continue
        if equivalent(s, pub, vertical_range=e.get("placement_range") or 0.0):
            r = ranking.get(e["name"], {})
            found.append({"candidate": e["name"], "rank": r.get("rank"), "stage": r.get("stage"),
                          "fom": r.get("fom"), "status": r.get("status"),
                          "screen_rank": stage_rank(state["screened"], i),
                          "refine_rank": stage_rank(state["refined"], i) if state.get("refined") else None,
                          "probe_rank": stage_rank(state["probe"], i) if "probe" in state else None})
    return found[0] if found else None
