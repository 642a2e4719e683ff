"""Fixtures of the STEM plugin tests: the real CdTe twin structure and small test cells."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TWIN = REPO / "examples" / "cdte_twin" / "bicrystal.POSCAR.vasp"

#: The published run's start point on the twin (examples/cdte_twin/fuse.toml).
TWIN_START = {
    "pixel_size": 0.20716817,
    "interface_width": 0.20,
    "source_size": 1.25,
    "shear_x": 0.0,
    "shear_y": 0.0,
    "stretch_x": 0.0,
    "stretch_y": 0.0,
    "crop_height": 201,
    "crop_width": 167,
}


@pytest.fixture(scope="session")
def twin_structure():
    """The CdTe {111} twin bicrystal of the published run (576 atoms)."""
    from pymatgen.core import Structure

    from ..conftest import real_file

    return Structure.from_file(str(real_file("cdte_twin/bicrystal.POSCAR.vasp")))


@pytest.fixture(scope="session")
def twin_model(twin_structure):
    from ingrained_stem.model import HaadfConvolution

    return HaadfConvolution(twin_structure)


def single_atom(symbol: str = "Au", *, depth: float = 4.0, width: float = 39.8, height: float = 40.0,
                frac_b: float = 0.5, frac_c: float = 0.5):
    """An orthogonal cell holding one atom (beam along a, horizontal b, vertical c)."""
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice.orthorhombic(depth, width, height), [symbol], [[0.0, frac_b, frac_c]])
