"""Fixtures of the multislice plugin tests: a small CdTe [110] cell, the real twin structure,
and a subprocess runner with abTEM hidden.

Tests that run abTEM are marked ``@pytest.mark.abtem`` and skip cleanly when it is not
installed; the others (parameters, plans, rendering, errors, registration) need only
``ingrained_abtem`` and run everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TWIN_DIR = REPO / "examples" / "cdte_twin"

#: CdTe lattice constant (Å) of the small test cell (zinc blende).
CDTE_A = 6.48

#: Coarse settings for the small cell: 0.1 Å sampling carries 85 mrad at 200 kV, so the
#: detector is a 50-80 mrad ADF one; static lattice; PRISM without interpolation (exact).
SMALL_OPTIONS = {"method": "prism", "sampling": 0.1, "phonon_configs": 0, "slice_thickness": 2.3}
SMALL_PARAMS = {
    "pixel_size": 0.2, "source_size": 0.6, "crop_height": 51, "crop_width": 41,
    "detector_inner": 50.0, "detector_outer": 80.0, "thickness": 20.0,
    "shear_x": 0.04, "stretch_y": -0.03,
}

#: Code run before anything else in a subprocess to make abTEM unimportable (a None entry
#: in sys.modules is Python's own "import blocked" marker: find_spec gives None, import fails).
HIDE_ABTEM = "import sys; sys.modules['abtem'] = None\n"


def cdte_110(repeat_b: int = 2, repeat_c: int = 2):
    """CdTe viewed along [110]: beam along a ([110], 4.58 Å), b = [-110] (4.58 Å), c = [001] (6.48 Å).

    Each cell holds two Cd-Te dumbbells (1.62 Å apart vertically); Te (Z 52) columns are
    the heavier ones.
    """
    from ase.build import bulk
    from pymatgen.io.ase import AseAtomsAdaptor

    cell = bulk("CdTe", "zincblende", a=CDTE_A, orthorhombic=True)
    return AseAtomsAdaptor.get_structure(cell) * (1, repeat_b, repeat_c)


@pytest.fixture(scope="session")
def small_cell():
    return cdte_110()


@pytest.fixture(scope="session")
def twin_structure():
    from pymatgen.core import Structure

    from ..conftest import real_file

    path = real_file("cdte_twin/bicrystal.POSCAR.vasp")

    return Structure.from_file(str(path))


@pytest.fixture(scope="session")
def need_abtem():
    """Skip when abTEM is not installed (tests marked 'abtem' use it)."""
    pytest.importorskip("abtem")


def run_python(code: str, *, hide_abtem: bool = False, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (optionally with abTEM hidden); output captured."""
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-c", (HIDE_ABTEM if hide_abtem else "") + code],
        check=False, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
    )
