"""Automatic start (issue 14) against the published start on the three examples.

For each case, in one process: the example config with every geometric start removed and
set to "auto" (``auto_start_case``, bounds kept; Cu2O with the paper's pixel bounds
0.05-0.4 Å), then the example as published; each fused for ``--evals`` evaluations (no
time limit). ``--fixed-crop`` fixes the crop at the paper's best size (the benchmark's
like-for-like crop). Prints one JSON line per run: FOM, fitted pixel size, the estimate,
the candidates' pixel sizes, the start used, the calibration record, the time of
``build_problem`` (estimation and global stage included) and of the whole fuse.

    python examples/cu2o_111/make_density.py /tmp/cu2o/Cu2O_111.PARCHG   # once, for cu2o
    python benchmarks/bench_autostart.py --cases twin ni cu2o --density /tmp/cu2o/Cu2O_111.PARCHG
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ingrained_core.engine.autostart.resolve import auto_start_case
from ingrained_core.engine.config import read_config_file, validate_config
from ingrained_core.engine.problem import build_problem
from ingrained_core.engine.run import fuse

ROOT = Path(__file__).resolve().parents[1] / "examples"
CASES = {"twin": ("cdte_twin/fuse.toml", (195, 153)), "ni": ("ni_m3b2/fuse.toml", (283, 169)),
         "cu2o": ("cu2o_111/fuse.toml", (79, 79))}


def run_case(case: str, evals: int, fixed_crop: bool, density: str | None, out: Path) -> dict:
    path = (ROOT / CASES[case][0]).resolve()
    raw = read_config_file(path)
    raw.setdefault("optimizer", {})["max_evals"] = evals
    raw["optimizer"].pop("time_limit", None)
    if fixed_crop:
        h, w = CASES[case][1]
        raw["forward_model"]["params"]["crop_height"] = {"start": h, "fixed": True}
        raw["forward_model"]["params"]["crop_width"] = {"start": w, "fixed": True}
    if case == "cu2o":
        if density is None:
            raise SystemExit("cu2o needs --density (run examples/cu2o_111/make_density.py first)")
        raw["forward_model"]["input"] = str(Path(density).resolve())
    result = {}
    for mode in ("auto", "published"):
        data = auto_start_case(raw) if mode == "auto" else raw
        if case == "cu2o" and mode == "auto":
            data["forward_model"]["params"]["pixel_size"].update(min=0.05, max=0.4)  # the paper's bounds
        cfg = validate_config(data, path.parent, source=str(path))
        t0 = time.perf_counter()
        build_problem(cfg)
        t_build = time.perf_counter() - t0
        run_dir = out / f"{case}_{mode}"
        t0 = time.perf_counter()
        r = fuse(cfg, run_dir, force=True)
        rec = {"case": case, "mode": mode, "fixed_crop": fixed_crop, "fom": r.fom,
               "pixel_size": r.params.get("pixel_size"), "evaluations": r.best.get("evaluations"),
               "build_problem_s": t_build, "fuse_s": time.perf_counter() - t0,
               "calibration": r.best.get("calibration")}
        start = run_dir / "start.json"
        if start.exists():
            d = json.loads(start.read_text())
            rec.update(estimate=d.get("estimate"), start=d.get("start"),
                       candidates=[(c["source"], c["values"].get("pixel_size"), c["lattice_score"])
                                   for c in d.get("candidates", [])])
        print(json.dumps(rec), flush=True)
        result[mode] = rec
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["twin", "ni"], choices=sorted(CASES))
    ap.add_argument("--evals", type=int, default=300)
    ap.add_argument("--fixed-crop", action="store_true")
    ap.add_argument("--density", default=None, help="the Cu2O PARCHG written by make_density.py")
    ap.add_argument("--out", type=Path, default=None, help="where the run directories go (default: a temp dir)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_autostart_"))
    for case in args.cases:
        run_case(case, args.evals, args.fixed_crop, args.density, out)


if __name__ == "__main__":
    main()
