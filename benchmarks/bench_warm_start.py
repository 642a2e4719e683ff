"""What "start the placement search from the previous evaluation's placement" would do
along a real optimizer trajectory (issue 18; measured, not adopted: docs/performance.md).

Replays a run's ``progress.csv`` (every evaluated parameter set, in order) on the benchmark
case's problem: for each evaluation, the registrar's own result, and whether the previous
evaluation's placement is locked (residual shift 0) for this simulation. Counts how often
it locks, how often it is the same placement the search finds, and, where it is not, how
the FOM at it compares (worse / better by more than 1e-6).

    ingrained fuse examples/cdte_twin/fuse.toml -o RUN --set 'forward_model.params.crop_height={ start = 195, fixed = true }' \\
        --set 'forward_model.params.crop_width={ start = 153, fixed = true }'
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_warm_start.py --case twin RUN/progress.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("progress", type=Path, help="a run's progress.csv")
    ap.add_argument("--case", default="twin", help="benchmark case whose problem evaluates the rows")
    args = ap.parse_args(argv)

    from bench_eval import build

    from ingrained_core.engine.progress import TAIL, read_progress
    from ingrained_core.engine.registration.correlation import correlator
    from ingrained_core.engine.registration.images import quantise

    problem = build(args.case)
    reg = problem.registrar
    header, rows = read_progress(args.progress)
    names = [h for h in header if h not in ("eval", "elapsed_s", *TAIL)]
    stats = {"evaluations": 0, "previous_locks": 0, "same_placement": 0, "worse": 0, "better": 0,
             "max_fom_increase": 0.0, "tests_saved": 0}
    prev = None
    for r in rows:
        ev = problem.evaluate({k: r[k] for k in names})
        if not ev.feasible:
            prev = None
            continue
        pl = ev.placement
        stats["evaluations"] += 1
        if prev is not None and (prev.height, prev.width) == (pl.height, pl.width):
            rr, cc = prev.row - reg.offset[0], prev.col - reg.offset[1]
            qs = quantise(ev.simulation, reg.levels)
            corr = correlator(qs.shape)
            shift = corr.residual_shifts(corr.spectrum(qs), reg._q[rr : rr + pl.height, cc : cc + pl.width], integer=True)
            if int(abs(shift[0]) + abs(shift[1])) == 0:
                stats["previous_locks"] += 1
                stats["tests_saved"] += pl.tests - 1
                if (prev.row, prev.col) == (pl.row, pl.col):
                    stats["same_placement"] += 1
                else:
                    patch = reg.experiment[rr : rr + pl.height, cc : cc + pl.width]
                    fom = problem.beta * problem.similarity.distance(ev.simulation, patch)
                    if fom > ev.fom + 1e-6:
                        stats["worse"] += 1
                        stats["max_fom_increase"] = max(stats["max_fom_increase"], fom - ev.fom)
                    elif fom < ev.fom - 1e-6:
                        stats["better"] += 1
        prev = pl
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
