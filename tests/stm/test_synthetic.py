"""The synthetic Cu2O(111) model density, the r_val start rule and the z_above post-step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ingrained_stm.model import TersoffHamannSTM, relax_z_above
from ingrained_stm.params import StmParams
from ingrained_stm.start import suggest_r_val
from ingrained_stm.synthetic import (
    A0_CU2O, WEIGHTS, cu2o_111_slab, cu2o_bulk, decay_constant, model_density,
)

from .lattice_tools import measure_hex_lattice


def test_decay_constant_from_the_work_function():
    # kappa = sqrt(2 m phi)/hbar = 0.5123 sqrt(phi / eV) per Å
    for phi in (4.5, 4.75, 5.0):
        assert decay_constant(phi) == pytest.approx(0.51231 * math.sqrt(phi), rel=1e-4)
    assert 1.08 < decay_constant() < 1.15


def test_bulk_is_cuprite_and_the_slab_is_the_hexagonal_stoichiometric_111_surface():
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    assert SpacegroupAnalyzer(cu2o_bulk()).get_space_group_number() == 224
    slab = cu2o_111_slab()
    lat = slab.lattice
    assert lat.a == pytest.approx(A0_CU2O * math.sqrt(2), rel=1e-6) and lat.b == pytest.approx(lat.a)
    assert lat.gamma == pytest.approx(60.0) and lat.alpha == pytest.approx(90.0) and lat.beta == pytest.approx(90.0)
    assert np.allclose(lat.matrix[0, 1:], 0) and np.allclose(lat.matrix[2, :2], 0)
    comp = slab.composition
    assert comp["Cu"] == 2 * comp["O"]
    z = slab.cart_coords[:, 2]
    top = int(np.argmax(z))
    assert slab[top].specie.symbol == "O"
    # bulk-terminated: the Cu4 layer lies about a0*sqrt(3)/12 = 0.62 Å below the top O
    cu_z = np.sort(z[[s.specie.symbol == "Cu" for s in slab]])[::-1]
    assert z[top] - cu_z[0] == pytest.approx(A0_CU2O * math.sqrt(3) / 12, abs=0.01)
    assert z.min() > 3.0 and lat.c - z.max() > 3.0  # vacuum on both sides


def test_model_density_integrates_to_the_weighted_electron_count(cu2o_model):
    d = cu2o_model.density
    total = d.values.mean() * d.volume
    expected = sum(WEIGHTS[s] for s in d.species)
    assert total == pytest.approx(expected, rel=0.02)


def test_model_density_is_the_stated_sum_of_exponentials(cu2o_model):
    d = cu2o_model.density
    k = decay_constant()
    na, nb, nc = d.values.shape
    z_top = d.positions[:, 2].max()
    kz = int(round((z_top + 2.0) / d.cell[2, 2] * nc))
    shifts = np.array([i * d.cell[0] + j * d.cell[1] for i in range(-3, 4) for j in range(-3, 4)])
    for i, j in ((0, 0), (5, 17), (na // 2, nb // 3)):
        point = i / na * d.cell[0] + j / nb * d.cell[1] + kz / nc * d.cell[2]
        rho = 0.0
        for pos, sp in zip(d.positions, d.species):
            r = np.linalg.norm(point - (pos + shifts), axis=1)
            rho += WEIGHTS[sp] * k**3 / np.pi * np.exp(-2 * k * r).sum()
        assert d.values[i, j, kz] == pytest.approx(rho, rel=1e-5)


def test_cu2o_image_shows_the_hexagonal_surface_lattice(cu2o_model):
    start = suggest_r_val(cu2o_model, z_above=1.0)
    pixel = 0.27
    for rotation in (0.0, 110.0):
        img = cu2o_model.simulate(StmParams(z_above=3.0, r_val=start["start"], rotation=rotation, pixel_size=pixel,
                                            crop_height=121, crop_width=121)).array
        angle, length = measure_hex_lattice(img, A0_CU2O * math.sqrt(2) / pixel)
        assert length == pytest.approx(A0_CU2O * math.sqrt(2) / pixel, rel=0.015)
        diff = (angle - rotation) % 60.0
        assert min(diff, 60.0 - diff) < 1.0


def test_suggested_r_val_puts_the_start_iso_surface_inside_the_window(cu2o_model):
    s = suggest_r_val(cu2o_model, z_above=1.0, z_above_max=4.0)
    assert cu2o_model.surface.rho_min < s["min"] < s["start"] < s["max"] <= cu2o_model.surface.rho_max
    assert s["r_tol"] == pytest.approx(s["start"] * 15 / 16)
    sim = cu2o_model.simulate(StmParams(z_below=1.0, z_above=1.0, r_val=s["start"]))
    assert sim.metadata["floor_columns"] == 0
    assert sim.metadata["ceiling_columns"] < 0.5 * cu2o_model.surface.values.shape[0] ** 2
    assert np.ptp(sim.array) > 0.05


def test_relax_z_above_keeps_the_image_and_is_minimal(cu2o_model):
    p = StmParams(z_below=1.0, z_above=4.5, r_val=5e-3, rotation=30.0)
    relaxed = relax_z_above(cu2o_model, p)
    assert relaxed.z_above < 2.5
    assert np.array_equal(cu2o_model.simulate(relaxed).array, cu2o_model.simulate(p).array)
    lower = relaxed.model_copy(update={"z_above": relaxed.z_above - cu2o_model.surface.dz})
    assert not np.array_equal(cu2o_model.simulate(lower).array, cu2o_model.simulate(p).array)
    assert relax_z_above(cu2o_model, relaxed).z_above == pytest.approx(relaxed.z_above)


def test_weights_must_cover_every_element():
    with pytest.raises(ValueError, match="Cu"):
        model_density(cu2o_111_slab(), weights={"O": 1.0}, spacing=0.5)
