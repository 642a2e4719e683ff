"""Multi-start on warm workers: 8 starts of the twin on 2 workers against a serial run that
builds the problem once (issue 18, item 3).

The CdTe twin (examples/cdte_twin/fuse.toml, crop fixed at the paper's best 195 x 153),
``--starts`` starts (start 0 the published start, the others seeded uniform draws in the
box, as ``fuse --starts`` makes them), each exactly ``--evals`` evaluations, every leg with
one BLAS/FFT thread per process. The start tasks are the engine's own
(``multistart.run_start_task``), which take the problem from the worker's kept one
(``engine/problem_cache.py``).

Warm legs (timed from the first submission to the last result):

- ``serial``: in this process, the problem built once beforehand, the starts one after another;
- ``processes``: a local process pool of ``--workers`` processes, each of which built the
  problem in its initializer before the timing starts;
- ``dask``: a ``LocalCluster`` of ``--workers`` single-threaded processes, each of which
  built the problem (``Client.run(prepare_worker, ...)``) before the timing starts.

Each warm leg first runs one short start per worker (``--warmup-evals``) so that the
registration's caches of the experiment are filled alike in every leg. Cold legs (beside
them): the whole ``fuse --starts`` with ``optimizer.executor`` serial / processes / dask, the
pool or cluster started and every problem built inside the timing. Every leg must give the
same FOM and evaluation count per start, and the same progress rows.

    python benchmarks/bench_multistart_warm.py [--starts 8] [--workers 2] [--evals 300] [--repeats 2] [--out DIR]

Writes ``multistart-warm-<YYYYmmdd-HHMMSS>.json`` into ``--out`` (default: a new
``./ingrained-benchmark-multistart-<timestamp>/``).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # every leg alike: one thread per process (before numpy is imported)

import argparse
import csv
import datetime as dt
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "examples" / "cdte_twin" / "fuse.toml"
CROP = ["forward_model.params.crop_height={ start = 195, fixed = true }",
        "forward_model.params.crop_width={ start = 153, fixed = true }"]


def _warm_worker(payload: dict, out_dir: str, x0: list[float], evals: int) -> int:
    """Build (keep) the problem and run one short start: this worker's caches filled."""
    from ingrained_core.engine.multistart import run_start_task
    from ingrained_core.engine.problem_cache import prepare_worker
    from ingrained_core.engine.start_runner import Budget

    prepare_worker(payload)
    run_start_task(payload, f"{out_dir}/{os.getpid()}", 99, x0, Budget(max_evals=evals).payload())
    return os.getpid()


def _pool_init(payload: dict, out_dir: str, x0: list[float], evals: int) -> None:
    from ingrained_core.engine.parallel import die_with_parent

    die_with_parent()
    _warm_worker(payload, out_dir, x0, evals)


def _pid() -> int:
    time.sleep(0.2)  # long enough that the pool starts a second process for the second call
    return os.getpid()


def start_task(payload: dict, out_dir: str, index: int, x0: list[float], budget: dict) -> dict:
    """The engine's start task; a start without a feasible evaluation becomes a failed record
    (as ``fuse`` reports it) instead of ending the benchmark."""
    from ingrained_core.engine.multistart import run_start_task
    from ingrained_core.plugin.errors import IngrainedError

    try:
        return run_start_task(payload, out_dir, index, x0, budget)
    except IngrainedError as exc:
        return {"start": index, "status": "failed", "error": str(exc)}


def _tasks(payload: dict, out: Path, points: list, evals: int) -> list[tuple]:
    from ingrained_core.engine.start_runner import Budget

    budget = Budget(max_evals=evals).payload()
    return [(payload, str(out / "starts" / f"{i:02d}"), i, p.tolist(), budget) for i, p in enumerate(points)]


def _summary(records: list[dict], out: Path) -> dict:
    recs = sorted(records, key=lambda r: r["start"])
    rows = []
    for r in recs:
        log = out / "starts" / f"{r['start']:02d}" / "progress.csv"
        with open(log) if log.exists() else open(os.devnull) as fh:
            rows.append([{k: v for k, v in row.items() if k != "elapsed_s"} for row in csv.DictReader(fh)])
    return {"foms": [r.get("fom") for r in recs], "evals": [r.get("evaluations") for r in recs], "_rows": rows,
            "failed": [r["start"] for r in recs if r.get("status") == "failed"]}


def warm_serial(payload: dict, points: list, args: argparse.Namespace, out: Path) -> dict:
    _warm_worker(payload, str(out / "warmup"), points[0].tolist(), args.warmup_evals)
    t0 = time.perf_counter()
    records = [start_task(*t) for t in _tasks(payload, out, points, args.evals)]
    wall = time.perf_counter() - t0
    return {"wall_s": wall, **_summary(records, out)}


def warm_processes(payload: dict, points: list, args: argparse.Namespace, out: Path) -> dict:
    init = (payload, str(out / "warmup"), points[0].tolist(), args.warmup_evals)
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_pool_init, initargs=init) as pool:
        pids: set[int] = set()
        while len(pids) < args.workers:  # every worker started (and warmed by its initializer)
            pids |= {f.result() for f in [pool.submit(_pid) for _ in range(args.workers)]}
        t0 = time.perf_counter()
        futures = [pool.submit(start_task, *t) for t in _tasks(payload, out, points, args.evals)]
        records = [f.result() for f in as_completed(futures)]
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "workers_seen": len(pids), **_summary(records, out)}


def warm_dask(payload: dict, points: list, args: argparse.Namespace, out: Path) -> dict:
    from distributed import Client

    from ingrained_core.engine.parallel import dask_map, local_cluster

    cluster = local_cluster(args.workers)
    client = Client(cluster)
    try:
        client.wait_for_workers(args.workers)
        warmed = client.run(_warm_worker, payload, str(out / "warmup"), points[0].tolist(), args.warmup_evals)
        t0 = time.perf_counter()
        records = []
        for _, rec, err in dask_map(start_task, _tasks(payload, out, points, args.evals), client=client):
            if err is not None:
                raise err
            records.append(rec)
        wall = time.perf_counter() - t0
    finally:
        client.close()
        cluster.close()
    return {"wall_s": wall, "workers_seen": len(warmed), **_summary(records, out)}


def cold(executor: str, args: argparse.Namespace, out: Path) -> dict:
    """The whole ``fuse --starts`` (pool or cluster start-up and every problem build timed)."""
    from ingrained_core.apps.api import fuse

    overrides = [*CROP, f'optimizer.executor="{executor}"', f"optimizer.workers={args.workers}",
                 "optimizer.time_limit=3600"]
    from ingrained_core.engine.reporting import QuietReporter

    t0 = time.perf_counter()
    result = fuse(CONFIG, out, overrides=overrides, starts=args.starts, seed=0, max_evals=args.evals, force=True,
                  reporter=QuietReporter("cold"))
    wall = time.perf_counter() - t0
    return {"wall_s": wall, **_summary(result.starts, out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--evals", type=int, default=300, help="evaluations per start")
    parser.add_argument("--warmup-evals", type=int, default=10, help="evaluations of each worker's warm-up start")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each warm leg (interleaved); the fastest counts")
    parser.add_argument("--no-cold", action="store_true", help="leave out the cold legs")
    parser.add_argument("--legs", default="serial,processes,dask", help="warm legs to run (serial always runs)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or Path.cwd() / f"ingrained-benchmark-multistart-{stamp}"
    from ingrained_core.apps.benchmark import machine, reference_workload
    from ingrained_core.engine.config import load_config
    from ingrained_core.engine.multistart import start_points
    from ingrained_core.engine.payload import config_to_payload
    from ingrained_core.engine.problem import build_problem

    cfg = load_config(CONFIG, CROP)
    payload = config_to_payload(cfg)
    points = start_points(build_problem(cfg), args.starts, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="ingrained-bench-warm-"))
    ref_before = reference_workload()
    warm_legs = {"serial": warm_serial, "processes": warm_processes, "dask": warm_dask}
    chosen = {"serial", *args.legs.split(",")}
    warm_legs = {k: v for k, v in warm_legs.items() if k in chosen}
    runs: dict[str, list[dict]] = {k: [] for k in warm_legs}
    for r in range(args.repeats):  # interleaved: a change of the machine's load hits every leg alike
        for name, leg in warm_legs.items():
            runs[name].append(leg(payload, points, args, tmp / f"warm-{name}-{r}"))
            print(f"warm {name} run {r}: {runs[name][-1]['wall_s']:.2f} s", file=sys.stderr)
    warm = {k: min(v, key=lambda x: x["wall_s"]) for k, v in runs.items()}
    cold_legs: dict[str, dict] = {}
    if not args.no_cold:
        for executor in ("serial", "processes", "dask"):
            cold_legs[executor] = cold(executor, args, tmp / f"cold-{executor}")
            print(f"cold {executor}: {cold_legs[executor]['wall_s']:.2f} s", file=sys.stderr)
    ref_after = reference_workload()
    reference = warm["serial"]
    every = [*warm.values(), *cold_legs.values()]
    same = all(x["foms"] == reference["foms"] and x["evals"] == reference["evals"] for x in every)
    same_rows = all(x["_rows"] == reference["_rows"] for x in every)
    serial_s = warm["serial"]["wall_s"]
    result = {
        "benchmark": f"{args.starts} starts of the CdTe twin (crop 195 x 153, {args.evals} evaluations each) on "
                     f"{args.workers} warm workers against a serial run that builds the problem once",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/bench_multistart_warm.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "out": str(out_dir),
        "starts": args.starts, "workers": args.workers, "evals_per_start": args.evals,
        "blas_threads": 1,
        "warm_wall_s": {k: round(v["wall_s"], 3) for k, v in warm.items()},
        "warm_wall_s_all_runs": {k: [round(x["wall_s"], 3) for x in v] for k, v in runs.items()},
        "warm_speed_up": {k: round(serial_s / v["wall_s"], 3) for k, v in warm.items() if k != "serial"},
        "cold_wall_s": {k: round(v["wall_s"], 3) for k, v in cold_legs.items()},
        "cold_speed_up": ({k: round(cold_legs["serial"]["wall_s"] / v["wall_s"], 3)
                           for k, v in cold_legs.items() if k != "serial"} if cold_legs else {}),
        "target_speed_up": 1.8,
        "ideal_speed_up": min(args.workers, os.cpu_count() or 1, args.starts),
        "workers_warmed": {k: v.get("workers_seen") for k, v in warm.items() if k != "serial"},
        "same_foms_and_evaluations_per_start": bool(same),
        "same_progress_rows_per_start": bool(same_rows),
        "per_start_fom": [None if f is None else round(f, 6) for f in reference["foms"]],
        "failed_starts": reference["failed"],
        "evaluations_total": sum(e or 0 for e in reference["evals"]),
        "reference_workload_s": [round(ref_before, 4), round(ref_after, 4)],
        "machine": machine(),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"multistart-warm-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {path}")
    return 0 if same and same_rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
