"""A refinement may only start from a run of the same structure (``best.json`` ``structure_hash``).

Uses the convolution model on the CdTe twin example (milliseconds per evaluation, no
abTEM): the check is the engine's, the same for the multislice refinement.
"""

from __future__ import annotations

import json

import pytest

from ingrained_core.apps.api import fuse
from ingrained_core.engine.start_from import structure_hash
from ingrained_core.plugin.errors import ConfigError

from .conftest import TWIN_DIR, cdte_110


@pytest.fixture(scope="module")
def twin_run(tmp_path_factory):
    if not (TWIN_DIR / "HAADF26.dm3").is_file():
        pytest.skip("example data missing")
    out = tmp_path_factory.mktemp("twin") / "conv"
    fuse(TWIN_DIR / "fuse.toml", out, max_evals=2)
    return out


def test_structure_hash_ignores_site_order_and_sees_a_moved_atom():
    cell = cdte_110()
    h = structure_hash(cell)
    assert h.startswith("Cd8Te8:") and len(h.split(":")[1]) == 16
    shuffled = cell.copy()
    shuffled.sort(key=lambda site: -site.frac_coords[2])
    assert structure_hash(shuffled) == h
    moved = cell.copy()
    moved.translate_sites([0], [0.0, 0.0, 0.01])
    assert structure_hash(moved) != h


def test_best_json_records_the_hash_and_a_start_from_the_same_structure_works(twin_run, tmp_path):
    best = json.loads((twin_run / "best.json").read_text())
    assert best["structure_hash"].startswith("Cd")
    again = fuse(TWIN_DIR / "fuse.toml", tmp_path / "again", max_evals=1,
                 overrides=[f'forward_model.start_from="{twin_run / "best.json"}"'])
    assert again.params["interface_width"] == pytest.approx(best["params"]["interface_width"])
    assert json.loads((tmp_path / "again" / "best.json").read_text())["structure_hash"] == best["structure_hash"]


def test_a_start_from_a_run_of_another_structure_is_refused(twin_run, tmp_path):
    from pymatgen.core import Structure

    other = Structure.from_file(str(TWIN_DIR / "bicrystal.POSCAR.vasp"))
    other.remove_sites([0])
    other.to(filename=str(tmp_path / "other.vasp"), fmt="poscar")
    best = json.loads((twin_run / "best.json").read_text())
    with pytest.raises(ConfigError) as err:
        fuse(TWIN_DIR / "fuse.toml", tmp_path / "refused", max_evals=1,
             overrides=[f'structure.path="{tmp_path / "other.vasp"}"',
                        f'forward_model.start_from="{twin_run / "best.json"}"'])
    text = str(err.value)
    assert "is a run of another structure" in text and best["structure_hash"] in text
    assert "Cd287Te288" in text or "Cd288Te287" in text
    assert not (tmp_path / "refused").exists()  # refused before the run directory is made


def test_a_start_from_a_model_sharing_no_parameter_is_refused(tmp_path):
    if not (TWIN_DIR / "HAADF26.dm3").is_file():
        pytest.skip("example data missing")
    foreign = tmp_path / "best.json"
    foreign.write_text(json.dumps({"forward_model": "stm-tersoff", "params": {"iso_value": 0.3, "z_below": 2.0},
                                   "fom": 0.3}))
    with pytest.raises(ConfigError, match=r"solution of forward model 'stm-tersoff' .*shares no parameter name "
                                          r"with this run's model 'haadf'"):
        fuse(TWIN_DIR / "fuse.toml", tmp_path / "r", max_evals=1,
             overrides=[f'forward_model.start_from="{foreign}"'])
