"""Partial occupancy in the multislice model: refused by default, or one seeded random-alloy draw.

A multislice places whole atoms, so ``partial_occupancy = "draw"`` turns each disordered
site into one atom drawn with its occupancies as probabilities (a vacancy with the rest).
The draw tests need no abTEM; the image test checks that the drawn specimen is what abTEM
simulates: the same image as the ordered structure holding the drawn atoms.
"""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.plugin.errors import ConfigError

from .conftest import SMALL_OPTIONS, SMALL_PARAMS, cdte_110


def _alloy(fraction_cr: float = 0.5, ni_occupancy: float = 1.0):
    """A 4.0 x 8.0 x 30 Å cell of 1200 sites on a simple grid: half (Mo, Cr), half Ni (or Ni + vacancy)."""
    from pymatgen.core import Lattice, Structure

    species, coords = [], []
    for i in range(10):
        for j in range(12):
            for k in range(10):
                mixed = (i + j) % 2 == 0
                species.append({"Mo": 1 - fraction_cr, "Cr": fraction_cr} if mixed else {"Ni": ni_occupancy})
                coords.append([(i + 0.5) / 10, (j + 0.5) / 12, (k + 0.5) / 10])
    return Structure(Lattice.orthorhombic(20.0, 24.0, 30.0), species, coords)


def test_refusal_names_the_site_and_the_option():
    from ingrained_abtem.model import HaadfMultislice

    with pytest.raises(ConfigError, match=r"site 0 is partially occupied or mixed.*partial_occupancy = \"draw\""):
        HaadfMultislice(_alloy())


def test_draw_is_seeded_and_follows_the_occupancies():
    from ingrained_abtem.model import HaadfMultislice

    a = HaadfMultislice(_alloy(0.3), partial_occupancy="draw", seed=4)
    b = HaadfMultislice(_alloy(0.3), partial_occupancy="draw", seed=4)
    c = HaadfMultislice(_alloy(0.3), partial_occupancy="draw", seed=5)
    assert np.array_equal(a._numbers, b._numbers)
    assert not np.array_equal(a._numbers, c._numbers)
    mixed = np.isin(a._numbers, [24, 42])
    assert mixed.sum() == 600 and set(np.unique(a._numbers)) == {24, 28, 42}
    share = float(np.mean(a._numbers[mixed] == 24))
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 600)  # binomial, 4 sigma
    assert a.occupancy["sites_drawn"] == 600 and a.occupancy["seed"] == 4
    assert a.occupancy["expected"] == {"Cr": 0.3, "Mo": 0.7}
    assert a.occupancy["drawn"]["Cr"] == pytest.approx(share, abs=1e-4)


def test_a_drawn_vacancy_is_no_atom_of_the_specimen():
    from ingrained_abtem.model import HaadfMultislice

    model = HaadfMultislice(_alloy(0.0, ni_occupancy=0.8), partial_occupancy="draw", seed=1)
    vacancies = int(np.sum(model._numbers == 0))
    assert 0 < vacancies < 600 and model.occupancy["expected"]["vacancy"] == 0.2
    from ingrained_abtem.specimen import specimen_at

    specimen = specimen_at(model.projection, model._numbers, 0.0, 30.0)
    assert len(specimen.numbers) == len(model._numbers) - vacancies - specimen.removed
    assert (specimen.numbers > 0).all()


def test_ordered_structure_is_not_drawn():
    from ingrained_abtem.model import HaadfMultislice

    cell = cdte_110()
    drawn = HaadfMultislice(cell, partial_occupancy="draw")
    assert np.array_equal(drawn._numbers, HaadfMultislice(cell)._numbers)
    assert drawn.occupancy == {"seed": 0, "sites_drawn": 0}


@pytest.mark.abtem
def test_drawn_image_is_the_image_of_the_drawn_atoms(need_abtem):
    """The disordered cell's image equals the ordered cell holding the drawn atoms, and reports the draw."""
    from ase.data import chemical_symbols
    from ingrained_abtem.model import HaadfMultislice
    from pymatgen.core import Structure

    cell = cdte_110()
    mixed = cell.copy()
    for index, site in enumerate(cell):
        if site.specie.symbol == "Te":
            mixed.replace(index, {"Te": 0.5, "Se": 0.5}, coords=site.frac_coords)
    model = HaadfMultislice(mixed, partial_occupancy="draw", seed=3, **SMALL_OPTIONS)
    drawn = model._numbers
    assert set(np.unique(drawn)) == {34, 48, 52}  # Se and Te both drawn, Cd kept
    ordered = Structure(cell.lattice, [chemical_symbols[z] for z in drawn], cell.frac_coords)
    image = model.simulate(SMALL_PARAMS)
    reference = HaadfMultislice(ordered, **SMALL_OPTIONS).simulate(SMALL_PARAMS)
    np.testing.assert_allclose(image.array, reference.array, rtol=1e-5, atol=1e-6 * float(reference.array.max()))
    assert image.metadata["multislice"]["occupancy"]["sites_drawn"] == int(np.sum(np.isin(drawn, [34, 52])))
