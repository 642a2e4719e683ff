"""The Materials Project source up to the network boundary: request, recorded response
(built with emmet's own SummaryDoc model), selection rule, cache, offline errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mp_api")
pytest.importorskip("emmet.core.summary")

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.builtins.structures import materials_project as mp
from ingrained_core.builtins.structures.library import library_structure


@pytest.fixture()
def recorded_response(tmp_path: Path) -> Path:
    """A summary-search response for CdTe F-43m, serialised from emmet SummaryDoc objects:
    the ground state (primitive cell, as the MP serves it), a metastable duplicate and a
    tie in energy with a higher id."""
    from emmet.core.summary import SummaryDoc
    from emmet.core.symmetry import SymmetryData

    cell, _ = library_structure("CdTe", "F-43m", lattice_a=6.629)
    prim = cell.get_primitive_structure()
    strained, _ = library_structure("CdTe", "F-43m", lattice_a=6.70)
    strained = strained.get_primitive_structure()
    docs = [
        SummaryDoc(material_id="mp-12779", structure=strained, energy_above_hull=0.012,
                   symmetry=SymmetryData.from_structure(strained), formula_pretty="CdTe"),
        SummaryDoc(material_id="mp-1000406", structure=strained, energy_above_hull=0.0,
                   symmetry=SymmetryData.from_structure(strained), formula_pretty="CdTe"),
        SummaryDoc(material_id="mp-406", structure=prim, energy_above_hull=0.0,
                   symmetry=SymmetryData.from_structure(prim), formula_pretty="CdTe"),
    ]
    path = tmp_path / "summary_CdTe_F-43m.json"
    path.write_text(json.dumps([d.model_dump(mode="json") for d in docs]))
    return path


def _load(path: Path) -> list:
    from emmet.core.summary import SummaryDoc

    return [SummaryDoc.model_validate(d) for d in json.loads(path.read_text())]


def test_request_uses_server_side_filters() -> None:
    formula, sg = mp.normalise_query("TeCd", " F-43m")
    assert (formula, sg) == ("CdTe", "F-43m")
    kw = mp.search_kwargs(formula, sg)
    assert kw["formula"] == "CdTe" and kw["spacegroup_symbol"] == "F-43m"
    assert set(kw["fields"]) == {"material_id", "formula_pretty", "symmetry", "energy_above_hull", "structure"}
    import inspect

    from mp_api.client.routes.materials.summary import SummaryRester

    params = inspect.signature(SummaryRester.search).parameters
    assert {"formula", "spacegroup_symbol", "fields"} <= set(params)


def test_selection_lowest_hull_energy_then_lowest_id(recorded_response: Path) -> None:
    cands = mp.parse_documents(_load(recorded_response))
    assert [c["space_group"] for c in cands] == ["F-43m"] * 3
    best = mp.select_candidate(cands, "F-43m")
    assert best["material_id"] == "mp-406"  # 0.0 eV, and 406 < 1000406 numerically


def test_wrong_space_group_in_response_is_not_selected(recorded_response: Path) -> None:
    with pytest.raises(ConfigError, match="no entry in space group P6_3mc"):
        mp.select_candidate(mp.parse_documents(_load(recorded_response)), "P6_3mc")


def test_cache_makes_the_second_run_offline(recorded_response: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MP_API_KEY", raising=False)
    cache = tmp_path / "cache"
    path = mp.store("CdTe", "F-43m", mp.parse_documents(_load(recorded_response)), cache)
    assert path == cache / "CdTe_F-43m.json"
    s, info = mp.fetch_structure("CdTe", "F-43m", cache_dir=cache, endpoint="http://127.0.0.1:9")
    assert info["material_id"] == "mp-406" and info["cache"] == str(path)
    assert len(s) == 8 and s.lattice.abc == pytest.approx((6.629,) * 3, abs=1e-3)  # conventional standard cell
    b = mp.MaterialsProjectBuilder()
    r = b.build(b.Config(formula="CdTe", space_group="F-43m", cache_dir=cache, api_key="k" * 32))
    assert r.report["material_id"] == "mp-406"
    assert "k" * 32 not in path.read_text() and "k" * 32 not in json.dumps(r.report)


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INGRAINED_MP_CACHE", str(tmp_path / "c"))
    assert mp.cache_path("B2Mo3", "P4/mbm") == tmp_path / "c" / "B2Mo3_P4_mbm.json"


def test_no_key_and_no_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MP_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"Si Fd-3m is not in the Materials Project cache.*MP_API_KEY.*unit_cell.*library"):
        mp.fetch_structure("Si", "Fd-3m", cache_dir=tmp_path)


def test_unreachable_server_gives_clear_offline_error(tmp_path: Path, monkeypatch) -> None:
    secret = "s3cr3t" + "x" * 26
    monkeypatch.setenv("MP_API_KEY", secret)
    with pytest.raises(ConfigError, match=r"cannot reach the Materials Project for Si Fd-3m.*offline\?.*unit_cell") as err:
        mp.fetch_structure("Si", "Fd-3m", cache_dir=tmp_path, endpoint="http://127.0.0.1:9/")
    assert secret not in str(err.value)
    assert not list(tmp_path.iterdir())  # nothing cached on failure


def test_corrupt_cache_entry_is_ignored(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MP_API_KEY", raising=False)
    (tmp_path / "Si_Fd-3m.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not in the Materials Project cache"):
        mp.fetch_structure("Si", "Fd-3m", cache_dir=tmp_path)


def test_bicrystal_uses_the_cache(stem_data: Path, recorded_response: Path, tmp_path: Path, monkeypatch) -> None:
    """The paper's twin config with the default source (MP) builds offline from the cache."""
    from ingrained_core.builtins.structures.bicrystal import BicrystalBuilder

    from .conftest import paper_config

    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.setenv("INGRAINED_MP_CACHE", str(tmp_path / "mp"))
    mp.store("CdTe", "F-43m", mp.parse_documents(_load(recorded_response)))
    d = paper_config(stem_data, "cdte_twin")
    d["rebuild"] = True
    r = BicrystalBuilder().build(BicrystalBuilder.Config.model_validate(d, context={"base_dir": stem_data / "cdte_twin"}))
    assert len(r.structure) == 576
    assert r.report["grains"]["slab_1"]["bulk"]["material_id"] == "mp-406"
