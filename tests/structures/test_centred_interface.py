"""The centred interface: the builder puts its mid-plane at half the cell height (where the
HAADF models centre their crop), and the published twin is the recipe's candidate with the
periodic interface centred, up to a placement within half a vertical period."""

from __future__ import annotations

import numpy as np

from tests.structures.test_choices import EXAMPLES, build, published, recipe


def test_interface_2_is_interface_1_turned_by_half_the_height_with_labels_swapped() -> None:
    d = recipe("cdte_twin")
    one = build(d, "cdte_twin")
    d["centred_interface"] = 2
    two = build(d, "cdte_twin")
    c = one.structure.lattice.c
    ch = two.report["choices"]["centred_interface"]
    assert ch["index"] == 2 and abs(abs(ch["vertical_shift"]) - 0.5 * c) < 1e-5 and ch["centre_offset"] == 0
    z1 = np.asarray(one.structure.cart_coords)[:, 2]
    z2 = np.asarray(two.structure.cart_coords)[:, 2]
    g1 = np.array(one.structure.site_properties["grain"])
    g2 = np.array(two.structure.site_properties["grain"])
    assert np.allclose(np.mod(z1 + 0.5 * c - z2 + 0.25 * c, c), 0.25 * c, atol=1e-6)
    assert np.array_equal(g2, 1 - g1)
    # grain 1 lies above the centred interface, at half height
    assert z2[g2 == 1].min() >= 0.5 * c - 1e-6 > z2[g2 == 0].max()


def test_no_grain_crosses_the_periodic_boundary_and_the_offset_is_reported() -> None:
    d = recipe("ni_m3b2")  # height "periods": grains 24.26 and 22.17 Å, gaps 1 and 1.5 Å
    r = build(d, "ni_m3b2")
    s, ch = r.structure, r.report["choices"]["centred_interface"]
    z = np.asarray(s.cart_coords)[:, 2]
    g = np.array(s.site_properties["grain"])
    assert z[g == 0].max() < z[g == 1].min()  # lower grain wholly below the upper one
    assert ch["vertical_shift"] == 0.75  # clamped to half the periodic gap
    mid = r.report["interfaces"]["interface_1_z"]
    assert abs(mid + ch["centre_offset"] - 0.5 * s.lattice.c) < 1e-5  # cell_shift = offset centres it


def test_published_twin_is_the_candidate_with_the_periodic_interface_centred() -> None:
    from ingrained_core.apps.bench_recipe import equivalent

    d = recipe("cdte_twin")
    pub = published("cdte_twin")
    half_period = 0.5 * build(d, "cdte_twin").report["grains"]["slab_1"]["orientation"]["height_period"]
    assert not equivalent(build(d, "cdte_twin").structure, pub, tol=0.01, vertical_range=half_period)
    d["centred_interface"] = 2
    assert equivalent(build(d, "cdte_twin").structure, pub, tol=0.01, vertical_range=half_period)
    assert (EXAMPLES / "cdte_twin" / "bicrystal.POSCAR.vasp").is_file()
