"""benchmarks/bench_prism_window.py's configs: the case switched to the multislice model at fixed
parameters, and ``--substitute`` (mixed sites drawn once) on the bundled Ni/M3B2 structure."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import benchmark_module

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    return benchmark_module("bench_prism_window")


def test_substitution_is_parsed_and_refused_with_the_expected_form(bench):
    assert bench.parse_substitution(["Mo=Mo:0.5,Cr:0.5"]) == {"Mo": {"Mo": 0.5, "Cr": 0.5}}
    assert bench.parse_substitution(None) == {}
    with pytest.raises(SystemExit, match="ELEMENT=NEW:FRACTION"):
        bench.parse_substitution(["Mo=Cr"])


def test_substituted_ni_config_reads_mixed_sites_and_draws_them(bench, tmp_path):
    from ingrained_abtem.model import HaadfMultislice

    from ingrained_core.builtins.structures.file import read_structure

    cfg = bench.window_config("ni", {"pixel_size": 0.126, "aperture": 22.0}, (2, 4), thickness_max=28.1703, defocus=20.0,
                              phonons=0, memory_limit=8.0, substitution={"Mo": {"Mo": 0.5, "Cr": 0.5}},
                              folder=tmp_path)
    fm = cfg.forward_model
    assert fm.name == "haadf-multislice" and fm.options["partial_occupancy"] == "draw"
    assert fm.options["prism_interpolation"] == [2, 4] and fm.params["pixel_size"].start == 0.126
    # a parameter the example's config leaves at its default (the aperture) is set too (--set aperture=22)
    assert "aperture" not in bench.window_config("ni", {}, (2, 4), thickness_max=28.1703, defocus=20.0, phonons=0,
                                                 memory_limit=8.0).forward_model.params
    assert fm.params["aperture"].start == 22.0 and fm.params["aperture"].fixed
    fields = cfg.structure.builder_fields()
    assert fields["allow_partial_occupancy"] is True
    structure = read_structure(fields["path"], allow_partial_occupancy=True)
    assert not structure.is_ordered and len(structure) == 2238
    assert structure.composition["Cr"] == pytest.approx(0.5 * 675) and structure.composition["Ni"] == 1104
    model = HaadfMultislice(structure, partial_occupancy="draw")
    assert model.occupancy["sites_drawn"] == 675 and model.occupancy["expected"] == {"Cr": 0.5, "Mo": 0.5}
    with pytest.raises(SystemExit, match="W not in"):
        bench.window_config("ni", {}, (2, 4), thickness_max=28.1703, defocus=20.0, phonons=0, memory_limit=8.0,
                            substitution={"W": {"W": 0.5, "Mo": 0.5}}, folder=tmp_path)
