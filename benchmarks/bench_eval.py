"""Cost of one evaluation (simulate + register + FOM) on the paper's cases, as a fraction of
the reference workload (issue 18 target: <= 1 %), split into its parts, and a comparison of
every evaluation's result with another version of the code.

Per case (``examples/`` configs, crop fixed at the paper's best size as in ``ingrained
benchmark``): ``--samples`` distinct parameter sets drawn around the start point exactly as
:func:`ingrained_core.apps.benchmark.time_evaluations` draws them (Gaussian, 5 % of each range),
evaluated cold; the reference workload (20 pairs of 1024 x 1024 ``numpy.fft.rfft2`` /
``irfft2``) is timed before and after every block of evaluations in the same process. The
parts (simulate, register, similarity) are timed on the same simulations separately. The
same figures are also given in CPU time of this process (``time.process_time``), for
evaluation and reference alike: on a machine loaded by other work the wall-clock ratio
swings by tens of per cent from run to run, the CPU-time ratio much less.

``--record FILE`` writes every evaluation's result (FOM, d_trans, d_sim, placement, shift,
coarse placement) of ``--check`` parameter sets per case (seeded: the same sets in every
version); ``--compare REF`` evaluates the same sets and lists every difference, where REF is
such a record or a git revision (a commit, branch or tag of this repository): its tree is
exported with ``git archive`` to a temporary folder and that version's own
``benchmarks/bench_eval.py --record`` runs there (``PYTHONPATH`` pointing at it and its
plugins), then the two are compared. The comparison fails (exit status 1) when an
evaluation's FOM is worse than the reference's by more than ``--tolerance`` (1e-6), or on
any difference at all with ``--exact``.

``--fuse`` times ``ingrained fuse`` on each case in a fresh process: the whole wall time,
and the seconds from the launch until the optimizer stopped (issue 18's convergence
target: set-up included, the run files written afterwards not; from ``best.json``'s
wall-clock segments).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_eval.py --cases twin,ni,cu2o
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_eval.py --samples 0 --check 400 --compare HEAD~3 --exact
    PYTHONPATH=OLD_TREE:OLD_TREE/plugins/ingrained_stem python benchmarks/bench_eval.py --code-from-pythonpath --cases twin,ni
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_eval.py --check 300 --record before.json
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_eval.py --check 300 --compare before.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if "--code-from-pythonpath" not in sys.argv:  # time this checkout's code, not whatever PYTHONPATH holds
    sys.path.insert(0, str(REPO))


def build(case_name: str):
    """The benchmark case's problem (crop fixed at the paper's best size)."""
    from ingrained_core.apps.benchmark import CASES, case_overrides, examples_dir
    from ingrained_core.engine.config import load_config
    from ingrained_core.engine.problem import build_problem

    case = CASES[case_name]
    cfg = load_config(examples_dir() / case.config, case_overrides(case, 300.0))
    return build_problem(cfg)


def time_case(problem, samples: int, blocks: int = 4) -> dict[str, float]:
    """Median evaluation time, its ratio to the reference (per block, median), and the parts."""
    from ingrained_core.apps.benchmark import draw_values, time_blocks

    points = draw_values(problem, samples + 3, seed=1)
    for v in points[:3]:
        problem.evaluate(v)
    points = points[3:]
    timed = time_blocks(problem, points, blocks)
    times, ratios, refs = [timed["median_s"]], [timed["ratio"]], timed["references_s"]
    # fresh parameter sets (a second seed): the same sets again would find the registrar's
    # experiment-only caches (patch spectra of the same placements) already filled
    cpu = cpu_ratio(problem, draw_values(problem, samples, seed=11))
    # parts, on the same parameter sets (fresh registrar caches are not reset: as in a run)
    sims, t_sim, t_reg, t_ssim = [], [], [], []
    for v in points:
        params = problem.model.Params(**v)
        t = time.perf_counter()
        s = problem.model.simulate(params).array
        t_sim.append(time.perf_counter() - t)
        sims.append(s)
    placements = []
    for s in sims:
        t = time.perf_counter()
        placements.append(problem.registrar.register(s))
        t_reg.append(time.perf_counter() - t)
    for s, p in zip(sims, placements):
        t = time.perf_counter()
        problem.similarity.distance(s, p.patch)
        t_ssim.append(time.perf_counter() - t)
    ref = statistics.median(refs)
    return {
        "eval_ms": 1e3 * statistics.median(times),
        "ratio": statistics.median(ratios),
        "reference_ms": 1e3 * ref,
        "simulate_ms": 1e3 * statistics.median(t_sim),
        "register_ms": 1e3 * statistics.median(t_reg),
        "similarity_ms": 1e3 * statistics.median(t_ssim),
        "tests_median": statistics.median(p.tests for p in placements),
        "eval_cpu_ms": 1e3 * cpu["eval_s"],
        "reference_cpu_ms": 1e3 * cpu["reference_s"],
        "ratio_cpu": cpu["ratio"],
    }


def cpu_ratio(problem, points: list[dict], rounds: int = 1) -> dict[str, float]:
    """Median CPU time (this process) of one evaluation of ``points`` and the mean CPU time
    of the reference workload timed before and after each round."""
    import numpy as np

    from ingrained_core.apps.benchmark import reference_workload

    rng = np.random.default_rng(0)
    evals, refs = [], []
    for _ in range(rounds):
        c = time.process_time()
        reference_workload(rng)
        refs.append(time.process_time() - c)
        for v in points:
            c = time.process_time()
            problem.evaluate(v)
            evals.append(time.process_time() - c)
    c = time.process_time()
    reference_workload(rng)
    refs.append(time.process_time() - c)
    e, r = statistics.median(evals), statistics.mean(refs)
    return {"eval_s": e, "reference_s": r, "ratio": e / r}


def record_case(problem, n: int) -> list[list]:
    """(fom, d_trans, d_sim, row, col, dy, dx, coarse row, coarse col) of ``n`` evaluations."""
    from ingrained_core.apps.benchmark import draw_values

    out = []
    for v in draw_values(problem, n, seed=7):
        ev = problem.evaluate(v)
        p = ev.placement
        out.append([ev.fom, ev.d_trans, ev.d_sim, p.row, p.col, p.shift[0], p.shift[1], p.coarse[0], p.coarse[1]])
    return out


def seconds_to_stop(best: dict, launched: float) -> float | None:
    """Seconds from the launch of the fuse process (epoch ``launched``) to its search's last
    evaluation: issue 18's "until the optimizer stops" (set-up included, the run files
    written afterwards not). The search's last run is its last wall-clock segment in
    ``best.json``, which began at ``started_at`` with ``elapsed_s`` already logged."""
    segments = best.get("segments") or [{"started_at": best.get("started_at"), "elapsed_s": 0.0}]
    last = segments[-1]
    if last.get("started_at") is None or best.get("elapsed_s") is None:
        return None
    return float(last["started_at"]) + float(best["elapsed_s"]) - float(last["elapsed_s"]) - launched


def time_fuse(case_name: str, time_limit: float = 300.0) -> dict:
    """Wall time of ``ingrained fuse`` on the case's example (crop fixed at the paper's best
    size, the example's optimizer settings, ``time_limit``), set-up included: a fresh
    process from launch to exit (imports, reading and preprocessing the image, building
    the structure and the problem, the search, the run files). The code is whatever
    ``PYTHONPATH`` of this process imports. The reference workload is timed in this process
    just before and after."""
    from ingrained_core.apps.benchmark import CASES, case_overrides, examples_dir, reference_workload

    case = CASES[case_name]
    with tempfile.TemporaryDirectory(prefix="ingrained-fuse-") as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-c", "from ingrained_core.cli import main; main()", "fuse",
               str(examples_dir() / case.config), "-o", str(out), "--force", "--quiet"]
        for o in case_overrides(case, time_limit):
            cmd += ["--set", o]
        ref_before = reference_workload()
        t, launched = time.perf_counter(), time.time()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t
        ref_after = reference_workload()
        if done.returncode != 0:
            raise SystemExit(f"ingrained fuse failed on {case_name}: {done.stderr[-2000:]}")
        best = json.loads((out / "best.json").read_text())
    evals = best.get("evaluations_all_starts", best.get("evaluations"))
    ref = 0.5 * (ref_before + ref_after)
    return {"wall_s": wall, "to_stop_s": seconds_to_stop(best, launched), "search_s": best.get("elapsed_s"),
            "evaluations": evals, "best_fom": best["fom"], "stop_reason": best.get("stop_reason"),
            "ms_per_evaluation": 1e3 * wall / evals, "reference_s": ref, "ms_per_evaluation_over_reference": wall / evals / ref,
            "load_average": os.getloadavg()}


FIELDS = ("fom", "d_trans", "d_sim", "row", "col", "dy", "dx", "coarse_row", "coarse_col")


def record_revision(rev: str, cases: str, n: int, out: Path) -> dict:
    """Record the ``--check`` evaluations with the code of git revision ``rev``: its tree
    exported to a temporary folder, its own bench_eval.py run there with PYTHONPATH on it
    (example files that git does not hold, e.g. generated inputs, are copied in)."""
    with tempfile.TemporaryDirectory(prefix="ingrained-compare-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            raise SystemExit(f"--compare {rev!r}: not a git revision of {REPO} "
                             f"({archive.stderr.decode(errors='replace').strip()})")
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        for f in (REPO / "examples").rglob("*"):
            dst = tree / f.relative_to(REPO)
            if f.is_file() and not dst.exists() and dst.parent.is_dir():
                shutil.copy2(f, dst)
        plugins = [str(p) for p in sorted((tree / "plugins").glob("*")) if p.is_dir()]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree)] + plugins))
        script = tree / "benchmarks" / "bench_eval.py"
        cmd = [sys.executable, str(script), "--cases", cases, "--samples", "0", "--check", str(n), "--record", str(out)]
        print(f"recording {n} evaluations per case with {rev} ({' '.join(cmd[1:])})", flush=True)
        done = subprocess.run(cmd, env=env, cwd=tree, check=False)
        if done.returncode != 0 or not out.is_file():
            raise SystemExit(f"--compare {rev!r}: that revision's bench_eval.py --record failed (status {done.returncode})")
    return json.loads(out.read_text())


def compare_rows(rows: list[list], ref: list[list], tolerance: float) -> dict:
    """Differences between two records of one case: identical rows, rows whose placement
    (or shift) differs, and the FOM changes (new - reference; worse means larger)."""
    diffs = []
    for i, (a, b) in enumerate(zip(rows, ref)):
        if a != b:
            diffs.append({"index": i, "fom_change": a[0] - b[0],
                          "new": dict(zip(FIELDS, a)), "reference": dict(zip(FIELDS, b))})
    placement = [d for d in diffs if d["new"]["row"] != d["reference"]["row"] or d["new"]["col"] != d["reference"]["col"]]
    worse = [d for d in diffs if d["fom_change"] > tolerance]
    return {"compared": min(len(rows), len(ref)), "length_mismatch": len(rows) != len(ref),
            "differ": len(diffs), "placement_differs": len(placement), "worse": len(worse),
            "max_fom_increase": max((d["fom_change"] for d in diffs), default=0.0),
            "min_fom_change": min((d["fom_change"] for d in diffs), default=0.0), "differences": diffs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="twin,ni,cu2o")
    ap.add_argument("--samples", type=int, default=100, help="timed evaluations per case (0: no timing)")
    ap.add_argument("--check", type=int, default=0, help="evaluations per case to record or compare")
    ap.add_argument("--record", type=Path, help="write the results of the --check evaluations here")
    ap.add_argument("--compare", help="a record written by --record, or a git revision to evaluate the same sets with")
    ap.add_argument("--tolerance", type=float, default=1e-6,
                    help="--compare fails when an evaluation's FOM is worse than the reference's by more than this")
    ap.add_argument("--exact", action="store_true", help="--compare fails on any difference (bit for bit)")
    ap.add_argument("--fuse", action="store_true", help="also time `ingrained fuse` on each case (a fresh process, set-up included)")
    ap.add_argument("--fuse-time", type=float, default=300.0, help="the fuse's wall-time limit (s)")
    ap.add_argument("--code-from-pythonpath", action="store_true",
                    help="time the ingrained that PYTHONPATH imports (e.g. an older revision's tree) instead of this checkout's")
    ap.add_argument("--json", type=Path, help="write the timings and the comparison here")
    ap.add_argument("--default-allocator", action="store_true",
                    help="keep glibc's default allocator settings (a run tunes them: ingrained_core.engine.memory)")
    args = ap.parse_args(argv)
    if not args.default_allocator:
        try:
            from ingrained_core.engine.memory import tune_allocator
        except ImportError:  # older checkouts
            pass
        else:
            print(f"allocator tuned as in a run: {tune_allocator()}")
    recorded: dict = {}
    if args.compare is not None:
        if not args.check:
            raise SystemExit("--compare needs --check N (the number of evaluations per case to compare)")
        if Path(args.compare).is_file():
            recorded = json.loads(Path(args.compare).read_text())
        else:
            with tempfile.TemporaryDirectory() as tmp:
                recorded = record_revision(args.compare, args.cases, args.check, Path(tmp) / "record.json")
    results, timings, comparisons, fuses, bad = {}, {}, {}, {}, 0
    for name in args.cases.split(","):
        if args.fuse:
            f = fuses[name] = time_fuse(name, args.fuse_time)
            stop, search = ("?" if f[k] is None else f"{f[k]:.1f}" for k in ("to_stop_s", "search_s"))
            print(f"{name:5s} fuse {f['wall_s']:.1f} s wall (set-up included; {stop} s until the optimizer stopped, "
                  f"the search {search} s), {f['evaluations']} evaluations "
                  f"({f['stop_reason']}), best FOM {f['best_fom']:.5f}; {f['ms_per_evaluation']:.2f} ms an evaluation "
                  f"= {100 * f['ms_per_evaluation_over_reference']:.2f} % of the reference ({1e3 * f['reference_s']:.0f} ms); "
                  f"load {f['load_average'][0]:.1f}", flush=True)
        if not (args.samples or args.check):
            continue
        problem = build(name)
        if args.samples:
            r = time_case(problem, args.samples)
            timings[name] = r
            print(f"{name:5s} eval {r['eval_ms']:6.2f} ms  ratio {100 * r['ratio']:5.2f} %  (reference "
                  f"{r['reference_ms']:.0f} ms; simulate {r['simulate_ms']:.2f}, register {r['register_ms']:.2f}, "
                  f"similarity {r['similarity_ms']:.2f} ms; tests {r['tests_median']}); CPU time: eval "
                  f"{r['eval_cpu_ms']:.2f} ms, reference {r['reference_cpu_ms']:.0f} ms, ratio {100 * r['ratio_cpu']:.2f} %",
                  flush=True)
        if args.check:
            problem = build(name)  # fresh caches
            rows = record_case(problem, args.check)
            results[name] = rows
            if name in recorded:
                c = compare_rows(rows, recorded[name], args.tolerance)
                comparisons[name] = c
                failed = c["worse"] + c["length_mismatch"] + (c["differ"] if args.exact else 0)
                bad += failed
                print(f"{name:5s} {c['compared']} evaluations compared: {c['differ']} differ ({c['placement_differs']} "
                      f"in placement), {c['worse']} worse by more than {args.tolerance:g} in FOM; FOM change "
                      f"{c['min_fom_change']:+.3g} .. {c['max_fom_increase']:+.3g}", flush=True)
                for d in c["differences"][:10]:
                    n, o = d["new"], d["reference"]
                    print(f"      #{d['index']}: FOM {o['fom']:.6f} -> {n['fom']:.6f}, placement ({o['row']}, {o['col']}) "
                          f"-> ({n['row']}, {n['col']}), shift ({o['dy']}, {o['dx']}) -> ({n['dy']}, {n['dx']})")
    if args.record:
        args.record.write_text(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps({"timings": timings, "fuse": fuses, "compare": args.compare,
                                         "comparisons": {k: {kk: vv for kk, vv in v.items() if kk != "differences"}
                                                         | {"differences": v["differences"][:50]}
                                                         for k, v in comparisons.items()}}, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
