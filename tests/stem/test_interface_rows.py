"""The HAADF model marks the twin boundary where its columns change grain (figures use it)."""

from __future__ import annotations

import numpy as np

from .conftest import TWIN_START


def _column_rows(model, params):
    """Crop row of every column at the crop's centre column, and its grain (True = upper)."""
    from ingrained_stem.model import HaadfParams

    p = HaadfParams.coerce(params)
    x, y_rel, _, _ = model._columns_at(p)
    fit = model._fit(p)
    src = np.stack([np.zeros_like(y_rel), -y_rel / p.pixel_size], axis=1)
    rows = -model._ysign * (src @ model.distortion_matrix(p).T)[:, 1] + 0.5 * (fit.height - 1)
    return rows, np.asarray(model.projection.column_upper, dtype=bool), fit.height


def test_the_interface_row_separates_the_two_grains(twin_model) -> None:
    for shear_y in (0.0, 0.05):
        params = {**TWIN_START, "shear_y": shear_y}
        marks = twin_model.interface_rows(params)
        assert marks, "the twin's boundary lies inside a 201-row crop"
        rows, upper, height = _column_rows(twin_model, params)
        for mark in marks:
            near = np.abs(rows - mark) < 12  # columns within ~2.5 Å of the mark
            above, below = rows[near] < mark, rows[near] > mark
            # one side holds only one grain's columns, the other side only the other's
            sides = {bool(g) for g in upper[near][above]}, {bool(g) for g in upper[near][below]}
            assert len(sides[0]) == 1 and len(sides[1]) == 1 and sides[0] != sides[1], (mark, sides)
            assert 0 <= mark <= height - 1


def test_a_single_crystal_has_no_interface(twin_structure) -> None:
    from ingrained_stem.model import HaadfConvolution

    lower = twin_structure.copy()
    lower.remove_sites([i for i, s in enumerate(lower) if s.frac_coords[2] % 1.0 >= 0.5])
    lower.add_site_property("grain", [0] * len(lower))
    assert HaadfConvolution(lower).interface_rows(TWIN_START) == []
