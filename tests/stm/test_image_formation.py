"""Image formation: bumps at atoms, hexagonal lattices through the real lattice, one distortion."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ingrained_core.plugin.distortion import affine_distort, distortion_matrix
from ingrained_stm.density import Density
from ingrained_stm.model import TersoffHamannSTM
from ingrained_stm.params import StmParams

from .conftest import HEX_A, atoms_density, hex_cell
from .lattice_tools import measure_hex_lattice, repeat_residual


def _params(**kw) -> StmParams:
    base = dict(z_below=1.0, z_above=4.0, r_val=1e-3, pixel_size=0.1, crop_height=101, crop_width=101)
    base.update(kw)
    return StmParams(**base)


def test_single_atom_gives_a_circular_bump_at_the_atom(single_atom_density):
    model = TersoffHamannSTM(single_atom_density)
    img = model.simulate(_params(rotation=37.0)).array
    c = (img.shape[0] - 1) // 2
    assert np.unravel_index(np.argmax(img), img.shape) == (c, c)
    # equal heights on circles around the centre, at several radii
    for radius_px in (5.0, 10.0, 15.0):
        ang = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        ring = ndimage.map_coordinates(img, [c + radius_px * np.sin(ang), c + radius_px * np.cos(ang)], order=1)
        assert ring.std() < 0.01, (radius_px, ring.std())
        assert ring.mean() < img[c, c]
    # and it falls off monotonically along a radius
    profile = img[c, c:]
    assert np.all(np.diff(profile[:20]) < 0)


@pytest.mark.parametrize("rotation", [0.0, 17.0, 45.0, 113.2])
def test_hexagonal_cell_gives_hexagonal_image_with_the_right_spacing(hex_density, rotation):
    model = TersoffHamannSTM(hex_density)
    pixel = 0.2
    img = model.simulate(_params(rotation=rotation, pixel_size=pixel, crop_height=121, crop_width=121, r_val=3e-4, z_above=5.0)).array
    length = HEX_A / pixel
    angle, measured = measure_hex_lattice(img, length)
    assert measured == pytest.approx(length, rel=0.01)
    diff = (angle - rotation) % 60.0
    assert min(diff, 60.0 - diff) < 0.6
    # six-fold: the two other lattice directions repeat it too, a 30° direction does not
    for extra in (60.0, 120.0):
        t = np.radians(rotation + extra)
        assert repeat_residual(img, (length * np.cos(t), -length * np.sin(t))) < 0.05
    t = np.radians(rotation + 30.0)
    assert repeat_residual(img, (length * np.cos(t), -length * np.sin(t))) > 0.5


def test_shear_and_stretch_act_on_the_lattice_as_the_core_matrix_says(hex_density):
    model = TersoffHamannSTM(hex_density)
    pixel = 0.2
    kw = dict(rotation=20.0, shear_x=0.1, shear_y=-0.25, stretch_x=0.05, stretch_y=-0.15)
    img = model.simulate(_params(pixel_size=pixel, crop_height=151, crop_width=151, r_val=3e-4, z_above=5.0, **kw)).array
    m = distortion_matrix(**kw)
    lat = model.surface.lattice / pixel
    for vec in (lat[0], lat[1], lat[1] - lat[0]):
        q = m @ np.array([vec[0], -vec[1]])  # undistorted (col, row) -> distorted
        assert repeat_residual(img, (q[0], q[1])) < 0.05
        assert repeat_residual(img, (1.04 * q[0], 1.04 * q[1])) > 0.2


def test_one_interpolation_matches_the_core_affine_distortion(hex_density):
    model = TersoffHamannSTM(hex_density)
    kw = dict(rotation=33.0, shear_x=0.08, shear_y=-0.12, stretch_x=0.1, stretch_y=-0.05)
    direct = model.simulate(_params(pixel_size=0.1, crop_height=81, crop_width=81, r_val=3e-4, z_above=5.0, **kw)).array
    flat = model.simulate(_params(pixel_size=0.1, crop_height=201, crop_width=201, r_val=3e-4, z_above=5.0)).array
    two_step = affine_distort(flat, (81, 81), order=3, mode="nearest", **kw)
    assert np.abs(direct - two_step).max() < 0.02 * np.ptp(direct)


def test_non_orthogonal_third_axis_gives_the_same_image(tmp_path):
    frac_atom = [[0.25, 0.25, 0.5]]
    upright = atoms_density(hex_cell(6.0, 16.0), frac_atom, spacing=0.15)
    tilted_cell = hex_cell(6.0, 16.0)
    tilted_cell[2] = [1.7, 0.9, 16.0]
    # same Cartesian atom: fractional coordinates in the tilted cell
    cart = np.array(frac_atom[0]) @ hex_cell(6.0, 16.0)
    frac_t = np.linalg.solve(tilted_cell.T, cart)
    tilted = atoms_density(tilted_cell, [list(frac_t)], spacing=0.15)
    p = _params(z_below=0.0, z_above=4.0, r_val=2e-3, rotation=12.0, pixel_size=0.15)
    a = TersoffHamannSTM(upright).simulate(p).array
    b = TersoffHamannSTM(tilted).simulate(p).array
    assert np.abs(a - b).max() < 0.03


def test_height_rises_as_r_val_falls(cu2o_model):
    heights = []
    for r_val in (2e-2, 1e-2, 5e-3, 2e-3, 1e-3):
        smap, _ = cu2o_model.surface_map(_params(z_above=4.0, r_val=r_val))
        heights.append(smap)
    for lower, higher in zip(heights, heights[1:]):
        assert np.all(higher >= lower - 1e-9)
        assert higher.mean() > lower.mean() + 0.1


def test_band_mode_is_quantised_and_close_to_the_interpolated_height(cu2o_parchg):
    band = TersoffHamannSTM(cu2o_parchg, crossing="band")
    interp = TersoffHamannSTM(cu2o_parchg)
    p = _params(z_above=4.0, r_val=3e-3, r_tol=1.5e-3)
    hb, counts = band.surface_map(p)
    hi, _ = interp.surface_map(p)
    dz = band.surface.dz
    steps = (hb + band.surface.z_top) / dz
    assert np.allclose(steps, np.round(steps), atol=1e-6)
    hit = hb > -p.z_below + 1e-6
    assert hit.mean() > 0.9 and counts["floor"] == (~hit).sum()
    # the topmost in-band layer is the first layer at or below the crossing of r_val - r_tol
    lower_edge, _ = interp.surface_map(p.model_copy(update={"r_val": p.r_val - p.r_tol}))
    assert np.all(hb[hit] <= lower_edge[hit] + 1e-9)
    assert np.all(hb[hit] >= lower_edge[hit] - dz - 1e-9)
    assert len(np.unique(np.round(hi, 6))) > 3 * len(np.unique(np.round(hb, 6)))
    # a narrow band is stepped over by the steep vacuum decay: columns fall to the floor
    _, narrow = band.surface_map(p.model_copy(update={"r_tol": 1e-4}))
    assert narrow["floor"] > counts["floor"]


def test_floor_and_ceiling_are_the_window_limits(cu2o_model):
    p = _params(z_below=0.7, z_above=0.5, r_val=cu2o_model.surface.rho_min * 1.0001)
    smap, counts = cu2o_model.surface_map(p)
    assert counts["ceiling"] == smap.size and np.allclose(smap, smap.max())
    assert smap.max() <= 0.5 + 1e-9
    sim = cu2o_model.simulate(p)
    assert any("ceiling" in n for n in sim.metadata["notices"])
    high = _params(z_below=0.7, z_above=0.5, r_val=cu2o_model.surface.rho_max * 0.999)
    smap, counts = cu2o_model.surface_map(high)
    assert counts["floor"] > 0.9 * smap.size
    assert np.min(smap) >= -0.7 - 1e-9


def test_blur_and_tip_smooth_the_image(cu2o_model):
    base = _params(z_above=3.0, r_val=1e-2, pixel_size=0.15)
    sharp = cu2o_model.simulate(base).array
    blurred = cu2o_model.simulate(base.model_copy(update={"sigma": 2.0})).array
    tipped = cu2o_model.simulate(base.model_copy(update={"tip_radius": 3.0})).array
    assert blurred.std() < sharp.std()
    assert np.all(tipped >= sharp - 1e-9)  # the apex never sits below the surface
    # a sphere cannot reach into the hollows: same summits, shallower corrugation
    assert tipped.max() == pytest.approx(sharp.max(), abs=1e-9)
    assert np.ptp(tipped) < 0.9 * np.ptp(sharp)


def test_constant_height_mode_peaks_above_the_atom(single_atom_density):
    model = TersoffHamannSTM(single_atom_density, mode="constant-height")
    img = model.simulate(_params(z_above=2.0)).array
    c = (img.shape[0] - 1) // 2
    assert np.unravel_index(np.argmax(img), img.shape) == (c, c)
    lin = TersoffHamannSTM(single_atom_density, mode="constant-height", signal="linear").simulate(_params(z_above=2.0)).array
    assert np.unravel_index(np.argmax(lin), lin.shape) == (c, c)
    # above the atom: ρ = (κ³/π) exp(−2κ·2 Å), whichever signal is shown
    from ingrained_stm.synthetic import decay_constant

    k = decay_constant()
    assert lin[c, c] == pytest.approx(k**3 / np.pi * np.exp(-4.0 * k), rel=0.02)
    assert img[c, c] == pytest.approx(np.log(lin[c, c]), abs=0.02)


def test_simulation_is_deterministic_and_reports_what_it_used(cu2o_model):
    p = _params(z_above=3.0, r_val=3e-3, crop_height=51, crop_width=75, sigma=1.5, rotation=110)
    a = cu2o_model.simulate(p)
    b = cu2o_model.simulate(p)
    assert np.array_equal(a.array, b.array)
    assert a.shape == (51, 75) and a.pixel_size == pytest.approx(0.1)
    assert a.metadata["crop_height"] == 51 and a.metadata["crop_width"] == 75


def test_bottom_surface_is_seen_from_above():
    cell = hex_cell(10.0, 20.0)
    density = atoms_density(cell, [[0.0, 0.0, 0.6], [0.5, 0.0, 0.4]], spacing=0.2)
    top = TersoffHamannSTM(density)
    bottom = TersoffHamannSTM(density, surface="bottom")
    assert top.surface.z_top == pytest.approx(0.6 * 20.0)
    assert bottom.surface.vacuum == pytest.approx(top.surface.vacuum)
    for model in (top, bottom):
        img = model.simulate(_params(z_above=3.0, r_val=2e-3)).array
        c = (img.shape[0] - 1) // 2
        assert np.unravel_index(np.argmax(img), img.shape) == (c, c)


def test_density_without_atoms_needs_z_surface():
    d = Density(values=np.ones((4, 4, 8)), cell=np.diag([3.0, 3.0, 10.0]))
    from ingrained_core.plugin.errors import InputFileError

    with pytest.raises(InputFileError, match="z_surface"):
        TersoffHamannSTM(d)
    model = TersoffHamannSTM(d, z_surface=5.0)
    assert model.structure_at(None) is None
