"""Benchmark recipe mode: a case's config turned into its recipe, with no published file."""

from __future__ import annotations

import shutil
from pathlib import Path

from ingrained_core.apps.bench_recipe import recipe_case

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _case(tmp_path: Path, case: str) -> tuple[dict, Path]:
    import tomllib

    d = tmp_path / case
    shutil.copytree(EXAMPLES / case, d, ignore=shutil.ignore_patterns("*.dm3", "*.tif"))
    (d / "bicrystal.POSCAR.vasp").unlink()  # the recipe mode never reads it
    return tomllib.loads((d / "fuse.toml").read_text()), d


def test_recipe_case_builds_the_recipe_without_the_published_file(tmp_path: Path) -> None:
    from ingrained_core.builtins.structures.bicrystal import BicrystalBuilder
    from ingrained_core.engine.screen_options import split_screen_options

    config, d = _case(tmp_path, "ni_m3b2")
    out = recipe_case(config, d)
    st = out["structure"]
    assert st["builder"] == "bicrystal" and "structure_file" not in st and "path" not in st
    assert st["slab_1"]["height"] == "cut" and st["slab_2"]["unit_cell"].endswith("Ni_Fm-3m_a3.5058.cif")
    assert config["structure"]["builder"] == "file"  # the input is left alone
    # in cut mode the lower grain's termination decides its top face; the slab order is the image's
    assert st["vary"] == ["slab_1.termination", "slab_2.termination", "width_match"]
    assert st["screen_probe_keep"] == 24 and st["screen_limit"] == 400
    _, fields = split_screen_options({k: v for k, v in st.items() if k != "builder"})
    r = BicrystalBuilder().build(BicrystalBuilder.Config.model_validate(fields))
    assert r.report["source"] == "slabs" and r.report["choices"]["width_match"]["k1"] == 3


def test_recipe_case_twin_and_screen_keys(tmp_path: Path) -> None:
    config, d = _case(tmp_path, "cdte_twin")
    config["structure"]["screen_keep"] = 2
    out = recipe_case(config, d)
    assert out["structure"]["screen_keep"] == 2
    assert out["structure"]["slab_1"]["unit_cell"].endswith("CdTe_F-43m_a6.629.cif")
