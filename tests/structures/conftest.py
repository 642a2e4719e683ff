"""Fixtures of the structure tests: the real published cases in ../shared/data/stem."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def stem_data() -> Path:
    """``../shared/data/stem`` (skips when the real data is absent)."""
    d = SHARED / "stem"
    if not d.is_dir():
        pytest.skip(f"real data not found at {d}")
    return d


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
    """The paper's JSON config of a case, loaded unchanged."""
    import json

    return json.loads((stem_data / case / "config.json").read_text())
