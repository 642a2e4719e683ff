"""Calibrated outputs of a finished run, read back with the field's own readers; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.apps.outputs import finish_run, load_run_files, write_extxyz
from ingrained_core.plugin.errors import RunDirectoryError

from ..conftest import run_cli


def test_run_directory_holds_every_output(finished_run: Path, lattice_plugin: Path) -> None:
    for name in ("fused.png", "fused.svg", "fused.pdf", "experiment.tif", "experiment_patch.tif", "simulation.tif",
                 "fused.tif", "results.hspy", "calibration.json", "report.html"):
        assert (finished_run / name).is_file(), name
    best = json.loads((finished_run / "best.json").read_text())
    assert best["units"]["pixel_size"] == "Å" and best["units"]["d_trans"] == "px"
    assert best["units"]["params"]["rotation"] == "deg"
    cal = json.loads((finished_run / "calibration.json").read_text())
    assert cal["fitted_pixel_size"] == pytest.approx(best["pixel_size"])
    assert "file_pixel_size" in cal  # a .npy has no calibration: recorded as such (None)


def test_tiffs_and_hspy_carry_the_fitted_pixel_size(finished_run: Path) -> None:
    import tifffile
    from rsciio.hspy import file_reader as read_hspy
    from rsciio.tiff import file_reader as read_tiff

    files = load_run_files(finished_run)
    px = files.pixel_size
    for name, expected in (("experiment_patch.tif", files.patch), ("simulation.tif", files.simulation),
                           ("experiment.tif", files.experiment)):
        with tifffile.TiffFile(finished_run / name) as tif:
            assert tif.is_imagej and tif.imagej_metadata["unit"] == "nm"
            page = tif.pages[0]
            assert page.dtype == np.float32
            num, den = page.tags["XResolution"].value
            assert den / num * 10.0 == pytest.approx(px, rel=1e-6)  # nm per pixel -> Å
            np.testing.assert_allclose(page.asarray(), expected.astype(np.float32))
        axes = read_tiff(str(finished_run / name))[0]["axes"]
        assert [a["scale"] * 10.0 for a in axes] == pytest.approx([px, px], rel=1e-6)
    sig = read_hspy(str(finished_run / "results.hspy"))[0]
    assert sig["data"].shape == (2, *files.simulation.shape)
    y, x = [a for a in sig["axes"] if not a["navigate"]]
    assert (y["scale"], y["units"]) == (pytest.approx(px), "Å") and (x["scale"], x["units"]) == (pytest.approx(px), "Å")
    np.testing.assert_allclose(sig["data"][0], files.patch.astype(np.float32))


def test_extxyz_keeps_grain_labels(tmp_path: Path) -> None:
    from ase.io import read
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(4.0), ["Cd", "Te", "Cd", "Te"],
                  [[0, 0, 0], [0.25, 0.25, 0.25], [0.5, 0.5, 0.6], [0.75, 0.75, 0.85]],
                  site_properties={"grain": [0, 0, 1, 1]})
    write_extxyz(tmp_path / "structure.xyz", s)
    atoms = read(tmp_path / "structure.xyz", format="extxyz")
    assert list(atoms.arrays["grain"]) == [0, 0, 1, 1]
    assert atoms.get_chemical_symbols() == ["Cd", "Te", "Cd", "Te"]


def _copy_run(src: Path, dst: Path, skip: tuple[str, ...] = ()) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        if p.is_file() and p.name not in skip:
            (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_incomplete_or_foreign_run_directory_is_one_clear_error(finished_run: Path, tmp_path: Path) -> None:
    broken = _copy_run(finished_run, tmp_path / "no-sim", skip=("simulation.npy",))
    with pytest.raises(RunDirectoryError, match="simulation.npy is missing"):
        load_run_files(broken)
    proc = run_cli(["report", str(broken)])
    assert proc.returncode == 2 and "simulation.npy is missing" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli(["frames", str(broken)])
    assert proc.returncode == 2 and "simulation.npy is missing" in proc.stderr and "Traceback" not in proc.stderr
    old = _copy_run(finished_run, tmp_path / "old")
    best = json.loads((old / "best.json").read_text())
    del best["patch"]
    (old / "best.json").write_text(json.dumps(best))
    with pytest.raises(RunDirectoryError, match=r"best.json lacks patch.*not a run this version can read"):
        load_run_files(old)


def test_an_output_that_cannot_be_written_leaves_the_results_intact(finished_run: Path, tmp_path: Path,
                                                                    lattice_plugin: Path) -> None:
    run = _copy_run(finished_run, tmp_path / "run")
    (run / "report.html").unlink()
    (run / "report.html").mkdir()  # something in the way: the page cannot replace it
    (run / "fused.png").unlink()
    (run / "fused.png").mkdir()
    kept = {n: (run / n).read_bytes() for n in ("simulation.npy", "experiment.npy", "progress.csv", "config.toml")}
    result = finish_run(run)
    assert set(result.failed) >= {"fused.png", "report.html"}
    assert str(run / "report.html") in result.failed["report.html"]
    assert (run / "simulation.tif").is_file()  # the other outputs are still written
    assert {n: (run / n).read_bytes() for n in kept} == kept
    assert json.loads((run / "best.json").read_text())["fom"] == json.loads((finished_run / "best.json").read_text())["fom"]
    proc = run_cli(["report", "--outputs", str(run)])
    assert proc.returncode == 2 and f"{run / 'report.html'}" in proc.stderr and "intact" in proc.stderr
