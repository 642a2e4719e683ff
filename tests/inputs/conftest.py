"""Fixtures of the input tests: the real files of examples/ (a missing one fails, never skips)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import real_file as _real


@pytest.fixture(scope="session")
def twin_dm3() -> Path:
    """The CdTe twin HAADF image (paper Case 1), 512 x 512, pixel 0.20216817 Å."""
    return _real("cdte_twin/HAADF26.dm3")


@pytest.fixture(scope="session")
def ni_tif() -> Path:
    """The Ni/M3B2 HAADF image (paper Case 2), 1024 x 1024 RGB with equal channels."""
    return _real("ni_m3b2/HAADF91.tif")


@pytest.fixture(scope="session")
def stm_txt() -> Path:
    """The Cu2O(111) STM z-plane text export (paper Case 3), 512 x 512 heights."""
    return _real("cu2o_111/03h_Cu2O_111_034_fwd_z_plane.txt")
