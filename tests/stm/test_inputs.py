"""Reading densities (PARCHG, cube, npz) and refusing bad input with one clear message."""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.plugin.errors import InputFileError, ParameterError
from ingrained_stm.density import Density, read_density
from ingrained_stm.model import TersoffHamannSTM
from ingrained_stm.params import StmParams
from ingrained_stm.synthetic import write_parchg

from .conftest import atoms_density, hex_cell

P = StmParams(z_below=1.0, z_above=3.0, r_val=2e-3, pixel_size=0.2, crop_height=41, crop_width=41, rotation=25.0)


@pytest.fixture(scope="module")
def small_density() -> Density:
    return atoms_density(hex_cell(6.0, 14.0), [[0.0, 0.0, 0.5], [1 / 3, 1 / 3, 0.45]], ["Cu", "O"], spacing=0.25)


def test_parchg_round_trip_divides_by_the_cell_volume(small_density, tmp_path):
    path = write_parchg(small_density, tmp_path / "PARCHG")
    text = path.read_text()
    # the file holds rho * V (VASP convention)
    lines = text.splitlines()
    dims_at = next(i for i, line in enumerate(lines) if line.split() == [str(n) for n in small_density.values.shape])
    header_values = np.array(lines[dims_at + 1].split()[:3], dtype=float)
    assert header_values[0] == pytest.approx(small_density.values[0, 0, 0] * small_density.volume, rel=1e-6)
    back = read_density(path)
    assert back.values.shape == small_density.values.shape
    assert np.allclose(back.values, small_density.values, rtol=1e-6, atol=1e-12)
    assert np.allclose(back.cell, small_density.cell)
    assert back.species == ("Cu", "O")
    a = TersoffHamannSTM(path).simulate(P).array
    b = TersoffHamannSTM(small_density).simulate(P).array
    assert np.allclose(a, b, atol=1e-5)  # positions are written with 6 decimals
    s = TersoffHamannSTM(path).structure_at(P)
    assert s is not None and s.composition.reduced_formula == "CuO" and len(s) == 2


def test_spin_channels_of_a_spin_polarised_parchg(small_density, tmp_path):
    from pymatgen.io.vasp.inputs import Poscar
    from pymatgen.io.vasp.outputs import Chgcar

    up = 0.7 * small_density.values
    down = 0.3 * small_density.values
    v = small_density.volume
    Chgcar(Poscar(small_density.structure()), {"total": (up + down) * v, "diff": (up - down) * v}).write_file(
        str(tmp_path / "PARCHG.spin")
    )
    path = tmp_path / "PARCHG.spin"
    assert np.allclose(read_density(path).values, small_density.values, rtol=1e-5)
    assert np.allclose(read_density(path, spin="up").values, up, rtol=1e-5, atol=1e-12)
    assert np.allclose(read_density(path, spin="down").values, down, rtol=1e-5, atol=1e-12)
    assert np.allclose(read_density(path, spin="magnetization").values, up - down, rtol=1e-5, atol=1e-12)
    single = write_parchg(small_density, tmp_path / "PARCHG")
    with pytest.raises(InputFileError, match="not spin-polarised"):
        read_density(single, spin="up")


def test_cube_round_trip_through_ase(small_density, tmp_path):
    import ase.io
    from ase import Atoms
    from ase.units import Bohr

    atoms = Atoms(small_density.species, positions=small_density.positions, cell=small_density.cell, pbc=True)
    path = tmp_path / "density.cube"
    ase.io.write(path, atoms, format="cube", data=small_density.values * Bohr**3)  # cube: per Bohr^3
    back = read_density(path)
    assert np.allclose(back.values, small_density.values, rtol=1e-5, atol=1e-9)
    assert np.allclose(back.cell, small_density.cell, atol=1e-5)
    assert np.allclose(back.positions, small_density.positions, atol=1e-5)
    a = TersoffHamannSTM(path).simulate(P).array
    b = TersoffHamannSTM(small_density).simulate(P).array
    assert np.allclose(a, b, atol=1e-3)
    raw = read_density(path, cube_units="angstrom")
    assert np.allclose(raw.values, small_density.values * Bohr**3, rtol=1e-5, atol=1e-9)


def test_npz_round_trip(small_density, tmp_path):
    path = tmp_path / "density.npz"
    np.savez(path, density=small_density.values, cell=small_density.cell,
             positions=small_density.positions, species=np.array(small_density.species))
    a = TersoffHamannSTM(path).simulate(P).array
    b = TersoffHamannSTM(small_density).simulate(P).array
    assert np.array_equal(a, b)
    np.savez(tmp_path / "bad.npz", density=small_density.values)
    with pytest.raises(InputFileError, match="cell"):
        read_density(tmp_path / "bad.npz")


def test_truncated_parchg_is_refused_with_the_file_name(small_density, tmp_path):
    path = write_parchg(small_density, tmp_path / "PARCHG")
    text = path.read_text()
    cut = tmp_path / "PARCHG.truncated"
    cut.write_text(text[: int(len(text) * 0.6)])
    with pytest.raises(InputFileError, match="PARCHG.truncated"):
        TersoffHamannSTM(cut)


def test_cube_with_wrong_counts_is_refused(small_density, tmp_path):
    import ase.io
    from ase import Atoms

    atoms = Atoms(small_density.species, positions=small_density.positions, cell=small_density.cell, pbc=True)
    path = tmp_path / "density.cube"
    ase.io.write(path, atoms, format="cube", data=small_density.values)
    lines = path.read_text().splitlines(keepends=True)
    n, *rest = lines[3].split()
    lines[3] = f"{int(n) + 3:5d} " + " ".join(rest) + "\n"  # header claims more points than stored
    bad = tmp_path / "wrong_counts.cube"
    bad.write_text("".join(lines))
    with pytest.raises(InputFileError, match="wrong_counts.cube"):
        read_density(bad)


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        TersoffHamannSTM(tmp_path / "nope.PARCHG")
    junk = tmp_path / "junk.PARCHG"
    junk.write_text("this is not a charge density\n")
    with pytest.raises(InputFileError, match="junk.PARCHG"):
        TersoffHamannSTM(junk)


def test_window_outside_the_cell_is_a_parameter_error(small_density):
    model = TersoffHamannSTM(small_density)
    vacuum = model.surface.vacuum
    with pytest.raises(ParameterError, match="vacuum"):
        model.simulate(P.model_copy(update={"z_above": vacuum + 0.1}))
    with pytest.raises(ParameterError, match="cell height"):
        model.simulate(P.model_copy(update={"z_below": 10.0, "z_above": 5.0}))


def test_r_val_outside_the_density_range_names_the_range(small_density):
    model = TersoffHamannSTM(small_density)
    lo, hi = model.surface.rho_min, model.surface.rho_max
    with pytest.raises(ParameterError, match=r"r_val=5 lies outside the density range \[") as info:
        model.simulate(P.model_copy(update={"r_val": 5.0}))
    assert f"{hi:.4g}" in str(info.value) and f"{lo:.4g}" in str(info.value)


def test_unknown_options_are_refused(small_density):
    from ingrained_core.plugin.errors import ConfigError

    for kw in ({"mode": "spectroscopy"}, {"crossing": "median"}, {"surface": "side"}, {"spin": "sideways"}):
        (key,) = kw
        with pytest.raises(ConfigError, match=f"forward_model.options for 'stm'.*{key}"):
            TersoffHamannSTM(small_density if "spin" not in kw else "x.PARCHG", **kw)
    with pytest.raises(ConfigError, match="did you mean 'crossing'"):
        TersoffHamannSTM(small_density, crosing="band")
