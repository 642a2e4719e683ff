"""No silent geometry (issue 13, item 7): parameters at a bound are listed, and a crop the
model shrinks below the run's configured minimum makes the evaluation infeasible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingrained_core.engine.run_records import at_bound, at_bound_line
from ingrained_core.plugin.params import ParameterSpace, ParamSpec

from .test_recipe_screen import _config, _experiment


def test_at_bound_lists_parameters_within_half_a_percent_of_a_bound() -> None:
    from ingrained_stem.params import HaadfParams

    space = ParameterSpace(HaadfParams, {"source_size": ParamSpec(start=1.0, min=0.5, max=1.5),
                                         "shear_x": ParamSpec(start=0.0, min=-0.2, max=0.2)})
    values = {"source_size": 1.4951, "shear_x": -0.1979, "pixel_size": 0.2}
    hits = at_bound(space, values)
    assert [h["name"] for h in hits] == ["source_size"] and hits[0]["side"] == "max"
    values["shear_x"] = -0.1981
    assert {h["name"] for h in at_bound(space, values)} == {"source_size", "shear_x"}
    assert "source_size = 1.4951 (max 1.5)" in at_bound_line({"at_bound": at_bound(space, values)})


def test_best_json_records_at_bound_and_structure_choices(tmp_path: Path) -> None:
    import tomllib

    from ingrained_core.apps.api import fuse

    exp = _experiment(tmp_path, 0, seed=1)
    cfg = _config(tmp_path, exp, screen="none")
    data = tomllib.loads(cfg.read_text())
    data["forward_model"]["params"]["source_size"] = {"start": 1.39, "min": 1.2, "max": 1.4}  # truth 1.0: pressed
    import tomli_w

    cfg.write_bytes(tomli_w.dumps(data).encode())
    fuse(cfg, tmp_path / "run", max_evals=6)
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert [h["name"] for h in best["at_bound"]] == ["source_size"]
    assert best["structure_choices"]["width_match"]["index"] == 0
    assert best["structure_choices"]["slab_1"]["termination_auto"] is True
    strain = json.loads((tmp_path / "run" / "strain.json").read_text())
    assert strain["choices"] == best["structure_choices"] and strain["n_atoms"] == 576


def test_a_crop_below_the_configured_minimum_is_infeasible(tmp_path: Path) -> None:
    import tomllib

    import tomli_w

    from ingrained_core.apps.api import fuse
    from ingrained_core.plugin.errors import IngrainedError

    exp = _experiment(tmp_path, 0, seed=1)
    cfg = _config(tmp_path, exp, screen="none")
    data = tomllib.loads(cfg.read_text())
    # 1 Å pixels: the 69 Å cell is 69 px high, the model would shrink a 75-px crop to it
    data["forward_model"]["params"]["pixel_size"] = {"start": 1.0, "fixed": True}
    data["forward_model"]["params"]["crop_height"] = {"start": 75, "fixed": True}
    data["experiment"]["pixel_size"] = 1.0
    cfg.write_bytes(tomli_w.dumps(data).encode())
    with pytest.raises(IngrainedError, match=r"crop_height: the model returned \d+ px, below the run's minimum 75"):
        fuse(cfg, tmp_path / "run", max_evals=3)
