"""The README's commands, run for real on the bundled examples (a fresh clone needs nothing else).

Each command runs as a user types it (``python -m ingrained_core ...`` in a subprocess, in
a temporary working folder, no network, no API key): ``plugins list``, ``build`` (copy and
offline ``--rebuild`` with the shipped unit cells), ``preview``, ``fuse --max-evals 20``,
``resume``, ``simulate --from-run``, ``frames --select best``, ``screen`` (2 candidates),
``benchmark --cases ni --time 3 --samples 5`` and (slow: the fast suite's ``fuse --scheduler``
is tests/scale/test_multistart_dask.py's) ``fuse --scheduler`` on the twin against a
``distributed.LocalCluster`` this test starts on the loopback.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ..conftest import EXAMPLES, real_file, run_cli

TWIN = EXAMPLES / "cdte_twin"
NI = EXAMPLES / "ni_m3b2"
#: no Materials Project key: every command here must work offline
OFFLINE = {"MP_API_KEY": "", "PMG_MAPI_KEY": ""}


def cli(*args: object, cwd: Path, timeout: float = 600):
    proc = run_cli([str(a) for a in args], env=OFFLINE, cwd=cwd, timeout=timeout)
    assert proc.returncode == 0, f"ingrained {' '.join(map(str, args))}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for rel in ("cdte_twin/fuse.toml", "cdte_twin/HAADF26.dm3", "cdte_twin/bicrystal.json",
                "cdte_twin/CdTe_F-43m_a6.629.cif", "ni_m3b2/fuse.toml", "ni_m3b2/HAADF91.tif",
                "ni_m3b2/bicrystal.json", "ni_m3b2/B2Mo3_P4_mbm.cif", "ni_m3b2/Ni_Fm-3m_a3.5058.cif"):
        real_file(rel)
    return tmp_path_factory.mktemp("readme-commands")


@pytest.fixture(scope="module")
def twin_run(work: Path) -> Path:
    """``ingrained fuse examples/cdte_twin/fuse.toml --out runs/twin --max-evals 20``."""
    cli("fuse", TWIN / "fuse.toml", "--out", "runs/twin", "--max-evals", 20, "--quiet", cwd=work)
    return work / "runs" / "twin"


def test_plugins_list(work: Path) -> None:
    rows = json.loads(cli("plugins", "list", "--json", cwd=work).stdout)
    ok = {r["name"] for r in rows if r["status"] == "ok"}
    assert {"haadf", "stm", "bicrystal", "ssim", "powell", "scan-powell"} <= ok
    assert "haadf" in cli("plugins", "list", cwd=work).stdout


def test_fuse_writes_the_run_directory(twin_run: Path) -> None:
    for name in ("fused.png", "best.json", "progress.csv", "simulation.npy", "experiment.npy", "config.toml"):
        assert (twin_run / name).is_file(), name
    best = json.loads((twin_run / "best.json").read_text())
    assert best["evaluations"] <= 20 and np.isfinite(best["fom"])


def test_resume_continues_the_run(twin_run: Path, work: Path) -> None:
    """``resume RUN`` with a larger budget continues the same run: nothing lost or repeated
    (a finished run with the same budget has nothing to resume: tests/run/test_resume.py)."""
    before = (twin_run / "progress.csv").read_text()
    cli("resume", twin_run, "--max-evals", 26, "--quiet", cwd=work)
    rows = (twin_run / "progress.csv").read_text().splitlines()
    assert rows[: len(before.splitlines())] == before.splitlines() and len(rows) > len(before.splitlines())


def test_simulate_from_run_reproduces_the_best(twin_run: Path, work: Path) -> None:
    cli("simulate", "--from-run", twin_run, "--out", "sim.npy", cwd=work)
    sim = np.load(work / "sim.npy")
    assert (work / "sim.png").is_file()
    assert np.array_equal(sim, np.load(twin_run / "simulation.npy"))


def test_frames_best(twin_run: Path, work: Path) -> None:
    cli("frames", twin_run, "--select", "best", cwd=work)
    assert list((twin_run / "frames").glob("*.png"))


def test_preview(work: Path) -> None:
    cli("preview", TWIN / "fuse.toml", "--out", "preview.png", cwd=work)
    from PIL import Image

    with Image.open(work / "preview.png") as im:
        im.verify()


def test_build_copies_and_rebuilds_offline(work: Path) -> None:
    from pymatgen.core import Structure

    published = Structure.from_file(str(TWIN / "bicrystal.POSCAR.vasp"))
    cli("build", TWIN / "bicrystal.json", "--rebuild", "--out", "twin-rebuilt", cwd=work)
    rebuilt = Structure.from_file(str(work / "twin-rebuilt" / "structure.vasp"))
    assert max_offset_after_translation(rebuilt, published) < 0.01
    report = json.loads((work / "twin-rebuilt" / "strain.json").read_text())
    assert report["source"] == "slabs"
    assert {g["bulk"]["source"] for g in report["grains"].values()} == {"unit_cell"}

    cli("build", NI / "bicrystal.json", "--rebuild", "--out", "ni-rebuilt", cwd=work)
    report = json.loads((work / "ni-rebuilt" / "strain.json").read_text())
    published_strains = {"slab_1": {"width": -4.303, "depth": -0.438}, "slab_2": {"width": 4.708, "depth": 0.442}}
    for slab, ref in published_strains.items():
        for direction, value in ref.items():
            assert report["grains"][slab]["strain_percent"][direction] == pytest.approx(value, abs=0.01)
    co = report["coincidence"]
    assert (co["width"]["k1"], co["width"]["k2"], co["depth"]["k1"], co["depth"]["k2"]) == (3, 3, 9, 8)


def max_offset_after_translation(a, b) -> float:
    """The largest distance (Å) of an atom of ``a`` from the same-element atom of ``b`` after
    the rigid translation that best superposes them (tried: every Te of ``a`` onto the
    first Te of ``b``); cells compared in Cartesian coordinates of ``b``'s orthogonal box."""
    from scipy.spatial import cKDTree

    box = np.array(b.lattice.abc)
    pa = np.asarray(a.frac_coords) * box
    pb = np.mod(np.asarray(b.frac_coords) * box, box)
    ea = np.array([x.specie.symbol for x in a])
    eb = np.array([x.specie.symbol for x in b])
    tree = cKDTree(pb, boxsize=box)
    ref = pb[np.nonzero(eb == "Te")[0][0]]
    best = np.inf
    for j in np.nonzero(ea == "Te")[0]:
        d, k = tree.query(np.mod(pa + (ref - pa[j]), box))
        if np.all(eb[k] == ea) and len(set(k)) == len(k):
            best = min(best, float(d.max()))
    return best


def test_screen_two_candidates(work: Path) -> None:
    cands = work / "candidates"
    cands.mkdir()
    (cands / "published.vasp").write_bytes((TWIN / "bicrystal.POSCAR.vasp").read_bytes())
    from pymatgen.core import Structure

    wrong = Structure.from_file(str(TWIN / "bicrystal.POSCAR.vasp"))
    wrong.remove_species(["Te"])  # another motif: no parameter can mimic the missing columns
    wrong.to(filename=str(cands / "no-te.cif"))
    cli("screen", TWIN / "fuse.toml", "--candidates", cands / "published.vasp", cands / "no-te.cif",
        "--out", "screen", "--max-evals", 20, "--executor", "serial", "--quiet", cwd=work)
    import csv

    with open(work / "screen" / "ranking.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [Path(r["candidate"]).name for r in rows] == ["published.vasp", "no-te.cif"]
    assert all(r["status"] == "finished" and int(r["evaluations"]) <= 20 for r in rows)
    assert float(rows[0]["fom"]) < float(rows[1]["fom"])
    assert (work / "screen" / "ranking.md").is_file() and (work / "screen" / "contact_sheet.png").is_file()


def test_benchmark_one_short_case(work: Path) -> None:
    proc = cli("benchmark", "--cases", "ni", "--time", 3, "--samples", 5, cwd=work)
    (folder,) = list(work.glob("ingrained-benchmark-*"))
    (record,) = list(folder.glob("paper-*.json"))
    data = json.loads(record.read_text())
    assert data["complete"] and data["out"] == str(folder.resolve()) and data["runs"] == str((folder / "runs").resolve())
    (case,) = data["cases"]
    assert case["case"] == "ni" and case["mode"] == "structure=published,start=published,refine=none"
    assert case["crop"] == [283, 169] and np.isfinite(case["best_fom"])
    assert (folder / "runs" / "ni" / "best.json").is_file()
    assert str(record) in proc.stdout


@pytest.mark.slow
def test_fuse_on_a_dask_scheduler(work: Path) -> None:
    distributed = pytest.importorskip("distributed")  # a dependency of the core: never skips in CI
    from ingrained_core.engine.parallel import local_cluster

    cluster = local_cluster(1)  # one worker process on the loopback (a free port), no dashboard
    try:
        assert isinstance(cluster, distributed.LocalCluster)
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        cli("fuse", TWIN / "fuse.toml", "--out", "runs/dask", "--starts", 2, "--max-evals", 5,
            "--scheduler", address, "--quiet", cwd=work)
    finally:
        cluster.close()
    run = work / "runs" / "dask"
    best = json.loads((run / "best.json").read_text())
    assert sorted(p.name for p in (run / "starts").iterdir()) == ["00", "01"]
    assert best["start"] in (0, 1) and np.isfinite(best["fom"])
