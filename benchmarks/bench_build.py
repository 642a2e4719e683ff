"""Benchmark of the bicrystal builder on the paper's two cases (issue 5).

Builds, from the slab configs in ``examples/*/bicrystal.json`` with the bundled
library cells (CdTe at a0 = 6.629 Å as the paper), the CdTe twin (576 atoms) and the Ni/M3B2
interface (~2000 atoms), ``--repeats`` times each after one warm-up build, and reports the
first (cold, includes imports and file reads) and the median warm build time. Target:
well under a second per bicrystal.

    python benchmarks/bench_build.py [--repeats 20] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEM = REPO / "examples"


def _config(case: str) -> tuple[dict, Path]:
    data = json.loads((STEM / case / "bicrystal.json").read_text())
    data.update(rebuild=True, source="library")
    if case == "cdte_twin":
        for k in ("slab_1", "slab_2"):
            data[k]["lattice_a"] = 6.629
    return data, STEM / case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None, help="folder for build-<date>.json")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    from ingrained_core.builtins.structures.bicrystal import BicrystalBuilder

    import_s = time.perf_counter() - t0
    results = {"import_s": round(import_s, 4), "cases": {}}
    for case in ("cdte_twin", "ni_m3b2"):
        data, base = _config(case)
        times = []
        for i in range(args.repeats + 1):
            t = time.perf_counter()
            cfg = BicrystalBuilder.Config.model_validate(data, context={"base_dir": base})
            r = BicrystalBuilder().build(cfg)
            times.append(time.perf_counter() - t)
        warm = times[1:]
        results["cases"][case] = {
            "n_atoms": len(r.structure), "cell": r.report["cell_abc"], "first_s": round(times[0], 4),
            "median_s": round(statistics.median(warm), 4), "min_s": round(min(warm), 4),
            "strain_line": r.report["strain_line"],
        }
        print(f"{case}: {len(r.structure)} atoms, first build {times[0]*1e3:.0f} ms, "
              f"median {statistics.median(warm)*1e3:.1f} ms (min {min(warm)*1e3:.1f} ms) over {len(warm)} builds")
        print(f"  {r.report['strain_line']}")
    results["machine"] = {"python": platform.python_version(), "processor": platform.processor() or platform.machine()}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"build-{dt.date.today().isoformat()}.json"
        path.write_text(json.dumps(results, indent=1))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
