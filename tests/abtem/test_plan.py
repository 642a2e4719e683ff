"""Sampling and memory checks, cell repeats, the specimen: all before (and without) abTEM."""

from __future__ import annotations

import pytest

from ingrained_core.plugin.errors import ConfigError

from .conftest import run_python


def test_max_scattering_angle_is_two_thirds_of_nyquist():
    from ingrained_abtem.plan import max_scattering_angle, sampling_for_angle

    # λ(200 kV) = 0.025079 Å: (2/3) λ / (2 · 0.05 Å) = 167.2 mrad
    assert max_scattering_angle(0.05, 200.0) == pytest.approx(167.20, abs=0.01)
    assert max_scattering_angle(0.1, 200.0) == pytest.approx(83.60, abs=0.01)
    assert sampling_for_angle(150.0, 200.0) == pytest.approx(0.05573, abs=1e-5)
    assert max_scattering_angle(sampling_for_angle(150.0, 300.0), 300.0) == pytest.approx(150.0)


def test_too_coarse_sampling_reports_the_largest_angle():
    from ingrained_abtem.plan import check_sampling

    assert check_sampling(0.05, 200.0, 150.0) == pytest.approx(167.2, abs=0.1)
    with pytest.raises(ConfigError, match=r"sampling: 0\.1 Å is too coarse for detector_outer = 150 mrad.*"
                                          r"largest scattering angle it allows is 83\.6 mrad.*<= 0\.0557 Å"):
        check_sampling(0.1, 200.0, 150.0)


def test_sampling_and_memory_are_checked_before_abtem_is_imported():
    """abTEM hidden: the config errors still come, not the missing-abTEM one."""
    proc = run_python(
        "from ingrained_abtem.model import HaadfMultislice\n"
        "from tests.abtem.conftest import cdte_110\n"
        "from ingrained_core.plugin.errors import ConfigError\n"
        "for opts, params in (({'sampling': 0.1}, {}), ({'memory_limit': 0.01}, {})):\n"
        "    try:\n"
        "        HaadfMultislice(cdte_110(), **opts).simulate(params)\n"
        "    except ConfigError as exc:\n"
        "        print('ConfigError:', exc)\n",
        hide_abtem=True,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "largest scattering angle it allows is 83.6 mrad" in lines[0]
    assert "memory_limit: this simulation needs about" in lines[1] and "above the limit of 0.01 GiB" in lines[1]


def test_memory_estimate_grows_with_configs_and_prism_beams(small_cell):
    from ingrained_abtem.model import HaadfMultislice

    base = HaadfMultislice(small_cell, phonon_configs=0).plan({})
    more = HaadfMultislice(small_cell, phonon_configs=8).plan({})
    assert more.memory_gib > base.memory_gib and more.configs == 8 and base.configs == 0
    prism = HaadfMultislice(small_cell, method="prism", prism_interpolation=(2, 3)).plan({})
    assert prism.gpts[0] % 2 == 0 and prism.gpts[1] % 3 == 0
    assert prism.beams > 0 and prism.memory_gib > 0
    assert max(prism.sampling) <= 0.05  # never coarser than asked


def test_thickness_is_whole_repeats_that_reach_it():
    from ingrained_abtem.specimen import repeats_for

    assert repeats_for(100.0, 9.3748) == 11
    assert repeats_for(9.3748, 9.3748) == 1
    assert repeats_for(2 * 9.3748, 9.3748) == 2
    assert repeats_for(1.0, 9.3748) == 1


def test_specimen_is_the_convolution_models_structure(twin_structure):
    from ingrained_abtem.model import HaadfMultislice
    from ingrained_abtem.specimen import specimen_at

    model = HaadfMultislice(twin_structure)
    for width in (0.2, -1.5):
        spec = specimen_at(model.projection, model._numbers, width, 100.0)
        conv_structure = model.convolution.structure_at({"interface_width": width})
        assert len(spec.numbers) == len(conv_structure)
        assert spec.height == pytest.approx(twin_structure.lattice.c + width)
        assert spec.repeats == 11 and spec.thickness == pytest.approx(11 * twin_structure.lattice.a)
        assert (spec.positions[:, 1] >= 0).all() and (spec.positions[:, 1] < spec.height).all()
        atoms = spec.to_atoms()
        assert len(atoms) == 11 * len(spec.numbers)
        assert atoms.cell.lengths()[2] == pytest.approx(spec.thickness)
    assert model.structure_at({"interface_width": -1.5}).composition == conv_structure.composition


def test_prism_window_sets_the_interpolation_from_the_cell(twin_structure):
    """The same probe window on different cells: the twin's (8, 16), Ni/M3B2's (4, 12) at 4.2 Å."""
    from ingrained_abtem.model import HaadfMultislice, prism_factors
    from pymatgen.core import Structure

    from ..conftest import real_file

    assert prism_factors(32.4756, 69.1186, 4.2) == (8, 16)
    assert prism_factors(17.4126, 52.0672, 4.2) == (4, 12)
    assert prism_factors(3.0, 3.0, 4.2) == (1, 1)  # never below 1
    twin = HaadfMultislice(twin_structure, method="prism", prism_window=4.2, prism_interpolation=(2, 2))
    assert twin.options.prism_interpolation == (8, 16)  # the window overrides the factors
    ni = HaadfMultislice(Structure.from_file(str(real_file("ni_m3b2/bicrystal.POSCAR.vasp"))),
                         method="prism", prism_window=4.2, vertical="up", shear="inverse")
    assert ni.options.prism_interpolation == (4, 12)
    plan = ni.plan({"thickness": 28.0})
    assert plan.gpts[0] % 4 == 0 and plan.gpts[1] % 12 == 0  # the grid is a multiple of the factors
    with pytest.raises(ConfigError, match="prism_window"):
        HaadfMultislice(twin_structure, method="prism", prism_window=0.1)
