"""Integer lattice algebra: translation lattices, shortest vectors, rational directions."""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.builtins.structures import lattice as lat
from ingrained_core.builtins.structures.library import library_structure


@pytest.mark.parametrize(("formula", "sg", "ratio"), [("Ni", "Fm-3m", 4), ("Si", "Fd-3m", 4), ("Mo3B2", "P4/mbm", 1),
                                                        ("Al2O3", "R-3c", 3), ("CdTe", "F-43m", 4)])
def test_primitive_volume_ratio(formula: str, sg: str, ratio: int) -> None:
    s, _ = library_structure(formula, sg)
    tl = lat.translation_lattice(s)
    assert abs(np.linalg.det(tl.conv) / np.linalg.det(tl.prim)) == pytest.approx(ratio)
    assert len(tl.frac) * ratio == len(s)


def test_shortest_vectors_in_fcc() -> None:
    s, _ = library_structure("Ni", "Fm-3m")
    tl = lat.translation_lattice(s)
    a = 3.5238
    for uvw, length in [((1, 1, 0), a / np.sqrt(2)), ((0, 0, 1), a), ((1, 1, 1), a * np.sqrt(3)),
                        ((3, 1, 0), a * np.sqrt(10) / 2), ((1, -1, -2), a * np.sqrt(6) / 2), ((2, 2, 0), a / np.sqrt(2))]:
        _, v = tl.shortest_along(uvw)
        assert np.linalg.norm(v) == pytest.approx(length), uvw
        assert lat.angle_deg(v, np.asarray(uvw, float) @ tl.conv) == pytest.approx(0, abs=1e-5)


def test_hermite_basis_of_fcc_generators() -> None:
    basis = lat.hermite_basis([[2, 0, 0], [0, 2, 0], [0, 0, 2], [1, 1, 0], [0, 1, 1], [1, 0, 1]])
    assert abs(round(np.linalg.det(np.array(basis, float)))) == 2  # fcc: 1/4 of (2Z)^3 volume 8


def test_rational_direction_snaps_rounded_angles() -> None:
    conv = np.eye(3) * 6.629
    th = np.radians(54.73538)
    u0, r0 = np.array([0, 0, 1.0]), np.array([1, -1, 0]) / np.sqrt(2)
    found = lat.rational_direction(np.cos(th) * u0 + np.sin(th) * r0, conv, max_index=24, tol_deg=0.01)
    assert found is not None and found[0] == (1, -1, 1) and found[1] < 1e-3
    th = np.radians(10.0)
    assert lat.rational_direction(np.cos(th) * u0 + np.sin(th) * r0, conv, max_index=24, tol_deg=0.01) is None


def test_metric_angle_differs_from_raw_indices() -> None:
    s, _ = library_structure("Mo3B2", "P4/mbm")
    g = s.lattice.metric_tensor
    assert lat.metric_angle_deg((1, 0, 1), (1, 0, -1), g) != pytest.approx(90, abs=1)  # raw dot product 0
    h, _ = library_structure("Al2O3", "R-3c")
    assert lat.metric_angle_deg((1, 0, 0), (1, 2, 0), h.lattice.metric_tensor) == pytest.approx(90)  # raw dot 1


def test_near_coincidence_vectors_are_close_and_short() -> None:
    basis = np.eye(3) * 4.0
    d = np.array([1.0, 0.31, 0.0])
    cands = lat.near_coincidence_vectors(basis, d, max_length=60, tol_deg=0.5)
    assert cands and all(c[2] <= 0.5 and c[1] <= 60 for c in cands)
    assert cands[0][1] == min(c[1] for c in cands)
