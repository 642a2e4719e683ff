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


def parse_substitution(texts: list[str] | None) -> dict[str, dict[str, float]]:
    """``["Mo=Mo:0.5,Cr:0.5"]`` -> ``{"Mo": {"Mo": 0.5, "Cr": 0.5}}`` (each site of that element
    becomes a mixed site with these occupancies)."""
    out: dict[str, dict[str, float]] = {}
    for text in texts or []:
        element, _, mix = text.partition("=")
        try:
            out[element.strip()] = {k.strip(): float(v) for k, v in (part.split(":") for part in mix.split(","))}
        except ValueError:
            raise SystemExit(f"--substitute {text!r}: expected ELEMENT=NEW:FRACTION[,NEW:FRACTION...], "
                             "e.g. Mo=Mo:0.5,Cr:0.5") from None
    return out


def substituted_structure(cfg: Any, substitution: dict[str, dict[str, float]], folder: Path, base: Path) -> Any:
    """``cfg`` with its structure file's elements replaced by mixed sites (pymatgen ``replace_species``),
    written as CIF into ``folder`` and read with ``allow_partial_occupancy`` (a relative structure
    path is the config's, in ``base``)."""
    from ingrained_core.builtins.structures.file import read_structure
    from ingrained_core.engine.config import StructureConfig

    fields = cfg.structure.builder_fields()
    if cfg.structure.builder != "file":
        raise SystemExit(f"--substitute needs the case's structure from a file, not builder {cfg.structure.builder!r}")
    source = base / Path(fields["path"])
    structure = read_structure(source)
    missing = sorted(set(substitution) - {el.symbol for el in structure.composition.elements})
    if missing:
        raise SystemExit(f"--substitute: {', '.join(missing)} not in {source}")
    structure.replace_species(substitution)
    path = folder / "substituted.cif"
    structure.to(filename=str(path))
    return cfg.model_copy(update={"structure": StructureConfig(builder="file", path=str(path),
                                                               allow_partial_occupancy=True)})


def window_config(case_name: str, params: dict[str, float], interpolation: tuple[int, int], *,
                  thickness_max: float, defocus: float, phonons: int, memory_limit: float,
                  substitution: dict[str, dict[str, float]] | None = None, folder: Path | None = None) -> Any:
    """The case's config switched to ``haadf-multislice`` with every parameter fixed at ``params``;
    ``substitution`` (with a ``folder`` for the structure file): mixed sites, one seeded draw."""
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
    # every parameter of the record fixed at its value, those the config leaves at their defaults too
    specs = {**fm.params, **{name: ParamSpec(start=value, fixed=True) for name, value in params.items()}}
    for name, value in {**REFINE_SETTINGS["documented"]["params"], "defocus": defocus,
                        "thickness": thickness_max}.items():
        specs[name] = ParamSpec(start=float(value), fixed=True)
    if substitution:
        cfg = substituted_structure(cfg, substitution, folder or Path("."), (examples_dir() / case.config).parent)
        options["partial_occupancy"] = "draw"
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
        "occupancy": model.occupancy,
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
    ap.add_argument("--substitute", action="append", default=None, metavar="ELEMENT=NEW:FRACTION,...",
                    help="make every site of ELEMENT a mixed site (e.g. Mo=Mo:0.5,Cr:0.5), simulated as one "
                    "seeded random-alloy draw (partial_occupancy = \"draw\"); repeatable")
    ap.add_argument("--set", action="append", default=None, metavar="NAME=VALUE",
                    help="a parameter at another value than the record's (e.g. aperture=25 or source_size=1.75); repeatable")
    args = ap.parse_args(argv)
    substitution = parse_substitution(args.substitute)
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="ingrained-window-"))

    source = json.loads(Path(args.params_from).read_text())
    case_record = next(c for c in source["cases"] if c["case"] == args.case)
    params = {k: v for k, v in case_record[args.stage]["params"].items()
              if k not in ("thickness", "defocus", "detector_inner", "detector_outer")}
    for text in args.set or []:
        name, _, value = text.partition("=")
        if name not in params:
            raise SystemExit(f"--set {text!r}: {name!r} is not a parameter of the record ({', '.join(sorted(params))})")
        params[name] = float(value)
    scans = []
    for text in args.interpolations:
        fx, fy = (int(v) for v in text.split(","))
        scan = scan_window(args.case, params, (fx, fy), thickness_max=args.thickness_max, defocus=args.defocus,
                           phonons=args.phonons, memory_limit=args.memory_limit, substitution=substitution,
                           folder=folder)
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
        "params_set": args.set or None,
        "defocus": args.defocus,
        "phonon_configs": args.phonons,
        "substitution": substitution or None,
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
