"""Fixtures of the structure tests: the real published cases in examples/ (cdte_twin, ni_m3b2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import EXAMPLES, real_file


@pytest.fixture(scope="session")
def stem_data() -> Path:
    """``examples/``: each STEM case folder holds ``bicrystal.json`` (the paper's config) and
    ``bicrystal.POSCAR.vasp`` (the published structure); fails when one is missing."""
    for case in ("cdte_twin", "ni_m3b2"):
        real_file(f"{case}/bicrystal.json")
        real_file(f"{case}/bicrystal.POSCAR.vasp")
    return EXAMPLES


@pytest.fixture(scope="session")
def twin_poscar(stem_data: Path) -> Path:
    return stem_data / "cdte_twin" / "bicrystal.POSCAR.vasp"


@pytest.fixture(scope="session")
def cdte_mp_cell(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CdTe F-43m cell at the Materials Project lattice constant 6.629 Å, as a CIF file."""
    from pymatgen.io.cif import CifWriter

    from ingrained_core.builtins.structures.library import library_structure

    s, _ = library_structure("CdTe", "F-43m", lattice_a=6.629)
    path = tmp_path_factory.mktemp("cells") / "CdTe_mp.cif"
    CifWriter(s).write_file(path)
    return path


def paper_config(stem_data: Path, case: str) -> dict:
    """The paper's JSON config of a case, as published (its ``config.json``).

    The example's ``bicrystal.json`` is that config plus one ``unit_cell`` per slab (the
    paper's cells, shipped as CIFs beside it, so ``ingrained build --rebuild`` works
    offline); they are removed here, so these tests see the published config unchanged.
    """
    import json

    data = json.loads((stem_data / case / "bicrystal.json").read_text())
    for slab in ("slab_1", "slab_2"):
        data[slab].pop("unit_cell", None)
    return data
