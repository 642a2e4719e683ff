"""interface_shift: a rigid shift of the upper grain along the image width, periodic in the
interface period (the cell width), fixed at 0 unless a run frees it."""

from __future__ import annotations

import numpy as np
from ingrained_stem.params import HaadfParams

from .conftest import TWIN_START


def test_shift_is_fixed_by_default() -> None:
    assert HaadfParams.describe()["interface_shift"]["free"] is False


def test_shift_by_one_period_is_the_same_image(twin_model) -> None:
    W = twin_model.projection.width
    base = twin_model.simulate(HaadfParams(**TWIN_START)).array
    one = twin_model.simulate(HaadfParams(**{**TWIN_START, "interface_shift": W})).array
    moved = twin_model.simulate(HaadfParams(**{**TWIN_START, "interface_shift": 1.3})).array
    assert np.allclose(base, one, atol=1e-9 * np.abs(base).max())
    assert not np.allclose(base, moved, atol=1e-3 * np.abs(base).max())


def test_structure_at_moves_only_the_upper_grain(twin_model, twin_structure) -> None:
    s0 = twin_model.structure_at(HaadfParams(interface_shift=0.0))
    s1 = twin_model.structure_at(HaadfParams(interface_shift=1.3))
    g = np.array(s0.site_properties["grain"])
    d = np.asarray(s1.cart_coords) - np.asarray(s0.cart_coords)
    assert np.allclose(d[g == 0], 0.0)
    assert np.allclose(np.linalg.norm(d[g == 1], axis=1), 1.3)
    assert np.allclose(d[g == 1][:, 1], 1.3)


def test_cell_shift_by_one_cell_height_is_the_same_image(twin_model) -> None:
    H = twin_model.projection.height
    base = twin_model.simulate(HaadfParams(**TWIN_START)).array
    start = {**TWIN_START, "interface_width": 0.0}
    a = twin_model.simulate(HaadfParams(**start)).array
    b = twin_model.simulate(HaadfParams(**{**start, "cell_shift": H})).array
    c = twin_model.simulate(HaadfParams(**{**start, "cell_shift": 3.8})).array
    assert np.allclose(a, b, atol=1e-9 * np.abs(a).max())
    assert not np.allclose(a, c, atol=1e-3 * np.abs(a).max())
    assert base.shape == a.shape
