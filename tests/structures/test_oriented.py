"""Oriented single-crystal slabs: exact repeats, tilt snapping, near-coincidence, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.builtins.structures.oriented import OrientedCrystalBuilder


def _build(**kw):
    b = OrientedCrystalBuilder()
    base = {"source": "library"}
    base.update(kw)
    return b.build(b.Config.model_validate(base))


def _nn(s) -> np.ndarray:
    from scipy.spatial import cKDTree

    box = np.array(s.lattice.abc)
    p = np.mod(s.cart_coords, box)
    return cKDTree(p, boxsize=box).query(p, k=2)[0][:, 1]


def test_cdte_110_twin_orientation_is_exact() -> None:
    r = _build(chemical_formula="CdTe", space_group="F-43m", lattice_a=6.629, uvw_project=[1, 1, 0],
               uvw_upward=[0, 0, 1], tilt_angle=54.73538, max_dimension=34.4458, min_width=30, max_width=60,
               min_depth=8, max_depth=20)
    a0 = 6.629
    assert r.structure.lattice.abc == pytest.approx((a0 * np.sqrt(2), 4 * a0 * np.sqrt(6) / 2, 3 * a0 * np.sqrt(3)))
    assert r.structure.composition.get_el_amt_dict() == {"Cd": 144, "Te": 144}
    o = r.report["orientation"]
    assert o["up_uvw"] == [1, -1, 1] and o["width_uvw"] == [-1, 1, 2] and o["exact"]
    assert o["up_snap_angle_deg"] == pytest.approx(0.00023, abs=1e-4)
    assert all(abs(v) < 1e-9 for v in r.report["strain_percent"].values())
    assert _nn(r.structure) == pytest.approx(a0 * np.sqrt(3) / 4)  # every atom keeps its bulk bond, periodic in 3-D


def test_axes_convention_a_beam_b_right_c_up() -> None:
    """Mo3B2 along [00-1] with [100] up: c is the crystal a axis, a the crystal c axis."""
    r = _build(chemical_formula="B2Mo3", space_group="P4/mbm", uvw_project=[0, 0, -1], uvw_upward=[1, 0, 0],
               max_dimension=25, min_width=12, max_width=40, min_depth=12, max_depth=30)
    assert r.report["repeats"] == {"depth": 4, "width": 2, "height": 4}
    assert r.structure.lattice.abc == pytest.approx((4 * 3.1437, 2 * 6.0652, 4 * 6.0652))
    # up x beam = [100] x [00-1] = [010]: the sense of the published Ni/M3B2 cell (and its image)
    assert r.report["orientation"]["width_uvw"] == [0, 1, 0]


def test_fcc_310_uses_the_primitive_period() -> None:
    r = _build(chemical_formula="Ni", space_group="Fm-3m", uvw_project=[0, 0, -1], uvw_upward=[3, 1, 0],
               max_dimension=25, min_width=12, max_width=40, min_depth=12, max_depth=30)
    p = 3.5238 * np.sqrt(10) / 2
    assert r.report["orientation"]["width_period"] == pytest.approx(p)
    assert r.structure.lattice.abc == pytest.approx((4 * 3.5238, 3 * p, 4 * p))
    assert len(r.structure) == round(r.structure.volume / (3.5238**3 / 4))
    assert _nn(r.structure) == pytest.approx(3.5238 / np.sqrt(2))


def test_irrational_tilt_gives_near_coincidence_with_reported_strain() -> None:
    r = _build(chemical_formula="Si", space_group="Fd-3m", uvw_project=[1, 1, 0], uvw_upward=[0, 0, 1],
               tilt_angle=10.0, max_dimension=25, min_width=10, max_width=40, min_depth=5, max_depth=30)
    o = r.report["orientation"]
    assert not o["exact"] and o["up_uvw"] is None and 0 < o["width_coincidence_angle_deg"] <= 1.0
    assert r.structure.lattice.c == pytest.approx(25.0)  # a cut of max_dimension
    shear = abs(r.report["strain_percent"]["shear_width_height"])
    assert 0 < shear < 1.0
    from scipy.spatial import cKDTree

    s = r.structure
    p = s.cart_coords
    d = cKDTree(p, boxsize=[s.lattice.a, s.lattice.b, 1e6]).query(p, k=2)[0][:, 1]  # periodic in a, b only
    assert d == pytest.approx(5.431020511 * np.sqrt(3) / 4, rel=1e-3)


def test_hexagonal_metric_perpendicular_is_accepted() -> None:
    r = _build(chemical_formula="Al2O3", space_group="R-3c", uvw_project=[1, 0, 0], uvw_upward=[1, 2, 0],
               max_dimension=25, min_width=10, max_width=40, min_depth=5, max_depth=30)
    assert r.report["orientation"]["width_uvw"] in ([0, 0, 1], [0, 0, -1])
    assert len(r.structure) % 10 == 0


def test_non_perpendicular_upward_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"uvw_upward: \[1 1 1\] is not perpendicular .*metric tensor"):
        _build(chemical_formula="CdTe", space_group="F-43m", uvw_project=[1, 1, 0], uvw_upward=[1, 1, 1])


def test_raw_dot_product_zero_but_not_perpendicular_in_tetragonal_cell() -> None:
    with pytest.raises(ConfigError, match="not perpendicular"):
        _build(chemical_formula="B2Mo3", space_group="P4/mbm", uvw_project=[1, 0, 1], uvw_upward=[1, 0, -1])


def test_min_larger_than_max_is_refused() -> None:
    with pytest.raises(ValidationError, match="min_width .* is larger than max_width"):
        _build(chemical_formula="Ni", space_group="Fm-3m", uvw_project=[0, 0, 1], uvw_upward=[1, 0, 0],
               min_width=50, max_width=20)


def test_impossible_width_range() -> None:
    with pytest.raises(ConfigError, match=r"min_width/max_width: no whole number .*\(3.5238 Å\) lies in \[12.1, 12.5\]"):
        _build(chemical_formula="Ni", space_group="Fm-3m", uvw_project=[0, 1, 0], uvw_upward=[1, 0, 0],
               min_width=12.1, max_width=12.5)


def test_height_shorter_than_one_period() -> None:
    with pytest.raises(ConfigError, match="max_dimension: 2 Å is shorter than one vertical period"):
        _build(chemical_formula="Ni", space_group="Fm-3m", uvw_project=[0, 0, 1], uvw_upward=[1, 0, 0], max_dimension=2)


def test_flip_species_needs_a_binary() -> None:
    r = _build(chemical_formula="Cu2O", space_group="Pn-3m", uvw_project=[1, 0, 0], uvw_upward=[0, 0, 1],
               flip_species=True, min_width=5)
    assert r.structure.composition.reduced_formula == "CuO2"  # swapped: O on the Cu sites
    with pytest.raises(ConfigError, match="flip_species: swaps the two elements .*1 \\(Ni\\)"):
        _build(chemical_formula="Ni", space_group="Fm-3m", uvw_project=[0, 0, 1], uvw_upward=[1, 0, 0],
               flip_species=True)
