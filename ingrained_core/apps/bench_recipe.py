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
    # the published Ni/M3B2 cell was cut at max_dimension keeping the atoms on both faces
    "ni_m3b2": {"slab_1": {"height": "cut"}, "slab_2": {"height": "cut"}},
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
        recipe.setdefault(key, {}).update(fields)
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
    screen = {k: v for k, v in old.items() if k in ("screen", "screen_budget", "screen_keep", "screen_limit", "also")}
    out["structure"] = {"builder": "bicrystal", **recipe, **screen}
    return out
