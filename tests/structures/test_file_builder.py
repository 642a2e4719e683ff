"""The ``file`` builder on the published POSCAR and on broken files written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingrained_core.plugin.errors import InputFileError
from ingrained_core.builtins.structures.file import FileStructureBuilder, read_structure


def _build(data: dict, base: Path | None = None):
    ctx = {"base_dir": base} if base is not None else None
    cfg = FileStructureBuilder.Config.model_validate(data, context=ctx)
    return FileStructureBuilder().build(cfg)


def test_published_twin_poscar(twin_poscar: Path) -> None:
    res = _build({"path": twin_poscar.name}, twin_poscar.parent)
    s = res.structure
    assert len(s) == 576
    assert s.composition.get_el_amt_dict() == {"Cd": 288, "Te": 288}
    assert s.lattice.abc == pytest.approx((9.3748, 32.4756, 68.8916), abs=1e-4)
    assert res.report["formula"] == "Cd288Te288"


def test_relative_path_resolves_against_base_dir(twin_poscar: Path) -> None:
    cfg = FileStructureBuilder.Config.model_validate({"path": "bicrystal.POSCAR.vasp"},
                                                     context={"base_dir": twin_poscar.parent})
    assert cfg.path == twin_poscar
    absolute = FileStructureBuilder.Config.model_validate({"path": str(twin_poscar)}, context={"base_dir": Path("/nonexistent")})
    assert absolute.path == twin_poscar


def test_cif_round_trip(tmp_path: Path, twin_poscar: Path) -> None:
    from pymatgen.io.cif import CifWriter

    s = read_structure(twin_poscar)
    out = tmp_path / "twin.cif"
    CifWriter(s).write_file(out)
    back = _build({"path": str(out)}).structure
    assert len(back) == 576 and back.lattice.abc == pytest.approx(s.lattice.abc, abs=1e-4)


def test_extxyz_through_ase(tmp_path: Path) -> None:
    import ase.io
    from ase.build import bulk

    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    out = tmp_path / "si.extxyz"
    ase.io.write(out, atoms, format="extxyz")
    res = _build({"path": str(out), "format": "extxyz"})
    assert res.structure.composition.get_el_amt_dict() == {"Si": 8}
    assert res.structure.lattice.a == pytest.approx(5.431)


def test_xyz_without_cell_is_refused(tmp_path: Path) -> None:
    import ase.io
    from ase import Atoms

    out = tmp_path / "mol.xyz"
    ase.io.write(out, Atoms("H2O", positions=[[0, 0, 0], [0.9, 0, 0], [0, 0.9, 0]]), format="xyz")
    with pytest.raises(InputFileError, match="mol.xyz.*no periodic cell"):
        _build({"path": str(out)})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found.*nope.cif"):
        _build({"path": str(tmp_path / "nope.cif")})


def test_empty_file(tmp_path: Path) -> None:
    out = tmp_path / "empty.vasp"
    out.write_text("")
    with pytest.raises(InputFileError, match="empty.*empty.vasp"):
        _build({"path": str(out)})


def test_truncated_poscar(tmp_path: Path, twin_poscar: Path) -> None:
    lines = twin_poscar.read_text().splitlines()
    out = tmp_path / "POSCAR"
    out.write_text("\n".join(lines[:100]) + "\n")  # 576 atoms declared, 92 given
    with pytest.raises(InputFileError, match="POSCAR"):
        _build({"path": str(out)})


def test_truncated_cif(tmp_path: Path, twin_poscar: Path) -> None:
    from pymatgen.io.cif import CifWriter

    text = str(CifWriter(read_structure(twin_poscar)))
    out = tmp_path / "cut.cif"
    out.write_text(text[: text.index("_atom_site")])  # header only, no atom loop
    with pytest.raises(InputFileError, match="cut.cif"):
        _build({"path": str(out)})


def test_corrupt_file(tmp_path: Path) -> None:
    out = tmp_path / "junk.cif"
    out.write_bytes(b"\x00\x01garbage\xff" * 50)
    with pytest.raises(InputFileError, match="junk.cif"):
        _build({"path": str(out)})


def test_partial_occupancy_refused_with_advice(tmp_path: Path) -> None:
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter

    s = Structure(Lattice.cubic(3.6), [{"Cu": 0.5, "Au": 0.5}], [[0, 0, 0]])
    out = tmp_path / "cuau.cif"
    CifWriter(s).write_file(out)
    with pytest.raises(InputFileError, match="cuau.cif.*partially occupied.*ordered structure"):
        _build({"path": str(out)})
    res = _build({"path": str(out), "allow_partial_occupancy": True})
    assert not res.structure.is_ordered and res.report["ordered"] is False


def test_unknown_key_rejected() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="pathh"):
        FileStructureBuilder.Config.model_validate({"path": "x.cif", "pathh": "y"})
