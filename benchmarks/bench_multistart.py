"""Multi-start on dask: 8 starts on a 2-worker local cluster against the same 8 starts serially.

The CdTe twin (examples/cdte_twin/fuse.toml, crop fixed at the paper's best 195 x 153),
8 starts (start 0 = the published start point, the others seeded uniform draws in the
box), each limited to ``--evals`` evaluations so the run is short and both runs do exactly
the same work. Wall time of the whole ``fuse`` (including, for dask, starting and closing
the local cluster), the speed-up, and a check that every start reached the same FOM in
both runs (the results must not depend on where a start ran).

Each leg runs in its own Python process. The serial leg is run twice: as a user gets it
(numpy's BLAS and FFT may use every core for parts of an evaluation), and with one thread
(OMP/OpenBLAS/MKL_NUM_THREADS=1, as dask gives its worker processes), so the speed-up is
reported against both.

    python benchmarks/bench_multistart.py [--starts 8] [--workers 2] [--evals 300] [--repeats 2] [--out benchmarks/results]

Writes ``multistart-<date>.json`` into the output folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "examples" / "cdte_twin" / "fuse.toml"


def run(executor: str, starts: int, workers: int, evals: int, out: Path) -> tuple[float, list[dict]]:
    from ingrained_core.apps.api import fuse

    overrides = [
        "forward_model.params.crop_height={ start = 195, fixed = true }",
        "forward_model.params.crop_width={ start = 153, fixed = true }",
        f'optimizer.executor="{executor}"', f"optimizer.workers={workers}", "optimizer.time_limit=3600",
    ]
    t0 = time.perf_counter()
    result = fuse(CONFIG, out, overrides=overrides, starts=starts, seed=0, max_evals=evals, force=True)
    return time.perf_counter() - t0, sorted(result.starts, key=lambda r: r["start"])


def leg(kind: str, args: argparse.Namespace, tmp: Path) -> dict:
    """One leg in a fresh Python process: ``serial``, ``serial-1thread`` or ``dask``."""
    env = dict(os.environ)
    if kind == "serial-1thread":
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    executor = "dask" if kind == "dask" else "serial"
    code = (
        "import json, sys; sys.path.insert(0, %r); from bench_multistart import run; "
        "from pathlib import Path; t, recs = run(%r, %d, %d, %d, Path(%r)); "
        "print(json.dumps({'wall_s': t, 'foms': [r['fom'] for r in recs], 'evals': [r['evaluations'] for r in recs]}))"
    ) % (str(Path(__file__).resolve().parent), executor, args.starts, args.workers, args.evals, str(tmp / kind))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--evals", type=int, default=300, help="evaluations per start")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each leg (interleaved); the fastest counts")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if not CONFIG.is_file():
        print(f"twin example not found at {CONFIG}", file=sys.stderr)
        return 2
    from ingrained_core.apps.benchmark import machine, reference_workload

    tmp = Path(tempfile.mkdtemp(prefix="ingrained-bench-multistart-"))
    ref_before = reference_workload()
    kinds = ("serial", "serial-1thread", "dask")
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    for r in range(args.repeats):  # interleaved, so that changes in the machine's load hit every leg alike
        for kind in kinds:
            runs[kind].append(leg(kind, args, tmp / f"r{r}"))
    legs = {k: min(v, key=lambda x: x["wall_s"]) for k, v in runs.items()}
    ref_after = reference_workload()
    serial_s, serial1_s, dask_s = (legs[k]["wall_s"] for k in kinds)
    same = legs["serial"]["foms"] == legs["dask"]["foms"]
    same1 = legs["serial-1thread"]["foms"] == legs["dask"]["foms"]
    result = {
        "benchmark": f"{args.starts} starts of the CdTe twin, serial vs dask LocalCluster({args.workers} workers)",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/bench_multistart.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "starts": args.starts, "workers": args.workers, "evals_per_start": args.evals,
        "evaluations_total": sum(legs["serial"]["evals"]),
        "serial_wall_s": round(serial_s, 2),
        "serial_1thread_wall_s": round(serial1_s, 2),
        "dask_wall_s": round(dask_s, 2),
        "wall_s_all_runs": {k: [round(x["wall_s"], 2) for x in v] for k, v in runs.items()},
        "speed_up": round(serial_s / dask_s, 3),
        "speed_up_vs_1thread": round(serial1_s / dask_s, 3),
        "ideal_speed_up": min(args.workers, os.cpu_count() or 1, args.starts),
        "same_results": bool(same),
        "same_results_1thread": bool(same1),
        "best_fom": min(legs["serial"]["foms"]),
        "per_start_fom": [round(f, 6) for f in legs["serial"]["foms"]],
        "reference_workload_s": [round(ref_before, 4), round(ref_after, 4)],
        "machine": machine(),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"multistart-{dt.date.today().isoformat()}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
