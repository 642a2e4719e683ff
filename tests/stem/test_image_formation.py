"""The HAADF image: intensity scale, sub-pixel placement, geometry, distortion, the CdTe twin."""

from __future__ import annotations

import numpy as np
import pytest
from ingrained_stem.cross_section import adf_cross_section
from ingrained_stem.model import HaadfConvolution
from ingrained_stem.params import HaadfParams
from scipy import ndimage

from ingrained_core.plugin.distortion import affine_distort

from .conftest import TWIN_START, single_atom


def centroid(image: np.ndarray, center: tuple[int, int], half: int = 20) -> tuple[float, float]:
    r0, c0 = center
    win = image[r0 - half : r0 + half + 1, c0 - half : c0 + half + 1]
    rows, cols = np.mgrid[r0 - half : r0 + half + 1, c0 - half : c0 + half + 1]
    return float((win * rows).sum() / win.sum()), float((win * cols).sum() / win.sum())


def test_isolated_column_integrates_to_its_cross_section():
    # One Au atom; the crop is exactly one period wide, so its sum is one PSF's integral.
    model = HaadfConvolution(single_atom("Au", width=39.8, height=60.0))
    params = HaadfParams(pixel_size=0.2, source_size=1.0, crop_height=199, crop_width=199)
    image = model.simulate(params)
    assert image.array.shape == (199, 199)
    total = image.array.sum() * params.pixel_size**2
    assert total == pytest.approx(adf_cross_section(79, 200.0, 100.0, 150.0), rel=0.01)


@pytest.mark.parametrize("pixel_size", [0.1, 0.2, 0.4])
def test_peak_position_and_intensity_at_any_pixel_size(pixel_size):
    # The column sits at the cell centre = crop centre; coarse pixels must not alias.
    model = HaadfConvolution(single_atom("Te", width=30.0, height=40.0))
    params = HaadfParams(pixel_size=pixel_size, source_size=1.0, crop_height=61, crop_width=61)
    image = model.simulate(params).array
    assert np.unravel_index(image.argmax(), image.shape) == (30, 30)
    total = image.sum() * pixel_size**2
    assert total == pytest.approx(adf_cross_section(52, 200.0, 100.0, 150.0), rel=0.03)
    assert image.min() > -1e-3 * image.max()  # no ringing worth the name


@pytest.mark.parametrize("dx_px, dy_px", [(0.3, 0.0), (0.0, 0.45), (0.25, -0.35)])
def test_subpixel_translation_moves_the_centroid(dx_px, dy_px):
    p, width, height = 0.2, 30.0, 40.0
    params = HaadfParams(pixel_size=p, source_size=0.8, crop_height=121, crop_width=121)
    base = HaadfConvolution(single_atom("Au", width=width, height=height), vertical="up").simulate(params).array
    moved_structure = single_atom(
        "Au", width=width, height=height, frac_b=0.5 + dx_px * p / width, frac_c=0.5 + dy_px * p / height
    )
    moved = HaadfConvolution(moved_structure, vertical="up").simulate(params).array
    r0, c0 = centroid(base, (60, 60))
    r1, c1 = centroid(moved, (60, 60))
    assert c1 - c0 == pytest.approx(dx_px, abs=0.01)
    assert r1 - r0 == pytest.approx(-dy_px, abs=0.01)  # c is up on screen: rows decrease


def test_image_is_periodic_across_the_width():
    width = 12.0
    model = HaadfConvolution(single_atom("Cd", width=width, height=30.0, frac_c=0.4))
    params = HaadfParams(pixel_size=width / 40, source_size=1.0, crop_height=101, crop_width=161)
    image = model.simulate(params).array
    # Periodic to the render's accuracy: B-spline placement aliases (< 5e-4 of the maximum)
    # and, near the edges, the Airy tails of columns beyond the PSF margin (< 1e-3).
    assert np.allclose(image[:, 20:-60], image[:, 60:-20], rtol=0, atol=5e-4 * image.max())
    assert np.allclose(image[:, :-40], image[:, 40:], rtol=0, atol=1e-3 * image.max())


def test_shear_and_stretch_equal_the_centred_affine_distortion():
    # The model distorts exactly in Fourier space; it must agree with the core's one-
    # interpolation distortion of the undistorted image (up to that interpolation).
    model = HaadfConvolution(single_atom("Te", width=8.0, height=40.0, frac_c=0.5), vertical="up", shear="forward")
    distortion = {"shear_x": 0.08, "shear_y": -0.05, "stretch_x": 0.06, "stretch_y": -0.04}
    plain = HaadfParams(pixel_size=0.1, source_size=1.5, crop_height=301, crop_width=301)
    reference = affine_distort(model.simulate(plain).array, (201, 201), **distortion)
    direct = model.simulate(plain.model_copy(update={"crop_height": 201, "crop_width": 201, **distortion})).array
    assert np.max(np.abs(direct - reference)) < 0.01 * reference.max()


def test_same_parameters_give_the_same_image_bit_for_bit(twin_structure):
    params = HaadfParams(**{**TWIN_START, "shear_x": 0.03, "stretch_y": -0.02, "interface_width": -0.7})
    first = HaadfConvolution(twin_structure).simulate(params).array
    model = HaadfConvolution(twin_structure)
    model.simulate(HaadfParams(**{**TWIN_START, "pixel_size": 0.3}))
    assert np.array_equal(first, model.simulate(params).array)


def test_twin_shows_dumbbells_with_tellurium_brighter(twin_model):
    params = HaadfParams(**TWIN_START)
    image = twin_model.simulate(params)
    assert image.array.shape == (201, 167)
    assert image.metadata["crop_height"] == 201 and image.metadata["crop_width"] == 167
    assert image.metadata["notices"] == []
    assert image.pixel_size == pytest.approx(TWIN_START["pixel_size"])
    pos = twin_model.column_positions(params)
    values = ndimage.map_coordinates(image.array, [pos["row"], pos["col"]], order=1)
    te, cd = pos["symbols"] == "Te", pos["symbols"] == "Cd"
    assert te.sum() > 50 and cd.sum() > 50
    pairs = 0
    for i in np.nonzero(te)[0]:
        dist = np.hypot(pos["row"][cd] - pos["row"][i], pos["col"][cd] - pos["col"][i])
        if dist.min() > 1.8 / params.pixel_size:  # Cd-Te dumbbell spacing is a0/4 = 1.66 Å
            continue
        j = np.nonzero(cd)[0][dist.argmin()]
        middle = ndimage.map_coordinates(
            image.array, [[0.5 * (pos["row"][i] + pos["row"][j])], [0.5 * (pos["col"][i] + pos["col"][j])]], order=1
        )[0]
        assert values[i] > 1.05 * values[j]  # Te (Z=52) brighter than Cd (Z=48)
        assert middle < 0.9 * values[j]  # the two columns of the dumbbell are resolved
        pairs += 1
    assert pairs > 50
    # Each column is a local maximum of the image: the peaks sit on the projected columns.
    peaks = image.array == ndimage.maximum_filter(image.array, size=5)
    inner = (pos["row"] > 3) & (pos["row"] < 197) & (pos["col"] > 3) & (pos["col"] < 163)
    r, c = np.rint(pos["row"][inner]).astype(int), np.rint(pos["col"][inner]).astype(int)
    near_peak = [peaks[a - 1 : a + 2, b - 1 : b + 2].any() for a, b in zip(r, c)]
    assert np.mean(near_peak) > 0.95


def test_interface_width_moves_the_upper_grain_and_removes_collisions(twin_model, twin_structure):
    wide = twin_model.structure_at(HaadfParams(interface_width=1.5))
    assert len(wide) == len(twin_structure)
    assert wide.lattice.c == pytest.approx(twin_structure.lattice.c + 1.5)
    grains = np.array(wide.site_properties["grain"])
    z_old = twin_structure.cart_coords[:, 2]
    upper_old = twin_structure.frac_coords[:, 2] > 0.5
    assert np.allclose(wide.cart_coords[grains == 1, 2], z_old[upper_old] + 1.5)
    assert np.allclose(wide.cart_coords[grains == 0, 2], z_old[~upper_old])

    squeezed = twin_model.structure_at(HaadfParams(interface_width=-2.0))
    assert len(squeezed) < len(twin_structure)
    grains = np.array(squeezed.site_properties["grain"])
    dist = squeezed.distance_matrix[np.ix_(grains == 0, grains == 1)]
    assert dist.min() >= 1.0
    image = twin_model.simulate(HaadfParams(**{**TWIN_START, "interface_width": -2.0}))
    assert image.metadata["atoms_removed"] == len(twin_structure) - len(squeezed)


def test_grain_labels_from_the_builder_are_used(twin_structure):
    labelled = twin_structure.copy()
    labelled.add_site_property("grain", [0] * len(labelled))  # a single grain: nothing moves
    model = HaadfConvolution(labelled)
    moved = model.structure_at(HaadfParams(interface_width=2.0))
    assert np.allclose(np.sort(moved.cart_coords[:, 2]), np.sort(twin_structure.cart_coords[:, 2]))


def test_crop_reduced_to_fit_the_cell_with_a_notice(twin_model):
    # 68.89 Å tall cell at 0.4 Å/px holds 172 rows: 201 becomes 171.
    image = twin_model.simulate(HaadfParams(**{**TWIN_START, "pixel_size": 0.4, "interface_width": 0.0}))
    assert image.array.shape == (171, 167)
    assert image.metadata["crop_height"] == 171
    assert len(image.metadata["notices"]) == 1 and "crop_height" in image.metadata["notices"][0]


def test_fixed_tiles_limit_the_width(twin_structure):
    model = HaadfConvolution(twin_structure, tiles=1)  # 32.48 Å = 156.8 px wide
    image = model.simulate(HaadfParams(**TWIN_START))
    assert image.array.shape == (201, 155)
    assert "crop_width" in image.metadata["notices"][0]


def test_other_projection_axes(twin_structure):
    # Beam along b, horizontal a: a different, valid view of the same cell.
    model = HaadfConvolution(twin_structure, beam_axis="b", horizontal_axis="a")
    image = model.simulate(HaadfParams(**TWIN_START))
    assert image.array.shape == (201, 167) and image.array.max() > 0


def test_vertical_down_is_the_c_up_image_turned_over(twin_structure) -> None:  # type: ignore[no-untyped-def]
    """vertical="down" (the mirror image) is the default c-up image flipped top to bottom."""
    params = HaadfParams(pixel_size=0.21, shear_x=0.03, stretch_y=0.02, crop_height=121, crop_width=101)
    up = HaadfConvolution(twin_structure).simulate(params).array
    down = HaadfConvolution(twin_structure, vertical="down").simulate(params).array
    assert np.array_equal(down, up[::-1])
