"""Electron wavelength, interaction parameter and Kirkland's scattering-factor table."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
from ingrained_stem.electron import BORN_FACTOR, interaction_parameter, lorentz_factor, wavelength
from ingrained_stem.scattering import kirkland_table, projected_potential, scattering_factor
from scipy.special import j0


@pytest.mark.parametrize(
    "kev, expected",
    [(100.0, 0.037014), (200.0, 0.025079), (300.0, 0.019687)],  # Kirkland, Table 2.2
)
def test_relativistic_wavelength(kev, expected):
    assert wavelength(kev) == pytest.approx(expected, rel=2e-4)


def test_interaction_parameter_at_200_kv():
    # Kirkland: sigma = 0.00072884 rad/(V Å) at 200 kV.
    assert interaction_parameter(200.0) == pytest.approx(7.2884e-4, rel=1e-3)
    assert lorentz_factor(200.0) == pytest.approx(1.3914, rel=1e-4)


def test_table_covers_hydrogen_to_lawrencium_and_names_its_source():
    table = kirkland_table()
    assert sorted(table) == list(range(1, 104))
    raw = json.loads(resources.files("ingrained_stem").joinpath("data/kirkland.json").read_text())
    assert "Kirkland" in raw["source"] and "Advanced Computing in Electron Microscopy" in raw["source"]
    assert all(len(getattr(p, name)) == 3 for p in table.values() for name in "abcd")


def test_hydrogen_forward_scattering_is_the_bohr_radius():
    # For the hydrogen atom f_e(0) equals the Bohr radius a0 = 0.529 Å exactly.
    assert scattering_factor(1, np.array([0.0]))[0] == pytest.approx(0.529177, rel=5e-3)


@pytest.mark.parametrize("z, q", [(14, 0.5), (52, 1.0), (79, 2.0)])
def test_projected_potential_is_the_transform_of_the_scattering_factor(z, q):
    # f_e(q) = C ∫ v_z(r) J0(2π q r) 2π r dr, with C = 2π m0 e / h².
    u = np.linspace(np.log(1e-8), np.log(40.0), 200_000)
    r = np.exp(u)
    integrand = projected_potential(z, r) * j0(2 * np.pi * q * r) * 2 * np.pi * r * r
    f = BORN_FACTOR * np.trapezoid(integrand, u)
    assert f == pytest.approx(scattering_factor(z, np.array([q]))[0], rel=2e-3)
