"""Fixtures of the input tests: the real files in ../shared/data (skipped cleanly if absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def _real(rel: str) -> Path:
    p = SHARED_DATA / rel
    if not p.is_file():
        pytest.skip(f"real data file not found: {p}")
    return p


@pytest.fixture(scope="session")
def twin_dm3() -> Path:
    """The CdTe twin HAADF image (paper Case 1), 512 x 512, pixel 0.20216817 Å."""
    return _real("stem/cdte_twin/HAADF26.dm3")


@pytest.fixture(scope="session")
def ni_tif() -> Path:
    """The Ni/M3B2 HAADF image (paper Case 2), 1024 x 1024 RGB with equal channels."""
    return _real("stem/ni_m3b2/HAADF91.tif")


@pytest.fixture(scope="session")
def stm_txt() -> Path:
    """The Cu2O(111) STM z-plane text export (paper Case 3), 512 x 512 heights."""
    return _real("stm/cu2o_111/03h_Cu2O_111_034_fwd_z_plane.txt")
