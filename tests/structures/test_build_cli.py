"""``ingrained build``: paper JSON and [structure] tables, outputs and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingrained_core.cli import cli, main

from .conftest import paper_config


def test_build_paper_json_with_library(stem_data: Path, tmp_path: Path) -> None:
    d = paper_config(stem_data, "ni_m3b2")
    d["source"] = "library"
    cfg = tmp_path / "ni.json"
    cfg.write_text(json.dumps(d))  # its structure_file does not exist here: --rebuild ignores it
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["build", str(cfg), "--out", str(out), "--rebuild"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "slab_1 (B2Mo3, upper): width -4.069 %, depth -0.182 %" in res.output
    report = json.loads((out / "strain.json").read_text())
    assert report["grains"]["slab_2"]["strain_percent"]["width"] == pytest.approx(4.429, abs=1e-3)
    from pymatgen.core import Structure

    for name in ("structure.cif", "structure.vasp"):
        s = Structure.from_file(str(out / name))
        assert len(s) == report["n_atoms"] and s.lattice.abc == pytest.approx(tuple(report["cell_abc"]), abs=1e-4)
    assert not list(out.glob(".*.tmp"))


def test_build_uses_structure_file_without_rebuild(stem_data: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(stem_data / "cdte_twin" / "bicrystal.json"), "--out", str(tmp_path)],
                             catch_exceptions=False)
    assert res.exit_code == 0 and "not rebuilt" in res.output
    assert json.loads((tmp_path / "strain.json").read_text())["n_atoms"] == 576


def test_build_structure_table(tmp_path: Path) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text('[structure]\nbuilder = "oriented"\nchemical_formula = "Si"\nspace_group = "Fd-3m"\n'
                   'source = "library"\nuvw_project = [1, 1, 0]\nuvw_upward = [0, 0, 1]\nmin_width = 10\n')
    res = CliRunner().invoke(cli, ["build", str(cfg), "--out", str(tmp_path / "o")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "Si" in res.output and (tmp_path / "o" / "structure.cif").is_file()


def test_bad_config_is_one_clear_message(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[structure]\nbuilder = "oriented"\nchemical_formula = "Si"\nspace_group = "Fd-3m"\n'
                   'source = "library"\nuvw_project = [1, 1, 0]\nuvw_upward = [1, 0, 0]\n')
    with pytest.raises(SystemExit) as exc:
        main(["build", str(cfg), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "uvw_upward: [1 0 0] is not perpendicular" in err and "Traceback" not in err


def test_config_without_structure(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "x.toml"
    cfg.write_text("[experiment]\nfile = 'a.tif'\n")
    with pytest.raises(SystemExit):
        main(["build", str(cfg), "--out", str(tmp_path / "o")])
    assert "x.toml: expected the paper's bicrystal keys" in capsys.readouterr().err
