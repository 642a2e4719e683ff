"""Bad experimental image files through the real CLI: ``ingrained fuse`` and ``ingrained preview``.

Every case must end with one ``error:`` line (exit code 2, no traceback) naming the file and
what was expected, and ``fuse`` must not create the run directory. Truncated files are cut
from the real DM3 and TIFF of examples/ at several lengths. No truncated SXM or DM4
sample can be made here (no such file exists in the examples and no writer for either
format is installed), so those two are not tried.

All cases run once per module through the real entry point, in two interpreters that each
take half of them (``run_cli_batch``: the start-up, ~1 s of CPU a command, is paid twice,
not once per case); the tests then check one case each.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from ..conftest import EXAMPLES, real_file, run_cli_batch, write_config
from .conftest import assert_user_error

DM3 = EXAMPLES / "cdte_twin" / "HAADF26.dm3"
TIF = EXAMPLES / "ni_m3b2" / "HAADF91.tif"
STM = EXAMPLES / "cu2o_111" / "03h_Cu2O_111_034_fwd_z_plane.txt"

#: case -> (expected words in the message, extra config text); the file is made by _make
CASES: dict[str, tuple[tuple[str, ...], str]] = {
    **{f"dm3-cut-{f}": (("truncated or corrupt", "DM3"), "") for f in ("0.001", "0.3", "0.9", "0.9999")},
    **{f"tif-cut-{f}": (("truncated or corrupt", "TIFF"), "") for f in ("0.001", "0.5", "0.99")},
    **{f"tifffile-cut-{f}": (("truncated or corrupt", "TIFF"), "") for f in ("0.01", "0.5", "0.999")},
    "npy-cut": (("truncated or corrupt",), ""),
    "stm-text-cut": (("line", "values", "truncated or corrupt"), ""),
    "zero-byte": (("empty (0 bytes)",), ""),
    "text-as-dm3": (("extension .dm3", "does not match"), ""),
    "directory": (("is a directory",), ""),
    "missing": (("not found",), ""),
    "nan": (("NaN or infinite",), ""),
    "inf": (("NaN or infinite",), ""),
    "nan-tiff": (("NaN or infinite",), ""),
    "constant": (("constant", "nothing to register"), ""),
    "constant-region": (("constant", "region"), ""),
    "one-d": (("1-D", "expected a 2-D image"), ""),
    "stack": (("stack of 3 images", "frame = 0..2"), ""),
    "stack-bad-frame": (("frame must be an integer in 0..2",), ""),
    "four-d": (("4-D", "expected a 2-D image"), ""),
    "pickled": (("pickle",), ""),
    "complex": (("complex",), ""),
    "smaller-than-crop": (("smaller than the simulation", "crop_height"), ""),
    "region-outside": (("experiment.region", "does not fit"), ""),
}
#: cases only ``fuse`` can detect (they need the model's crop size)
FUSE_ONLY = {"smaller-than-crop"}
#: (case, command) pairs run by default; the others are marked slow (the whole matrix takes ~45 s)
FAST = {(c, "fuse") for c in ("dm3-cut-0.3", "tif-cut-0.5", "tifffile-cut-0.5", "zero-byte", "text-as-dm3",
                              "directory", "missing", "nan", "constant", "one-d", "stack", "smaller-than-crop")}
FAST |= {(c, "preview") for c in ("dm3-cut-0.9", "zero-byte", "missing", "inf", "stack")}


def _cut(src: Path, frac: float, dst: Path) -> Path:
    if src.is_relative_to(EXAMPLES):
        real_file(src.relative_to(EXAMPLES).as_posix())  # a real file: fails (never skips) when missing
    raw = src.read_bytes()
    dst.write_bytes(raw[: max(1, int(len(raw) * frac))])
    return dst


def _make(case: str, d: Path, lattice: np.ndarray) -> tuple[Path, str]:
    """Write the bad file of ``case`` in ``d``; return it and extra [experiment] TOML lines."""
    import tifffile

    if case.startswith("dm3-cut-"):
        return _cut(DM3, float(case.rsplit("-", 1)[1]), d / "cut.dm3"), ""
    if case.startswith("tif-cut-"):
        return _cut(TIF, float(case.rsplit("-", 1)[1]), d / "cut.tif"), ""
    if case.startswith("tifffile-cut-"):  # header first, pixel data last: truncation loses pixels
        full = d / "full.tif"
        tifffile.imwrite(full, lattice.astype(np.float32))
        return _cut(full, float(case.rsplit("-", 1)[1]), d / "cut.tif"), ""
    if case == "npy-cut":
        full = d / "full.npy"
        np.save(full, lattice)
        return _cut(full, 0.6, d / "cut.npy"), ""
    if case == "stm-text-cut":  # cut in the middle of a row
        return _cut(STM, 0.5, d / "cut.txt"), ""
    if case == "zero-byte":
        (d / "empty.dm3").write_bytes(b"")
        return d / "empty.dm3", ""
    if case == "text-as-dm3":
        (d / "notes.dm3").write_text("my notes from the session, not an image\n")
        return d / "notes.dm3", ""
    if case == "directory":
        (d / "images.dm3").mkdir()
        return d / "images.dm3", ""
    if case == "missing":
        return d / "nothere.dm3", ""
    arrays = {
        "nan": lambda: np.where(np.arange(lattice.size).reshape(lattice.shape) == 77, np.nan, lattice),
        "inf": lambda: np.where(np.arange(lattice.size).reshape(lattice.shape) == 5, np.inf, lattice),
        "constant": lambda: np.full((141, 151), 3.5),
        "one-d": lambda: lattice[0],
        "stack": lambda: np.stack([lattice] * 3),
        "stack-bad-frame": lambda: np.stack([lattice] * 3),
        "four-d": lambda: lattice.reshape(1, 1, *lattice.shape).repeat(2, axis=0).repeat(2, axis=1),
        "complex": lambda: lattice.astype(complex),
        "smaller-than-crop": lambda: lattice[:41, :45],
        "region-outside": lambda: lattice,
    }
    extra = {"stack-bad-frame": "reader_options = { frame = 7 }\n", "region-outside": "region = [0, 500, 0, 20]\n",
             "constant-region": "region = [0, 40, 0, 40]\n"}.get(case, "")
    if case == "constant-region":
        img = lattice.copy()
        img[:60, :60] = 1.0
        np.save(d / "img.npy", img)
        return d / "img.npy", extra
    if case == "nan-tiff":
        img = lattice.astype(np.float32)
        img[10, 10] = np.nan
        tifffile.imwrite(d / "img.tif", img)
        return d / "img.tif", ""
    if case == "pickled":
        np.save(d / "img.npy", np.array([{"not": "an image"}], dtype=object), allow_pickle=True)
        return d / "img.npy", ""
    np.save(d / "img.npy", arrays[case]())
    return d / "img.npy", extra


def _config_for(case: str, d: Path, lattice: np.ndarray) -> Path:
    image, extra = _make(case, d, lattice)
    cfg = write_config(d, image.name, max_evals=3)
    if extra:  # lines of the [experiment] table go right after its path
        text = cfg.read_text().replace(f'path = "{image.name}"\n', f'path = "{image.name}"\n{extra}', 1)
        cfg.write_text(text)
    return cfg


def _selected(session: pytest.Session) -> set[tuple[str, str]]:
    """The (case, command) pairs of this module's matrix that this session will run."""
    out = set()
    for item in session.items:
        cs = getattr(item, "callspec", None)
        if item.originalname == "test_bad_image_gives_one_clear_error" and cs is not None:
            out.add((cs.params["case"], cs.params["command"]))
    return out


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, lattice_npy: Path,
             site: Path) -> dict[tuple[str, str], tuple[subprocess.CompletedProcess, Path]]:
    """Run ``fuse``/``preview`` on the selected cases, concurrently; (case, command) -> (process, target)."""
    lattice = np.load(lattice_npy)
    root = tmp_path_factory.mktemp("bad-images")
    wanted = _selected(request.session)
    jobs = []
    for case in sorted({c for c, _ in wanted}):
        d = root / case
        d.mkdir()
        cfg = _config_for(case, d, lattice)
        if (case, "fuse") in wanted:
            jobs.append((case, "fuse", ["fuse", str(cfg), "--out", str(d / "run"), "--quiet"], d / "run"))
        if (case, "preview") in wanted and case not in FUSE_ONLY:
            jobs.append((case, "preview", ["preview", str(cfg), "--out", str(d / "preview.png")], d / "preview.png"))
    procs = run_cli_batch([j[2] for j in jobs], env={"PYTHONPATH": str(site)}, cwd=root)
    return {(j[0], j[1]): (p, j[3]) for j, p in zip(jobs, procs)}


@pytest.mark.parametrize(("case", "command"), [
    pytest.param(c, m, id=f"{c}-{m}", marks=() if (c, m) in FAST else (pytest.mark.slow,))
    for c in CASES for m in ("fuse", "preview") if not (m == "preview" and c in FUSE_ONLY)
])
def test_bad_image_gives_one_clear_error(outcomes, case: str, command: str) -> None:
    assert (case, command) in outcomes, f"case {case} ({command}) was not run"
    proc, target = outcomes[(case, command)]
    needles, _ = CASES[case]
    line = assert_user_error(proc, *needles)
    if case not in ("smaller-than-crop", "region-outside"):
        # the message names the file (by its path)
        assert any(name in line for name in ("cut.", "empty.dm3", "notes.dm3", "images.dm3", "nothere.dm3",
                                             "img.npy", "img.tif")), line
    assert not target.exists(), f"{command} wrote {target} although the input is bad"


def test_stack_with_a_frame_runs(cli, lattice_npy: Path, tmp_path: Path) -> None:
    """A 3-D stack is refused without a frame and used with ``reader_options.frame``."""
    lattice = np.load(lattice_npy)
    np.save(tmp_path / "stack.npy", np.stack([lattice * 0.5, lattice, lattice * 2]))
    cfg = write_config(tmp_path, "stack.npy", max_evals=3)
    cfg.write_text(cfg.read_text().replace('path = "stack.npy"\n', 'path = "stack.npy"\nreader_options = { frame = 1 }\n'))
    prev = cli("preview", cfg, "--out", tmp_path / "p.png")
    assert prev.returncode == 0, prev.stderr
    assert "frame 1 of a stack of 3" in prev.stdout
    run = cli("fuse", cfg, "--out", tmp_path / "run", "--quiet")
    assert run.returncode == 0, run.stderr
    assert np.array_equal(np.load(tmp_path / "run" / "experiment.npy"), lattice)


def test_a_complete_real_dm3_still_reads(real, tmp_path: Path) -> None:
    """Cutting only the DM3's closing byte loses no image data: it reads, calibrated (not a false alarm)."""
    from ingrained_core.engine.reading import read_image

    src = real("cdte_twin/HAADF26.dm3")
    raw = src.read_bytes()
    (tmp_path / "x.dm3").write_bytes(raw[:-1])
    img = read_image(tmp_path / "x.dm3")
    assert img.shape == (512, 512) and img.pixel_size == pytest.approx(0.20216817, rel=1e-6)
