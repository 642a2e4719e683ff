"""Soak benchmark (issue 9): 10 000 evaluations of the CdTe twin case in one process,
watching memory and file handles.

The problem is built once from ``examples/cdte_twin/fuse.toml`` (real image, published
bicrystal, ``haadf`` model); then ``Problem.evaluate`` runs at seeded random perturbations
of the start point (every free parameter, crop sizes included, so FFT sizes and caches
vary), and each evaluation goes through the run's own I/O as a run would do it: a row
appended to a ``progress.csv`` (``ProgressLog``), ``best.json`` + ``simulation.npy``
written atomically at each improvement. Every ``--checkpoint`` evaluations it records the
resident set size (``VmRSS`` from /proc/self/status), the Python heap traced by
``tracemalloc`` and the number of open file descriptors (/proc/self/fd).

The allocator is set up as a run sets it up (``ingrained_core.engine.memory.tune_allocator``:
glibc's mmap threshold fixed at 256 KiB, so large numpy buffers do not fragment the heap);
``--default-allocator`` measures glibc's defaults instead (the heap then creeps up by
~5 MB per 1000 evaluations: docs/reliability.md).

Growth is measured from the end of a warm-up to the end. RSS is read three ways per
sample: as is (plain RSS, what ``top`` shows), its peak so far (``VmHWM``) and after
``malloc_trim(0)`` (live memory; the trim is the benchmark's, once per sample). Pass:
trimmed-RSS and traced-heap growth < 50 MB, no file-descriptor growth, and - without
tracemalloc, whose own records churn the C heap too - plain-RSS growth < 50 MB.

    python benchmarks/bench_soak.py [--evals 10000] [--checkpoint 500] [--warmup 200] [--out benchmarks/results]
    python benchmarks/bench_soak.py --no-tracemalloc --default-allocator   # glibc's defaults (before the fix)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIMIT_MB = 50.0


def rss_mb(field: str = "VmRSS") -> float:
    """Resident set size of this process in MB (``VmRSS``; ``VmHWM`` is its peak so far)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {field} in /proc/self/status")


def open_fds() -> int:
    """Number of open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def sample(n: int, t0: float) -> dict[str, float]:
    current, peak = tracemalloc.get_traced_memory()  # (0, 0) when not tracing
    from ingrained_core.engine.memory import release_memory

    rss, peak_rss = rss_mb(), rss_mb("VmHWM")
    release_memory()  # malloc_trim(0): RSS then shows live memory (and free heap pages cut to the page)
    return {"evaluations": n, "elapsed_s": round(time.perf_counter() - t0, 3), "rss_mb": round(rss, 2),
            "peak_rss_mb": round(peak_rss, 2),
            "rss_trimmed_mb": round(rss_mb(), 2), "traced_mb": round(current / 2**20, 3),
            "traced_peak_mb": round(peak / 2**20, 3), "fds": open_fds()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--evals", type=int, default=10_000)
    ap.add_argument("--checkpoint", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=0.08, help="perturbation (fraction of each parameter's range)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", type=Path, default=REPO / "examples" / "cdte_twin" / "fuse.toml")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--no-tracemalloc", dest="trace", action="store_false",
                    help="RSS and descriptors only (tracemalloc slows every allocation 2-4x)")
    ap.add_argument("--tag", default="", help="appended to the result file's name (soak-<date>[-rss]<tag>.json)")
    ap.add_argument("--default-allocator", dest="tune", action="store_false",
                    help="keep glibc's default (dynamic) mmap threshold instead of tune_allocator()")
    args = ap.parse_args(argv)

    from ingrained_core.engine.memory import tune_allocator

    tuned = tune_allocator() if args.tune else False

    from ingrained_core.plugin import files as atomic
    from ingrained_core.engine.config import load_config
    from ingrained_core.engine.problem import build_problem
    from ingrained_core.engine.progress import ProgressLog

    cfg = load_config(args.config)
    problem = build_problem(cfg)
    space = problem.space
    x0 = space.x0
    rng = np.random.default_rng(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="ingrained-soak-"))
    log = ProgressLog(workdir / "progress.csv", space.names)

    suffix = ("" if args.trace else "-rss") + ("" if args.tune else "-default-allocator") + args.tag
    partial = args.out / f"soak-{dt.date.today().isoformat()}{suffix}.partial.json"
    if args.trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    samples = [sample(0, t0)]
    baseline: dict[str, float] | None = None
    best = np.inf
    times: list[float] = []
    infeasible = improvements = 0
    for n in range(1, args.evals + 1):
        x = np.clip(x0 + rng.normal(0.0, args.sigma, size=x0.shape), 0.0, 1.0)
        values = space.values(x)
        te = time.perf_counter()
        ev = problem.evaluate(values)
        times.append(time.perf_counter() - te)
        log.append({"eval": n, "elapsed_s": round(time.perf_counter() - t0, 6), **ev.values,
                    "d_trans": ev.d_trans, "d_sim": ev.d_sim, "fom": ev.fom})
        if not ev.feasible:
            infeasible += 1
        elif ev.fom < best:
            best = ev.fom
            improvements += 1
            atomic.write_npy(workdir / "simulation.npy", ev.simulation)
            atomic.write_json(workdir / "best.json", {"fom": ev.fom, "evaluation": n, "params": ev.values})
        if n == args.warmup:
            baseline = sample(n, t0)
            samples.append(baseline)
        elif n % args.checkpoint == 0 or n == args.evals:
            samples.append(sample(n, t0))
            s = samples[-1]
            print(f"{n:6d} evals  {s['elapsed_s']:8.1f} s  RSS {s['rss_mb']:8.1f} MB (peak {s['peak_rss_mb']:.1f},"
                  f" trimmed {s['rss_trimmed_mb']:.1f})"
                  f"  traced {s['traced_mb']:7.2f} MB"
                  f"  fds {s['fds']}", flush=True)
            # figures so far, in case a long run on a busy machine is stopped before the end
            args.out.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({"benchmark": "soak", "complete": False, "samples": samples}, indent=2))
    log.close()
    final = samples[-1]
    tracemalloc.stop()
    assert baseline is not None
    rss_growth = final["rss_mb"] - baseline["rss_mb"]
    peak_growth = final["peak_rss_mb"] - baseline["peak_rss_mb"]
    trimmed_growth = final["rss_trimmed_mb"] - baseline["rss_trimmed_mb"]
    traced_growth = final["traced_mb"] - baseline["traced_mb"]
    fd_growth = final["fds"] - baseline["fds"]
    with open(workdir / "progress.csv") as fh:
        rows = sum(1 for _ in fh) - 1
    result = {
        "benchmark": "soak",
        "date": dt.date.today().isoformat(),
        "command": "python benchmarks/bench_soak.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "config": str(args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config),
        "free_parameters": space.free_names,
        "evaluations": args.evals,
        "progress_rows_written": rows,
        "improvements_written": improvements,
        "infeasible": infeasible,
        "best_fom": None if not np.isfinite(best) else best,
        "median_eval_ms": round(1000 * statistics.median(times), 3),
        "total_s": final["elapsed_s"],
        "warmup_evaluations": args.warmup,
        "baseline": baseline,
        "final": final,
        "growth": {"rss_mb": round(rss_growth, 2), "peak_rss_mb": round(peak_growth, 2),
                   "rss_trimmed_mb": round(trimmed_growth, 2),
                   "traced_mb": round(traced_growth, 3), "fds": fd_growth},
        "limit_mb": LIMIT_MB,
        "tracemalloc": args.trace,
        "allocator": ("tune_allocator(): mmap threshold 256 KiB, trim threshold 64 MiB" if tuned else
                      "glibc defaults (dynamic mmap threshold)" if not args.tune else
                      "tune_allocator() not applied (not glibc, or MALLOC_*_ set in the environment)"),
        # plain RSS (what a user sees; judged without tracemalloc, whose own per-block records
        # churn the C heap too), live memory (RSS after malloc_trim) and the traced heap
        "pass": bool((args.trace or rss_growth < LIMIT_MB) and trimmed_growth < LIMIT_MB and traced_growth < LIMIT_MB
                     and fd_growth <= 0 and rows == args.evals),
        "samples": samples,
        "note": ("tracemalloc on for the whole run (it slows evaluations); " if args.trace else
                 "tracemalloc off (traced figures are 0); ") + "RSS includes numpy/FFT buffers outside the traced heap",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"soak-{result['date']}{suffix}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    partial.unlink(missing_ok=True)
    print(f"RSS growth {rss_growth:+.1f} MB (peak {peak_growth:+.1f}, after malloc_trim {trimmed_growth:+.1f} MB), traced heap growth {traced_growth:+.2f} MB, fd growth {fd_growth:+d} "
          f"over {args.evals - args.warmup} evaluations after warm-up; median evaluation "
          f"{result['median_eval_ms']:.1f} ms -> {'PASS' if result['pass'] else 'FAIL'}; wrote {out}")
    for p in workdir.iterdir():
        p.unlink()
    workdir.rmdir()
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
