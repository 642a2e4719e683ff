"""PRISM probe-window convergence: the FOM against thickness at several PRISM interpolations (issue 19).

PRISM with interpolation (fx, fy) computes every probe inside a window of the cell's
extent / factor; a window narrower than the probe's spread through the specimen aliases
it. This scans one thickness series per interpolation at fixed image-side parameters
(those of a refine record, ``--params-from``), one defocus, static lattice by default,
the paper's fixed crop and the documented detector and sampling, and writes the FOM at
every thickness per window (JSON) and a plot::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_prism_window.py --case twin \\
        --interpolations 8,16 4,16 4,8 --thickness-max 93.75 --defocus 10 \\
        --params-from benchmarks/results/refine-2026-12-01-documented-defocus-twin.json

Each interpolation is its own series (a propagation through the thickest specimen);
time and memory grow about as 1 / (fx fy). Only files in the repository are read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def window_config(case_name: str, params: dict[str, float], interpolation: tuple[int, int], *,
                  thickness_max: float, defocus: float, phonons: int, memory_limit: float) -> Any:
    """The case's config switched to ``haadf-multislice`` with every parameter fixed at ``params``."""
    from ingrained_core.apps.bench_refine import GEOMETRY, REFINE_SETTINGS
    from ingrained_core.apps.benchmark import CASES, case_overrides, examples_dir
    from ingrained_core.engine.config import load_config
    from ingrained_core.plugin.params import ParamSpec

    case = CASES[case_name]
    cfg = load_config(examples_dir() / case.config, case_overrides(case, 300.0))
    fm = cfg.forward_model
    options = {k: v for k, v in fm.options.items() if k in GEOMETRY}
    documented = dict(REFINE_SETTINGS["documented"]["options"])
    documented.pop("prism_window", None)
    options.update(documented, prism_interpolation=list(interpolation), phonon_configs=int(phonons),
                   thickness_max=float(thickness_max), memory_limit=float(memory_limit))
    specs = {name: (ParamSpec(start=params[name], fixed=True) if name in params else spec)
             for name, spec in fm.params.items()}
    for name, value in {**REFINE_SETTINGS["documented"]["params"], "defocus": defocus,
                        "thickness": thickness_max}.items():
        specs[name] = ParamSpec(start=float(value), fixed=True)
    return cfg.model_copy(update={"forward_model": fm.model_copy(
        update={"name": "haadf-multislice", "options": options, "params": specs})})


def scan_window(case_name: str, params: dict[str, float], interpolation: tuple[int, int], **kw: Any) -> dict[str, Any]:
    """One interpolation's thickness series: FOM per thickness, the plan, seconds."""
    from ingrained_core.engine.problem import build_problem
    from ingrained_core.engine.thickness import scan_thickness

    problem = build_problem(window_config(case_name, params, interpolation, **kw))
    values = problem.space.values(problem.space.x0)
    t0 = time.perf_counter()
    rows = scan_thickness(problem, values)
    seconds = time.perf_counter() - t0
    model = problem.model
    plan = model.plan(values)
    width = model.projection.width
    height = model.projection.height + values.get("interface_width", 0.0)
    fx, fy = model.options.prism_interpolation
    return {
        "interpolation": [fx, fy],
        "window_angstrom": [round(width / fx, 3), round(height / fy, 3)],
        "plan": plan.summary(),
        "seconds": round(seconds, 1),
        "rows": [{"thickness": r["thickness"], "fom": r["fom"], "d_trans": r["d_trans"]} for r in rows],
    }


def plot(record: dict[str, Any], png: Path) -> Path:
    """FOM against thickness, one line per probe window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=110)
    for scan in record["scans"]:
        t = [r["thickness"] for r in scan["rows"]]
        f = [r["fom"] for r in scan["rows"]]
        wx, wy = scan["window_angstrom"]
        ax.plot(t, f, marker="o", ms=3, label=f"PRISM {tuple(scan['interpolation'])}: window {wx:.1f} x {wy:.1f} Å")
    if record.get("target") is not None:
        ax.axhline(record["target"], color="k", ls="-.", lw=0.8, label=record.get("target_label", "target"))
    ax.set_xlabel("thickness (Å)")
    ax.set_ylabel("FOM (0.1 d_trans + d_sim)")
    ax.set_title(f"{record['case']}: static lattice, defocus {record['defocus']:g} Å, 0.05 Å, ADF 100-150 mrad",
                 fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)
    plt.close(fig)
    return png


def main(argv: list[str] | None = None) -> int:
    from ingrained_core.apps.benchmark import CASES, machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["twin", "ni"], required=True)
    ap.add_argument("--interpolations", nargs="+", required=True, metavar="FX,FY",
                    help="PRISM interpolations to compare, e.g. 8,16 4,8")
    ap.add_argument("--params-from", required=True,
                    help="a refine record (refine-<date>.json): its image-side parameters are used")
    ap.add_argument("--stage", choices=["convolution", "multislice"], default="multislice",
                    help="which of the record's best points to use")
    ap.add_argument("--thickness-max", type=float, required=True)
    ap.add_argument("--defocus", type=float, default=0.0)
    ap.add_argument("--phonons", type=int, default=0)
    ap.add_argument("--memory-limit", type=float, default=8.0, help="GiB")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--name", default=None, help="record name (default: prism-window-<date>-<case>)")
    args = ap.parse_args(argv)

    source = json.loads(Path(args.params_from).read_text())
    case_record = next(c for c in source["cases"] if c["case"] == args.case)
    params = {k: v for k, v in case_record[args.stage]["params"].items()
              if k not in ("thickness", "defocus", "detector_inner", "detector_outer")}
    scans = []
    for text in args.interpolations:
        fx, fy = (int(v) for v in text.split(","))
        scan = scan_window(args.case, params, (fx, fy), thickness_max=args.thickness_max, defocus=args.defocus,
                           phonons=args.phonons, memory_limit=args.memory_limit)
        best = min(scan["rows"], key=lambda r: r["fom"])
        print(f"{args.case} {tuple(scan['interpolation'])} window {scan['window_angstrom']}: "
              + ", ".join(f"{r['thickness']:.1f} Å {r['fom']:.5f}" for r in scan["rows"])
              + f"  (best {best['fom']:.5f} at {best['thickness']:.1f} Å, {scan['seconds']:.0f} s)", file=sys.stderr)
        scans.append(scan)
    case = CASES[args.case]
    record = {
        "benchmark": "prism window convergence",
        "date": dt.date.today().isoformat(),
        "case": args.case,
        "crop": list(case.crop),
        "machine": machine(),
        "params_from": (str(Path(args.params_from).resolve().relative_to(REPO))
                        if Path(args.params_from).resolve().is_relative_to(REPO) else Path(args.params_from).name),
        "stage": args.stage,
        "params": params,
        "defocus": args.defocus,
        "phonon_configs": args.phonons,
        "thickness_max": args.thickness_max,
        "scans": scans,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9, 3),
        "target": case.paper_fom if args.case == "twin" else case_record["convolution"]["fom"],
        "target_label": "paper" if args.case == "twin" else "convolution fit",
        "command": "python benchmarks/bench_prism_window.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or f"prism-window-{record['date']}-{args.case}"
    path = out / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, default=float) + "\n")
    print(f"written {path} and {plot(record, out / f'{name}.png')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
