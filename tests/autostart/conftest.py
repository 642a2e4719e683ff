"""The twin's projected structure (from examples/) under the HAADF model, small crops."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TWIN = ROOT / "examples" / "cdte_twin" / "bicrystal.POSCAR.vasp"


@pytest.fixture(scope="session")
def twin_model():
    from pymatgen.core import Structure

    from ingrained_stem.model import HaadfConvolution

    return HaadfConvolution(Structure.from_file(str(TWIN)))
