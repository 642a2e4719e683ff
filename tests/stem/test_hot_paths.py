"""The evaluation hot paths of the HAADF model give what their plain definitions give.

Issue 18 made them cheaper without changing a bit: the collision test precomputes the
candidate pairs and their horizontal/depth separations once (only dy per evaluation), and
the render's FFTs run in their two passes on the columns / rows that are kept. These tests
compare each with the straightforward computation it replaces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import fft as sfft

from ingrained_stem.image_side import GridPlan, render_columns


def brute_force_kept(proj, width: float) -> np.ndarray:
    """Every lower/upper atom pair, periodic in x and z: an upper atom closer than the
    collision distance to any lower atom is removed (the definition)."""
    lo = np.nonzero(proj.grain == 0)[0]
    up = np.nonzero(proj.grain == 1)[0]
    dx = proj.x[up][None, :] - proj.x[lo][:, None]
    dx -= proj.width * np.rint(dx / proj.width)
    dz = proj.z[up][None, :] - proj.z[lo][:, None]
    dz -= proj.depth * np.rint(dz / proj.depth)
    dy = (proj.y[up][None, :] + width) - proj.y[lo][:, None]
    close = (dx * dx + dy * dy + dz * dz) < proj.collision_distance**2
    kept = np.ones(len(proj.species), dtype=bool)
    kept[up[close.any(axis=0)]] = False
    return kept


def test_collision_pairs_remove_exactly_the_colliding_atoms():
    from pymatgen.core import Structure

    from ingrained_stem.projection import ProjectedStructure

    path = Path(__file__).resolve().parents[2] / "examples" / "cdte_twin" / "bicrystal.POSCAR.vasp"
    proj = ProjectedStructure(Structure.from_file(str(path)))
    rng = np.random.default_rng(3)
    widths = np.concatenate([rng.uniform(-2.5, 2.5, 60), [-5.5, -3.0, 0.0, 3.0, 7.25]])
    removed = set()
    for w in widths:
        state = proj.interface(float(w))
        np.testing.assert_array_equal(state.kept, brute_force_kept(proj, float(w)))
        removed.add(state.removed)
    assert 0 in removed and len(removed) > 1  # some widths remove atoms, others do not


@pytest.mark.parametrize("shape, fine", [((120, 96), (120, 96)), ((120, 96), (128, 108))])
def test_render_equals_full_rfft2_and_irfft2(shape, fine):
    """The pruned two-pass transforms give the full rfft2 / irfft2 + crop, bit for bit."""
    rng = np.random.default_rng(5)
    plan = GridPlan(shape=shape, fine_shape=fine, crop=(71, 55), margin=20, pixel_size=0.2)
    n = 300
    rows, cols = rng.uniform(-40, 40, n), rng.uniform(-30, 30, n)
    weights = rng.uniform(0.5, 2.0, n)
    k = np.linspace(0.0, 2.0, 200)

    def transfer(q):
        return np.interp(q, k, np.exp(-k), right=0.0)

    got = render_columns(rows, cols, weights, plan=plan, transfer=transfer, transfer_k=k, source_size=0.8,
                         matrix=np.array([[1.02, 0.03], [-0.01, 0.98]]))

    # the same filter applied to the full transforms
    ny, nx = plan.shape
    seen = {}
    real_irfft = sfft.irfft

    def spy(x, *args, **kwargs):
        seen["rows"] = x.shape[0]
        return real_irfft(x, *args, **kwargs)

    sfft.irfft = spy
    try:
        render_columns(rows, cols, weights, plan=plan, transfer=transfer, transfer_k=k, source_size=0.8,
                       matrix=np.array([[1.02, 0.03], [-0.01, 0.98]]))
    finally:
        sfft.irfft = real_irfft
    assert seen["rows"] == plan.crop[0]  # the last pass ran on the crop's rows only
    assert got.shape == plan.crop and got.dtype == np.float32

    # reference: full rfft2 of the splatted grid, the whole filter, full irfft2, crop
    from ingrained_stem import image_side as side

    captured = {}
    real_fft = sfft.fft

    def capture(x, *args, **kwargs):
        out = real_fft(x, *args, **kwargs)
        captured["spec_before_filter"] = out.copy()
        return out

    real_ifft = sfft.ifft

    def capture_filtered(x, *args, **kwargs):
        captured["filtered"] = x.copy()
        return real_ifft(x, *args, **kwargs)

    sfft.fft, sfft.ifft = capture, capture_filtered
    try:
        again = render_columns(rows, cols, weights, plan=plan, transfer=transfer, transfer_k=k, source_size=0.8,
                               matrix=np.array([[1.02, 0.03], [-0.01, 0.98]]))
    finally:
        sfft.fft, sfft.ifft = real_fft, real_ifft
    np.testing.assert_array_equal(again, got)  # deterministic
    nfy, nfx = plan.fine_shape
    cy, cx = plan.center
    grid = side.splat((nfy, nfx), (rows + cy) * (nfy / ny), (cols + cx) * (nfx / nx), weights)
    full = sfft.rfft2(grid.astype(np.float32))
    if (nfy, nfx) != (ny, nx):
        neg = ny - ny // 2 - 1
        full = np.concatenate([full[: ny // 2 + 1, : nx // 2 + 1], full[nfy - neg :, : nx // 2 + 1]], axis=0)
        kept = np.concatenate([captured["spec_before_filter"][: ny // 2 + 1], captured["spec_before_filter"][nfy - neg :]])
    else:
        kept = captured["spec_before_filter"]
    np.testing.assert_array_equal(kept, full)
    oy, ox = plan.offset
    h, w = plan.crop
    reference = sfft.irfft2(captured["filtered"], s=(ny, nx))[oy : oy + h, ox : ox + w]
    np.testing.assert_array_equal(got, reference)
