"""Cost of one evaluation (simulate + register + FOM) on the paper's cases, as a fraction of
the reference workload (issue 8 target: <= 2 %), split into its parts, and a record of the
evaluation results for checking that a speed-up changed nothing.

Per case (``examples/`` configs, crop fixed at the paper's best size as in ``ingrained
benchmark``): ``--samples`` distinct parameter sets drawn around the start point exactly as
:func:`ingrained_core.apps.benchmark.time_evaluations` draws them (Gaussian, 5 % of each range),
evaluated cold; the reference workload (20 pairs of 1024 x 1024 ``numpy.fft.rfft2`` /
``irfft2``) is timed before and after every block of evaluations in the same process. The
parts (simulate, register, similarity) are timed on the same simulations separately.

``--record FILE`` writes every evaluation's result (FOM, d_trans, d_sim, placement, shift,
tests) of ``--check`` parameter sets per case; ``--compare FILE`` evaluates the same sets and
reports any difference (the results must be identical, bit for bit).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_eval.py --cases twin,ni,cu2o
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_eval.py --check 300 --record before.json
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_eval.py --check 300 --compare before.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
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
    }


def record_case(problem, n: int) -> list[list]:
    """(fom, d_trans, d_sim, row, col, dy, dx, coarse row, coarse col) of ``n`` evaluations."""
    from ingrained_core.apps.benchmark import draw_values

    out = []
    for v in draw_values(problem, n, seed=7):
        ev = problem.evaluate(v)
        p = ev.placement
        out.append([ev.fom, ev.d_trans, ev.d_sim, p.row, p.col, p.shift[0], p.shift[1], p.coarse[0], p.coarse[1]])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="twin,ni,cu2o")
    ap.add_argument("--samples", type=int, default=100, help="timed evaluations per case (0: no timing)")
    ap.add_argument("--check", type=int, default=0, help="evaluations per case to record or compare")
    ap.add_argument("--record", type=Path, help="write the results of the --check evaluations here")
    ap.add_argument("--compare", type=Path, help="compare the --check evaluations with this record")
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
    recorded = {} if args.compare is None else json.loads(args.compare.read_text())
    results, bad = {}, 0
    for name in args.cases.split(","):
        problem = build(name)
        if args.samples:
            r = time_case(problem, args.samples)
            print(f"{name:5s} eval {r['eval_ms']:6.2f} ms  ratio {100 * r['ratio']:5.2f} %  (reference "
                  f"{r['reference_ms']:.0f} ms; simulate {r['simulate_ms']:.2f}, register {r['register_ms']:.2f}, "
                  f"similarity {r['similarity_ms']:.2f} ms; tests {r['tests_median']})", flush=True)
        if args.check:
            problem = build(name)  # fresh caches
            rows = record_case(problem, args.check)
            results[name] = rows
            if name in recorded:
                diff = [i for i, (a, b) in enumerate(zip(rows, recorded[name])) if a != b]
                bad += len(diff) + abs(len(rows) - len(recorded[name]))
                print(f"{name:5s} {len(rows)} evaluations compared: {len(diff)} differ {diff[:10]}", flush=True)
    if args.record:
        args.record.write_text(json.dumps(results))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
