"""Fixtures of the STM plugin tests: small model densities built with the project's own generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

HEX_A = 6.0
EXAMPLE = REPO / "examples" / "cu2o_111"
EXAMPLE_IMAGE = "03h_Cu2O_111_034_fwd_z_plane.txt"


@pytest.fixture()
def cu2o_example_config(tmp_path: Path) -> Path:
    """The Cu2O example's fuse.toml and image copied into ``tmp_path``; returns the config path."""
    import shutil

    from ..conftest import real_file

    real_file(f"cu2o_111/{EXAMPLE_IMAGE}")
    config = tmp_path / "fuse.toml"
    shutil.copy(EXAMPLE / "fuse.toml", config)
    shutil.copy(EXAMPLE / EXAMPLE_IMAGE, tmp_path)
    return config


def hex_cell(a: float = HEX_A, c: float = 20.0) -> np.ndarray:
    """A hexagonal cell (γ = 60°), a along x, c along z."""
    return np.array([[a, 0.0, 0.0], [a / 2, a * np.sqrt(3) / 2, 0.0], [0.0, 0.0, c]])


def atoms_density(cell: np.ndarray, frac: list[list[float]], species: list[str] | None = None, spacing: float = 0.15):
    """The s-wave model density of atoms at fractional positions in ``cell`` (weights 1)."""
    from pymatgen.core import Lattice, Structure

    from ingrained_stm.synthetic import model_density

    species = species or ["Cu"] * len(frac)
    structure = Structure(Lattice(cell), species, frac)
    return model_density(structure, weights={s: 1.0 for s in species}, spacing=spacing)


@pytest.fixture(scope="session")
def stm_data() -> Path:
    """The real Cu2O(111) STM data folder (examples/cu2o_111; fails when its image is missing)."""
    from ..conftest import real_file

    return real_file(f"cu2o_111/{EXAMPLE_IMAGE}").parent


@pytest.fixture(scope="session")
def single_atom_density():
    """One Cu atom in a wide hexagonal cell (a = 16 Å): a lone bump near the atom."""
    return atoms_density(hex_cell(16.0, 16.0), [[0.3, 0.4, 0.5]], spacing=0.2)


@pytest.fixture(scope="session")
def hex_density():
    """One atom per hexagonal cell (a = 6 Å): a hexagonal lattice of bumps."""
    return atoms_density(hex_cell(HEX_A, 16.0), [[0.0, 0.0, 0.5]], spacing=0.15)


@pytest.fixture(scope="session")
def cu2o_parchg(tmp_path_factory) -> Path:
    """A coarse (0.2 Å) synthetic Cu2O(111) PARCHG written with pymatgen."""
    from ingrained_stm.synthetic import make_cu2o_111_parchg

    path = tmp_path_factory.mktemp("cu2o") / "Cu2O_111.PARCHG"
    return make_cu2o_111_parchg(path, spacing=0.2)


@pytest.fixture(scope="session")
def cu2o_model(cu2o_parchg):
    from ingrained_stm.model import TersoffHamannSTM

    return TersoffHamannSTM(cu2o_parchg)
