"""ADF cross-sections from the Molière scattering factor (200 kV, 100-150 mrad)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from ingrained_stem.cross_section import adf_cross_section, born_cross_section
from ingrained_stem.scattering import kirkland_table

# Independent reference values (issue 3), Å².
REFERENCE = {79: 4.0e-3, 52: 2.16e-3, 48: 1.91e-3, 14: 2.0e-4}


@pytest.mark.parametrize("z, expected", sorted(REFERENCE.items()))
def test_haadf_cross_sections_match_reference_values(z, expected):
    assert adf_cross_section(z, 200.0, 100.0, 150.0) == pytest.approx(expected, rel=0.05)


def test_gold_to_silicon_ratio():
    ratio = adf_cross_section(79, 200.0, 100.0, 150.0) / adf_cross_section(14, 200.0, 100.0, 150.0)
    assert ratio == pytest.approx(19.8, rel=0.05)


def test_cross_section_increases_with_atomic_number_across_the_table():
    values = [adf_cross_section(z, 200.0, 100.0, 150.0) for z in sorted(kirkland_table())]
    assert all(b > a for a, b in pairwise(values))


def test_moliere_reduces_the_born_value_for_heavy_atoms_only():
    # The eikonal phase saturates for heavy atoms; light atoms stay in the Born regime.
    assert adf_cross_section(79, 200.0, 100.0, 150.0) < 0.85 * born_cross_section(79, 200.0, 100.0, 150.0)
    assert adf_cross_section(14, 200.0, 100.0, 150.0) == pytest.approx(
        born_cross_section(14, 200.0, 100.0, 150.0), rel=0.02
    )


def test_wider_detector_collects_more_and_cache_is_keyed_on_detector():
    narrow = adf_cross_section(52, 200.0, 100.0, 150.0)
    wide = adf_cross_section(52, 200.0, 80.0, 200.0)
    assert wide > narrow
    hits = adf_cross_section.cache_info().hits
    adf_cross_section(52, 200.0, 100.0, 150.0)
    assert adf_cross_section.cache_info().hits == hits + 1


def test_detector_angles_must_be_ordered():
    with pytest.raises(ValueError, match="inner < outer"):
        adf_cross_section(52, 200.0, 150.0, 100.0)
