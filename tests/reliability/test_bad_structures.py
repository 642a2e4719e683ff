"""Bad structure and charge-density files through ``ingrained fuse`` (the run-level path).

Structures go through the ``file`` builder of a ``haadf`` run on the real twin image;
densities through the ``stm`` model's ``forward_model.input``. Each bad file gives one
``error:`` line naming the file, exit code 2, and no run directory.

Partial occupancies: by default a CIF with partially occupied sites is refused (the
projection and the collision removal need one species per site), with a message naming
the first disordered site and the two ways out; with ``allow_partial_occupancy = true``
the run goes on and the HAADF model weights each species by its occupancy (tested below:
the simulation of Cd0.5Zn0.5Te lies between those of CdTe and ZnTe).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from .conftest import SMALL_HAADF, assert_user_error

TWIN = """
[experiment]
path = "{image}"

[structure]
builder = "file"
path = "{structure}"
{structure_extra}
"""


@pytest.fixture(scope="module")
def cdte_cif(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bundled CdTe conventional cell written as CIF (pymatgen's writer)."""
    from pymatgen.io.cif import CifWriter

    from ingrained_core.builtins.structures.library import library_structure

    s, _ = library_structure("CdTe", "F-43m", lattice_a=6.629)
    return str(CifWriter(s))


def _twin_config(d: Path, real, structure: Path, extra: str = "") -> Path:
    image = real("cdte_twin/HAADF26.dm3")
    cfg = d / "fuse.toml"
    cfg.write_text(TWIN.format(image=image, structure=structure.name, structure_extra=extra) + SMALL_HAADF
                   + "\n[optimizer]\nmax_evals = 2\n")
    return cfg


def _fuse_fails(error_cli, cfg: Path, *needles: str) -> str:
    """``ingrained fuse CFG`` (in the CLI server): one error line holding ``needles``, no run directory."""
    run = cfg.parent / "run"
    line = assert_user_error(error_cli("fuse", cfg, "--out", run, "--quiet"), *needles)
    assert not run.exists()
    return line


@pytest.mark.parametrize("lines", [pytest.param(2, marks=pytest.mark.slow), pytest.param(5, marks=pytest.mark.slow),
                                   8, pytest.param(200, marks=pytest.mark.slow), -1])
def test_truncated_poscar(error_cli, real, tmp_path: Path, lines: int) -> None:
    src = real("cdte_twin/bicrystal.POSCAR.vasp").read_text().splitlines(keepends=True)
    (tmp_path / "cut.vasp").write_text("".join(src[:lines]))
    _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "cut.vasp"), "cut.vasp", "truncated")


@pytest.mark.parametrize("cut", ["header", "mid-line", "loop-line"])
def test_truncated_cif(error_cli, real, tmp_path: Path, cdte_cif: str, cut: str) -> None:
    """Cut in the header, in the middle of an atom line, and at a line boundary in the atom loop
    (valid CIF with atoms missing: caught by the declared _chemical_formula_sum)."""
    lines = cdte_cif.splitlines(keepends=True)
    text = {"header": "".join(lines[:8]),
            "mid-line": "".join(lines[:-3]) + lines[-3][:20],
            "loop-line": "".join(lines[:-2])}[cut]
    (tmp_path / "cut.cif").write_text(text)
    line = _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "cut.cif"), "cut.cif")
    assert "truncated" in line


def test_empty_structures(error_cli, real, tmp_path: Path, cdte_cif: str) -> None:
    (tmp_path / "empty.cif").write_text("")
    _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "empty.cif"), "empty.cif", "empty")
    # a POSCAR with a cell and no atoms
    (tmp_path / "none.vasp").write_text("no atoms\n1.0\n5 0 0\n0 5 0\n0 0 5\nCd\n0\nDirect\n")
    _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "none.vasp"), "none.vasp")


def _disordered_cif(cdte_cif: str) -> str:
    from pymatgen.core import Structure
    from pymatgen.io.cif import CifWriter

    s = Structure.from_str(cdte_cif, fmt="cif")
    s.replace_species({"Cd": {"Cd": 0.5, "Zn": 0.5}})
    return str(CifWriter(s))


def test_partial_occupancy_refused_by_default(error_cli, real, tmp_path: Path, cdte_cif: str) -> None:
    (tmp_path / "czt.cif").write_text(_disordered_cif(cdte_cif))
    _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "czt.cif"), "czt.cif",
                "partially occupied sites (4 of 8", "allow_partial_occupancy")


@pytest.mark.slow
def test_partial_occupancy_weighted_when_allowed(site: Path, real, tmp_path: Path, cdte_cif: str) -> None:
    """allow_partial_occupancy = true: the run works and Cd0.5Zn0.5 is weighted between Cd and Zn."""
    from pymatgen.core import Structure
    from pymatgen.io.cif import CifWriter

    from ..conftest import run_cli_batch

    s = Structure.from_str(cdte_cif, fmt="cif")
    files = {"czt": _disordered_cif(cdte_cif), "cdte": cdte_cif}
    zn = s.copy()
    zn.replace_species({"Cd": "Zn"})
    files["znte"] = str(CifWriter(zn))
    jobs = []
    for name, text in files.items():
        d = tmp_path / name
        d.mkdir()
        (d / f"{name}.cif").write_text(text)
        cfg = _twin_config(d, real, d / f"{name}.cif", "allow_partial_occupancy = true")
        # one evaluation each, at the same start point (the three fuses in one interpreter)
        jobs.append(["fuse", cfg, "--out", d / "run", "--quiet", "--max-evals", "1"])
    procs = run_cli_batch(jobs, env={"PYTHONPATH": str(site)}, processes=1)
    sims = {}
    for name, proc in zip(files, procs):
        d = tmp_path / name
        assert proc.returncode == 0, proc.stderr
        assert json.loads((d / "run" / "best.json").read_text())["evaluations"] == 1
        assert (d / "run" / "structure.cif").exists()
        assert (d / "run" / "structure.vasp").exists() == (name != "czt")  # POSCAR holds no occupancies
        sims[name] = np.load(d / "run" / "simulation.npy", allow_pickle=False)
    total = {k: float(v.sum()) for k, v in sims.items()}
    assert total["znte"] < total["czt"] < total["cdte"]


# -- the adversarial round's silent misreadings (S02, S04-S06) ----------------------------------
_CD0 = "Cd0  1  0.00000000  0.50000000  0.50000000  1"


def _cif_with(cdte_cif: str, occupancy: str | None = None, extra_site: str | None = None) -> str:
    """The P1 CdTe CIF with site Cd0's occupancy replaced and/or an extra atom-loop line."""
    assert _CD0 in cdte_cif  # the fixture's layout: one line per site, label Cd0 first
    text = cdte_cif
    if occupancy is not None:
        text = text.replace(_CD0, _CD0[:-1] + occupancy)
    if extra_site is not None:
        text = text.replace("  Te  Te4", f"  {extra_site}\n  Te  Te4")
    return text


def test_s02_coincident_atoms_refused(error_cli, real, tmp_path: Path, cdte_cif: str) -> None:
    """A POSCAR listing every Cd twice at the same position (Cd8 Te4) used to run without a word."""
    from pymatgen.core import Structure

    s = Structure.from_str(cdte_cif, fmt="cif")
    cd = [site.frac_coords for site in s if site.species_string == "Cd"]
    te = [site.frac_coords for site in s if site.species_string == "Te"]
    lines = ["duplicated Cd", "1.0", *(" ".join(f"{v:.8f}" for v in row) for row in s.lattice.matrix),
             "Cd Te", f"{2 * len(cd)} {len(te)}", "Direct",
             *(" ".join(f"{v:.8f}" for v in xyz) for xyz in [*cd, *cd, *te])]
    (tmp_path / "overlap.vasp").write_text("\n".join(lines) + "\n")
    line = _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "overlap.vasp"), "overlap.vasp",
                       "same position", "sites 0 (Cd) and 4 (Cd)", "0.000 Å apart", "3 more pairs")
    assert "truncated" not in line


def test_s02_close_atoms_through_a_periodic_boundary() -> None:
    """Two atoms 0.2 Å apart across the cell face (x = 0.99 and x = 0.01 of a 10 Å cell) are found;
    a real structure's shortest distances (1.85 Å in the Ni/M3B2 bicrystal) are not."""
    from pymatgen.core import Lattice, Structure

    from ingrained_core.builtins.structures.file import _check_separations
    from ingrained_core.plugin.errors import InputFileError

    s = Structure(Lattice.cubic(10.0), ["Ni", "Ni", "Ni"], [[0.99, 0.5, 0.5], [0.01, 0.5, 0.5], [0.5, 0.5, 0.5]])
    with pytest.raises(InputFileError, match=r"sites 0 \(Ni\) and 1 \(Ni\) are 0\.200 Å apart"):
        _check_separations(Path("x.vasp"), s)
    s = Structure(Lattice.cubic(10.0), ["Ni", "Ni"], [[0.97, 0.5, 0.5], [0.03, 0.5, 0.5]])  # 0.6 Å: kept
    _check_separations(Path("x.vasp"), s)
    _check_separations(Path("x.vasp"), Structure.from_file(Path(__file__).parents[2] / "examples" / "ni_m3b2" / "bicrystal.POSCAR.vasp"))


def test_s04_occupancy_above_one_refused(error_cli, real, tmp_path: Path, cdte_cif: str) -> None:
    """Occupancy 1.5: pymatgen refused it and ASE then read an ordered Cd4Te4 without a word."""
    (tmp_path / "occ.cif").write_text(_cif_with(cdte_cif, occupancy="1.5"))
    _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "occ.cif"), "occ.cif", "site 'Cd0' (Cd)",
                "_atom_site_occupancy 1.5", "at most 1")


@pytest.mark.parametrize("occupancy", ["0", "-0.5", "nan"])
def test_s05_occupancy_zero_negative_nan_blamed(tmp_path: Path, cdte_cif: str, occupancy: str) -> None:
    """The message blames the occupancy, never truncation (it used to say 'probably truncated')."""
    from ingrained_core.builtins.structures.file import read_structure
    from ingrained_core.plugin.errors import InputFileError

    (tmp_path / "occ.cif").write_text(_cif_with(cdte_cif, occupancy=occupancy))
    with pytest.raises(InputFileError) as err:
        read_structure(tmp_path / "occ.cif")
    msg = str(err.value)
    assert "occ.cif" in msg and f"site 'Cd0' (Cd) has _atom_site_occupancy {occupancy}" in msg
    assert "truncated" not in msg


def test_s05_through_fuse(error_cli, real, tmp_path: Path, cdte_cif: str) -> None:
    (tmp_path / "occ.cif").write_text(_cif_with(cdte_cif, occupancy="-0.5"))
    line = _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "occ.cif"), "occ.cif", "site 'Cd0'",
                       "_atom_site_occupancy -0.5")
    assert "truncated" not in line


def test_s06_second_species_on_an_occupied_site(error_cli, real, tmp_path: Path, cdte_cif: str) -> None:
    """Zn 0.8 on the Cd 1.0 site Cd0: pymatgen dropped the Zn without a word."""
    (tmp_path / "zn.cif").write_text(_cif_with(cdte_cif, extra_site="Zn  Zn8  1  0.00000000  0.50000000  0.50000000  0.8"))
    line = _fuse_fails(error_cli, _twin_config(tmp_path, real, tmp_path / "zn.cif"), "zn.cif", "site 'Cd0' (Cd) occupancy 1",
                       "site 'Zn8' (Zn) occupancy 0.8", "add up to 1.8", "allow_partial_occupancy")
    assert "truncated" not in line


def test_s06_partial_site_is_named_not_truncation(tmp_path: Path, cdte_cif: str) -> None:
    """Cd 0.2 + Zn 0.8 on one site (a valid disordered site): refused as partial occupancy (naming
    the site), not as a truncated file, although the declared formula (Cd4 Te4) no longer matches."""
    from ingrained_core.builtins.structures.file import read_structure
    from ingrained_core.plugin.errors import InputFileError

    text = _cif_with(cdte_cif, occupancy="0.2", extra_site="Zn  Zn8  1  0.00000000  0.50000000  0.50000000  0.8")
    (tmp_path / "czt.cif").write_text(text)
    with pytest.raises(InputFileError) as err:
        read_structure(tmp_path / "czt.cif")
    msg = str(err.value)
    assert "czt.cif" in msg and "partially occupied sites (1 of 8" in msg and "Zn" in msg and "Cd" in msg
    assert "allow_partial_occupancy" in msg and "truncated" not in msg


@pytest.mark.parametrize("occupancy", ["0.80(2)", "?", "."])
def test_cif_occupancy_forms_accepted(tmp_path: Path, cdte_cif: str, occupancy: str) -> None:
    """A standard uncertainty in parentheses, and '?'/'.' (unknown, read as 1) are not refused as values."""
    from ingrained_core.builtins.structures.file import _check_cif_occupancies

    (tmp_path / "ok.cif").write_text(_cif_with(cdte_cif, occupancy=occupancy))
    _check_cif_occupancies(tmp_path / "ok.cif")


@pytest.fixture(scope="module")
def small_parchg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A coarse synthetic Cu2O(111) PARCHG (written by the STM plugin's own writer)."""
    pytest.importorskip("ingrained_stm")
    from ingrained_stm.synthetic import make_cu2o_111_parchg

    return make_cu2o_111_parchg(tmp_path_factory.mktemp("parchg") / "Cu2O_111.PARCHG", spacing=0.3)


STM = """
[experiment]
path = "{image}"

[[experiment.preprocess]]
op = "crop"
rows = [220, 370]
cols = [140, 290]

[forward_model]
name = "stm"
input = "{density}"

[forward_model.params]
crop_height = 61
crop_width = 61

[optimizer]
max_evals = 2
"""


@pytest.mark.parametrize("frac", [pytest.param(0.02, marks=pytest.mark.slow), 0.5, pytest.param(0.999, marks=pytest.mark.slow)])
def test_truncated_parchg(error_cli, real, tmp_path: Path, small_parchg: Path, frac: float) -> None:
    raw = small_parchg.read_bytes()
    (tmp_path / "cut.PARCHG").write_bytes(raw[: int(len(raw) * frac)])
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(STM.format(image=real("cu2o_111/03h_Cu2O_111_034_fwd_z_plane.txt"), density="cut.PARCHG"))
    _fuse_fails(error_cli, cfg, "cut.PARCHG", "expected")


@pytest.mark.parametrize("delta", [-7, pytest.param(+5, marks=pytest.mark.slow)])
def test_cube_with_wrong_counts(error_cli, real, tmp_path: Path, delta: int) -> None:
    """A cube file whose header counts (6 x 5 x 8) disagree with the number of values."""
    n = (6, 5, 8)
    head = ["cube", "wrong counts", "    1    0.000000    0.000000    0.000000",
            f"    {n[0]}    0.500000    0.000000    0.000000", f"    {n[1]}    0.000000    0.500000    0.000000",
            f"    {n[2]}    0.000000    0.000000    0.500000", "   29   29.000000    1.000000    1.000000    1.000000"]
    vals = np.random.default_rng(0).random(int(np.prod(n)) + delta)
    body = "\n".join(" ".join(f"{v:.5e}" for v in vals[i:i + 6]) for i in range(0, len(vals), 6))
    (tmp_path / "bad.cube").write_text("\n".join(head) + "\n" + body + "\n")
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(STM.format(image=real("cu2o_111/03h_Cu2O_111_034_fwd_z_plane.txt"), density="bad.cube"))
    _fuse_fails(error_cli, cfg, "bad.cube", "grid counts")


def test_missing_density(error_cli, real, tmp_path: Path) -> None:
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(STM.format(image=real("cu2o_111/03h_Cu2O_111_034_fwd_z_plane.txt"), density="nothere.PARCHG"))
    _fuse_fails(error_cli, cfg, "nothere.PARCHG", "not found")
