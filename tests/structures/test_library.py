"""The bundled library of bulk cells."""

from __future__ import annotations

import pytest

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.builtins.structures.library import (
    LibraryStructureBuilder,
    library_index,
    library_structure,
)

EXPECTED = {
    ("CdTe", "F-43m"): 8, ("Si", "Fd-3m"): 8, ("Ni", "Fm-3m"): 4, ("Mo3B2", "P4/mbm"): 10,
    ("Cu2O", "Pn-3m"): 6, ("Al", "Fm-3m"): 4, ("Al2O3", "R-3c"): 30,
}


@pytest.mark.parametrize(("formula", "sg"), list(EXPECTED))
def test_entry_has_its_space_group_and_atoms(formula: str, sg: str) -> None:
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    s, info = library_structure(formula, sg)
    assert len(s) == EXPECTED[(formula, sg)]
    from pymatgen.core import Composition

    assert s.composition.reduced_composition == Composition(formula).reduced_composition
    assert SpacegroupAnalyzer(s, symprec=1e-3).get_space_group_symbol() == sg
    assert info["reference"]


def test_every_entry_names_a_reference() -> None:
    assert len(library_index()) == 7
    assert all(len(e["reference"]) > 30 for e in library_index())


def test_shortest_bonds_are_physical() -> None:
    import numpy as np

    bonds = {("Cu2O", "Pn-3m"): 1.849, ("Al2O3", "R-3c"): 1.855, ("Si", "Fd-3m"): 2.352, ("CdTe", "F-43m"): 2.806}
    for key, bond in bonds.items():
        s, _ = library_structure(*key)
        d = s.distance_matrix
        np.fill_diagonal(d, np.inf)
        assert d.min() == pytest.approx(bond, abs=2e-3), key


def test_formula_order_is_free_and_lattice_override() -> None:
    b = LibraryStructureBuilder()
    r = b.build(b.Config(formula="B2Mo3", space_group="P4/mbm", lattice_a=6.0))
    a, bb, c = r.structure.lattice.abc
    assert (a, bb) == pytest.approx((6.0, 6.0)) and c == pytest.approx(3.1437 * 6.0 / 6.0652)
    r = b.build(b.Config(formula="CdTe", space_group="F-43m", lattice_a=6.629))
    assert r.structure.lattice.abc == pytest.approx((6.629,) * 3)


def test_unknown_space_group_lists_what_exists() -> None:
    with pytest.raises(ConfigError, match=r"space_group: .*CdTe only in F-43m, not 'P6_3mc'"):
        library_structure("CdTe", "P6_3mc")


def test_unknown_formula_lists_library() -> None:
    with pytest.raises(ConfigError, match=r"formula: .*no 'GaAs'.*Si Fd-3m"):
        library_structure("GaAs", "F-43m")


def test_not_a_formula() -> None:
    with pytest.raises(ConfigError, match="not a chemical formula"):
        library_structure("Xx9!", "F-43m")
