"""The real-data benchmark against the paper (issue 8): the same as ``ingrained benchmark``.

Cases: CdTe twin (Case 1) and Ni/M3B2 (Case 2), HAADF with the published structures,
preprocessing, start points, bounds and vertical bias; Cu2O(111) STM (Case 3) with the
synthetic density of examples/cu2o_111. The crop is fixed at the paper's best size
(195 x 153, 283 x 169, 79 x 79) and the FOM is the paper's (8-bit SSIM, 35-px window).
See ``ingrained_core/apps/benchmark.py`` for what is measured and docs/performance.md for the
figures.

    python benchmarks/bench_paper.py [--cases twin,ni,cu2o] [--time 300] [--out DIR]
                                     [--samples 100] [--set KEY=VALUE ...]

Writes ``paper-<YYYYmmdd-HHMMSS>.json`` and ``.md`` into the output folder (default: a new
``./ingrained-benchmark-<YYYYmmdd-HHMMSS>/``; never overwrites). A full run takes about
(time + 30 s) per case.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="twin,ni,cu2o")
    parser.add_argument("--time", type=float, default=300.0, help="wall-time limit of each case's fuse (s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: a new ./ingrained-benchmark-<timestamp>/)")
    parser.add_argument("--runs", type=Path, default=None, help="folder for the run directories (default: runs/ in the output folder)")
    parser.add_argument("--samples", type=int, default=100, help="distinct-parameter evaluations timed per case")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    from ingrained_core.apps.benchmark import run_benchmark

    command = "python benchmarks/bench_paper.py " + " ".join(argv if argv is not None else sys.argv[1:])
    result = run_benchmark([c.strip() for c in args.cases.split(",") if c.strip()], time_limit=args.time,
                           out=args.out, runs_dir=args.runs, samples=args.samples, overrides=args.overrides,
                           command=command.strip(), echo=lambda s: print(s, file=sys.stderr))
    print(result["table"])
    for p in result["paths"]:
        print(p)
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
