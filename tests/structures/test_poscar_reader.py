"""The plain-POSCAR reader gives pymatgen's structure bit for bit, and declines every other layout."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Poscar

from ingrained_core.builtins.structures.file import read_structure
from ingrained_core.builtins.structures.poscar import is_poscar_name, read_plain_poscar

REPO = Path(__file__).resolve().parents[2]
BUNDLED = sorted(p for p in REPO.glob("examples/**/*") if p.is_file() and is_poscar_name(p))


def _pymatgen(path: Path) -> Structure:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Structure.from_file(str(path))


def _assert_identical(a: Structure, b: Structure) -> None:
    assert np.array_equal(a.lattice.matrix, b.lattice.matrix)
    assert [s.species_string for s in a] == [s.species_string for s in b]
    assert np.array_equal(a.frac_coords, b.frac_coords)
    assert np.array_equal(a.cart_coords, b.cart_coords)
    assert sorted(a.site_properties) == sorted(b.site_properties)
    for key, values in a.site_properties.items():
        assert np.array_equal(np.asarray(values), np.asarray(b.site_properties[key])), key


def test_the_examples_hold_poscars() -> None:
    assert len(BUNDLED) >= 2, BUNDLED


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(REPO)))
def test_bundled_poscars_read_bit_for_bit(path: Path) -> None:
    fast = read_plain_poscar(path.read_text())
    assert fast is not None, f"{path} should be a plain VASP 5 POSCAR"
    _assert_identical(fast, _pymatgen(path))
    _assert_identical(read_structure(path), _pymatgen(path))


def _small() -> Structure:
    lattice = Lattice([[3.1, 0.2, 0.0], [0.1, 4.3, 0.0], [0.0, 0.3, 5.7]])
    return Structure(lattice, ["Ni", "Ni", "Mo", "B"], [[0, 0, 0], [0.5, 0.5, 0.25], [0.1, 0.7, 0.3], [0.333, 0.9, 0.61]])


def _write(tmp_path: Path, text: str, name: str = "s.vasp") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("scale", ["1.0", "2.5", "0.731"])
def test_a_scale_factor_is_applied_as_pymatgen_does(tmp_path: Path, scale: str) -> None:
    text = Poscar(_small()).get_str().splitlines()
    text[1] = scale
    path = _write(tmp_path, "\n".join(text) + "\n", "POSCAR")
    fast = read_plain_poscar(path.read_text())
    assert fast is not None
    _assert_identical(fast, _pymatgen(path))
    assert fast.lattice.a == pytest.approx(float(scale) * np.linalg.norm([3.1, 0.2, 0.0]))


def _variants() -> dict[str, str]:
    plain = Poscar(_small()).get_str()
    lines = plain.splitlines()
    cart = Poscar(_small()).get_str(direct=False)
    selective = Poscar(_small(), selective_dynamics=[[True, False, True]] * 4).get_str()
    velocities = Poscar(_small(), velocities=[[0.1, 0.2, 0.3]] * 4).get_str()
    vasp4 = "\n".join(lines[:5] + lines[6:]) + "\n"
    negative = "\n".join([lines[0], "-120.0"] + lines[2:]) + "\n"
    comment = "\n".join(lines[:8] + [lines[8] + " # a comment"] + lines[9:]) + "\n"
    truncated = "\n".join(lines[:-1]) + "\n"
    potcar = "\n".join(lines[:5] + ["Ni_pv Mo_sv B"] + lines[6:]) + "\n"
    return {
        "cartesian": cart, "selective dynamics": selective, "velocities": velocities, "VASP 4": vasp4,
        "volume as scale": negative, "comment": comment, "truncated": truncated, "POTCAR symbols": potcar,
    }


@pytest.mark.parametrize("kind", sorted(_variants()))
def test_every_other_layout_is_left_to_pymatgen(tmp_path: Path, kind: str) -> None:
    text = _variants()[kind]
    assert read_plain_poscar(text) is None
    path = _write(tmp_path, text)
    if kind == "truncated":
        with pytest.raises(Exception, match="s.vasp"):
            read_structure(path)
        return
    # read_structure still reads it, through pymatgen, to the same structure
    _assert_identical(read_structure(path), _pymatgen(path))


def test_blank_and_garbage_text_is_declined() -> None:
    assert read_plain_poscar("") is None
    assert read_plain_poscar("\n\n  \n") is None
    assert read_plain_poscar("not a poscar\nat all\n") is None


def test_reading_a_plain_poscar_does_not_import_pymatgen_io_vasp() -> None:
    """The point of the reader: the run's set-up does not pay for pymatgen's VASP output parsers."""
    code = (
        "import sys\n"
        "from ingrained_core.builtins.structures.file import read_structure\n"
        f"s = read_structure({str(BUNDLED[0])!r})\n"
        "print(len(s), 'pymatgen.io.vasp' in sys.modules, 'scipy.signal' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) > 0
    assert out[1:] == ["False", "False"], out
