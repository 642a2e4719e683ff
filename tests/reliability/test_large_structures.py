"""Large structures: the POSCAR of a 100 000-atom structure is written in linear time (pymatgen's
writer is quadratic: over 8 minutes for 100 800 atoms) and reads back as the same structure."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("pymatgen")

from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Poscar

from ingrained_core.engine.structure_files import poscar_text


def _cdte(n: tuple[int, int, int]) -> Structure:
    s = Structure.from_spacegroup("F-43m", Lattice.cubic(6.48), ["Cd", "Te"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    return s * n


def test_fast_poscar_reads_back_as_pymatgen_writes_it() -> None:
    s = _cdte((2, 2, 1))
    ours = Poscar.from_str(poscar_text(s)).structure
    theirs = Poscar.from_str(Poscar(s).get_str()).structure
    assert [x.specie.symbol for x in ours] == [x.specie.symbol for x in theirs]
    assert np.allclose(ours.lattice.matrix, theirs.lattice.matrix, atol=1e-12)
    assert np.allclose(ours.frac_coords, theirs.frac_coords, atol=1e-12)


@pytest.mark.parametrize("example", ["cdte_twin", "ni_m3b2"])
def test_poscar_is_byte_for_byte_pymatgens(example: str) -> None:
    """The bundled bicrystals, with a site property as the models' structures carry (grain):
    the same text as pymatgen's writer, which every run's structure.vasp used to come from."""
    from pathlib import Path

    s = Structure.from_file(Path(__file__).parents[2] / "examples" / example / "bicrystal.POSCAR.vasp")
    s.add_site_property("grain", [i % 2 for i in range(len(s))])
    assert poscar_text(s) == Poscar(s).get_str()


@pytest.mark.slow
def test_hundred_thousand_atoms_in_seconds() -> None:
    s = _cdte((30, 30, 14))
    assert len(s) == 100_800
    t0 = time.perf_counter()
    text = poscar_text(s)
    took = time.perf_counter() - t0
    assert took < 30, took  # pymatgen did not finish in 100 s
    lines = text.splitlines()
    assert lines[5].split() == ["Cd", "Te"] or len(lines[5].split()) >= 2
    assert sum(int(v) for v in lines[6].split()) == 100_800 and len(lines) == 8 + 100_800
