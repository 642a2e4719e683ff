"""Screening throughput: candidates a minute of ``ingrained screen`` on the CdTe twin (issue 18,
item 3).

The candidates are the twin recipe's own (examples/cdte_twin/bicrystal.json: 6 upper-grain
cuts x 2 interface positions = 12 structures, enumerated and written as POSCAR files before
the timing), screened into the twin image of examples/cdte_twin/fuse.toml with the crop fixed
at the paper's best (195 x 153) and ``--evals`` evaluations a candidate. Legs, each timed from
the call of ``screen`` to its return (ranking, contact sheet and report written):

- ``serial``: the candidates one after another in this process;
- ``dask warm``: on a ``LocalCluster`` of ``--workers`` single-threaded processes started (and
  given one warm-up candidate each) before the timing;
- ``dask cold``: ``executor="dask"`` with ``--workers`` workers, the cluster started inside the
  timing;
- ``serial, full outputs``: as ``serial`` with every output of a run directory a candidate
  (``candidate_outputs="full"``: 300-dpi figure set, TIFFs, report), what a screen wrote
  before the light outputs became its default.

Every leg must rank the candidates alike with the same FOMs. One BLAS/FFT thread per process.

    python benchmarks/bench_screen.py [--evals 30] [--workers 2] [--out DIR]

Writes ``screen-<YYYYmmdd-HHMMSS>.json`` and ``.md`` into ``--out`` (default: a new
``./ingrained-benchmark-screen-<timestamp>/``).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # every leg alike: one thread per process (before numpy is imported)

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TWIN = REPO / "examples" / "cdte_twin"
CROP = ["forward_model.params.crop_height={ start = 195, fixed = true }",
        "forward_model.params.crop_width={ start = 153, fixed = true }"]


def write_candidates(folder: Path) -> list[Path]:
    """The twin recipe's candidates as POSCAR files in ``folder`` (their enumeration order)."""
    from ingrained_core.builtins.structures.bicrystal import BicrystalBuilder
    from ingrained_core.builtins.structures.enumerate import enumerate_candidates

    recipe = json.loads((TWIN / "bicrystal.json").read_text())
    for k in ("slab_1", "slab_2"):
        recipe[k]["unit_cell"] = str(TWIN / recipe[k]["unit_cell"])
    recipe.pop("builder", None)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, cand in enumerate(enumerate_candidates(BicrystalBuilder.Config.model_validate(recipe))):
        path = folder / f"cand{i:02d}.vasp"
        cand.result.structure.to(filename=str(path), fmt="poscar")
        paths.append(path)
    return paths


def _leg(name: str, files: list[Path], out: Path, overrides: list[str], **kwargs) -> dict:
    from ingrained_core.apps.screen import screen

    t0 = time.perf_counter()
    res = screen(TWIN / "fuse.toml", files, out, overrides=overrides, **kwargs)
    wall = time.perf_counter() - t0
    ranking = [(Path(r["candidate"]).name, r["fom"], r["evaluations"], r["status"]) for r in res.rows]
    print(f"{name}: {len(files)} candidates in {wall:.1f} s = {60 * len(files) / wall:.1f} a minute", flush=True)
    return {"leg": name, "wall_s": round(wall, 3), "candidates": len(files),
            "candidates_per_minute": round(60 * len(files) / wall, 2), "ranking": ranking}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evals", type=int, default=30, help="evaluations a candidate (optimizer.max_evals)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = (args.out or Path(f"ingrained-benchmark-screen-{stamp}")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    overrides = [*CROP, f"optimizer.max_evals={args.evals}"]

    from ingrained_core.engine.parallel import local_cluster

    with tempfile.TemporaryDirectory(prefix="ingrained-bench-screen-") as tmp:
        tmp_path = Path(tmp)
        files = write_candidates(tmp_path / "candidates")
        legs = [_leg("serial", files, tmp_path / "serial", overrides, executor="serial")]
        cluster = local_cluster(args.workers)
        try:
            address = cluster.scheduler_address
            _leg("dask warm-up (not counted)", files[: args.workers], tmp_path / "warmup", overrides, scheduler=address)
            legs.append(_leg("dask warm", files, tmp_path / "dask-warm", overrides, scheduler=address))
        finally:
            cluster.close()
        legs.append(_leg("dask cold", files, tmp_path / "dask-cold", overrides, executor="dask", workers=args.workers))
        legs.append(_leg("serial, full outputs", files, tmp_path / "serial-full", overrides, executor="serial",
                         candidate_outputs="full"))
    same = all(leg["ranking"] == legs[0]["ranking"] for leg in legs)
    serial = legs[0]["wall_s"]
    for leg in legs:
        leg["ratio_to_serial"] = round(serial / leg["wall_s"], 3)
    record = {
        "benchmark": "screen", "date": dt.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "evals_per_candidate": args.evals, "workers": args.workers,
        "crop": [195, 153], "identical_rankings": same, "legs": legs,
    }
    path = out / f"screen-{stamp}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    lines = [f"# Screening throughput ({stamp}; {len(files)} twin-recipe candidates, {args.evals} evaluations each, "
             f"crop 195 x 153, {os.cpu_count()} CPUs)", "",
             "| leg | wall (s) | candidates a minute | serial / leg |", "|---|---:|---:|---:|"]
    lines += [f"| {leg['leg']} | {leg['wall_s']:.1f} | {leg['candidates_per_minute']:.1f} | {leg['ratio_to_serial']:.2f} |"
              for leg in legs]
    lines += ["", f"identical rankings and FOMs in every leg: {same}"]
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(path)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
