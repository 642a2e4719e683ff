"""Benchmark of the multislice HAADF model ("haadf-multislice", abTEM) on the CdTe twin (issue 7).

Times, in one run and next to each other:

- one multislice simulation of the twin at the published start point (crop 201 x 167,
  pixel 0.207 Å, interface 0.2 Å, source size 1.25 Å): the periodic cell image computed
  by abTEM plus the render of the crop (a fresh model, so nothing is cached; abTEM's
  one-off import and kernel compilation are timed separately, before it);
- a change of defocus only (PRISM: the kept S-matrix is reduced again with a new CTF);
- image-side-only evaluations (pixel size, source size, shear, stretch drawn afresh on
  every call; the cell image is reused): what most evaluations of a run cost;
- the convolution model ("haadf") on the same parameters (median of fresh draws);
- the reference workload: 20 pairs of 1024 x 1024 ``numpy.fft.rfft2`` / ``irfft2``.

Settings (``--settings``): "documented" (the example's: PRISM interpolation (8, 16), 0.05 Å
sampling for the paper's 100-150 mrad detector, two cell periods = 18.7 Å, no phonons)
and "coarse" (the test's: 0.15 Å sampling, 40-55 mrad detector, one period).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_abtem.py [--settings documented coarse]

Prints the figures and writes ``abtem-<date>.json`` into ``benchmarks/results``.

The refine stage (issue 19: the convolution fit at the paper's crop, then the multislice
refinement from its best with a thickness series; ``ingrained_core.apps.bench_refine``):

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_abtem.py --refine twin ni \
        [--refine-settings documented] [--thickness-max 57] [--phonons 0] [--max-evals 60] \
        [--defocus-series D ... | --no-defocus-series] [--thickness-step SLICES]

writes ``refine-<date>.json`` (45 min per case at the documented settings on 2 idle
cores is the target; ``--refine-settings coarse`` takes minutes and is NOT the documented
detector and sampling).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from ingrained_core.apps.benchmark import machine, reference_workload

REPO = Path(__file__).resolve().parents[1]
TWIN = REPO / "examples" / "cdte_twin" / "bicrystal.POSCAR.vasp"
START = {
    "pixel_size": 0.20716817,
    "interface_width": 0.20,
    "source_size": 1.25,
    "crop_height": 201,
    "crop_width": 167,
}
SETTINGS = {
    "documented": {
        "options": {"method": "prism", "prism_interpolation": [8, 16], "sampling": 0.05, "slice_thickness": 2.4,
                    "phonon_configs": 0},
        "params": {"detector_inner": 100.0, "detector_outer": 150.0, "thickness": 18.0},
    },
    "coarse": {
        "options": {"method": "prism", "prism_interpolation": [4, 8], "sampling": 0.15, "slice_thickness": 2.4,
                    "phonon_configs": 0, "scan_sampling": 0.3},
        "params": {"detector_inner": 40.0, "detector_outer": 55.0, "thickness": 9.0},
    },
}


def draw(rng: np.random.Generator) -> dict[str, float]:
    """Fresh image-side values near the start point."""
    return {
        **START,
        "pixel_size": START["pixel_size"] + rng.uniform(-0.01, 0.01),
        "source_size": rng.uniform(1.0, 1.5),
        "shear_x": rng.uniform(-0.03, 0.03),
        "shear_y": rng.uniform(-0.03, 0.03),
        "stretch_x": rng.uniform(-0.03, 0.03),
        "stretch_y": rng.uniform(-0.03, 0.03),
    }


def bench_settings(name: str, structure, calls: int) -> dict:
    from ingrained_abtem.model import HaadfMultislice
    from ingrained_stem.model import HaadfConvolution
    from ingrained_stem.params import HaadfParams

    cfg = SETTINGS[name]
    model = HaadfMultislice(structure, **cfg["options"])
    params = {**START, **cfg["params"]}
    plan = model.plan(params)
    t0 = time.perf_counter()
    image = model.simulate(params)
    first = time.perf_counter() - t0
    cell_seconds = model.stats["seconds"]

    t0 = time.perf_counter()
    model.simulate({**params, "defocus": 20.0})
    refocus = time.perf_counter() - t0

    rng = np.random.default_rng(1)
    side = []
    for _ in range(calls):
        p = {**draw(rng), **cfg["params"]}
        t0 = time.perf_counter()
        model.simulate(p)
        side.append(time.perf_counter() - t0)

    conv = HaadfConvolution(structure)
    conv_params = {k: v for k, v in params.items() if k in HaadfParams.model_fields}
    conv.simulate(conv_params)  # set-up (cross-sections, probe OTF) outside the timing
    rng = np.random.default_rng(1)
    conv_times = []
    for _ in range(max(calls, 50)):
        p = {**draw(rng), **{k: v for k, v in cfg["params"].items() if k in HaadfParams.model_fields}}
        t0 = time.perf_counter()
        conv.simulate(p)
        conv_times.append(time.perf_counter() - t0)
    conv_ms = statistics.median(conv_times) * 1e3
    conv_img = conv.simulate(conv_params).array
    r = float(np.corrcoef(image.array.ravel(), conv_img.ravel())[0, 1])
    return {
        "options": cfg["options"],
        "params": params,
        "plan": plan.summary(),
        "multislice_first_simulate_s": round(first, 3),
        "multislice_cell_image_s": round(cell_seconds, 3),
        "defocus_change_s": round(refocus, 3),
        "image_side_only_ms_median": round(statistics.median(side) * 1e3, 3),
        "convolution_ms_median": round(conv_ms, 4),
        "ratio_multislice_to_convolution": round(first * 1e3 / conv_ms, 1),
        "ratio_image_side_to_convolution": round(statistics.median(side) * 1e3 / conv_ms, 2),
        "pearson_r_vs_convolution": round(r, 4),
        "crop": list(image.array.shape),
    }


def plot_thickness_scan(record_path: str | Path, png: str | Path) -> Path:
    """FOM against thickness (the scans at the start and at the best) from a refine-<date>.json;
    with a defocus series, at the chosen defocus, and beside it the FOM against defocus at
    the chosen thickness."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(Path(record_path).read_text())
    focal = any("defocus" in r for rec in data["cases"] for r in rec["multislice"]["thickness_scan_at_best"])
    fig, axes = plt.subplots(1, 2 if focal else 1, figsize=(10.0 if focal else 6.0, 3.6), dpi=120, squeeze=False)
    ax = axes[0, 0]
    for rec in data["cases"]:
        ms = rec["multislice"]
        focus, depth = ms.get("defocus"), ms["thickness"]
        for key, style, label in (("thickness_scan_at_start", "o--", "at the convolution fit"),
                                  ("thickness_scan_at_best", "s-", "at the refined best")):
            rows = [r for r in ms[key] if r["fom"] < 10 and r.get("defocus", focus) == focus]
            at = f" (defocus {focus:g} Å)" if focal else ""
            ax.plot([r["thickness"] for r in rows], [r["fom"] for r in rows], style, ms=4,
                    label=f"{rec['case']}: {label}{at}")
            if focal:
                rows = [r for r in ms[key] if r["fom"] < 10 and abs(r["thickness"] - depth) < 1e-3]
                axes[0, 1].plot([r["defocus"] for r in rows], [r["fom"] for r in rows], style, ms=4,
                                label=f"{rec['case']}: {label} ({depth:.1f} Å)")
        for a in axes[0]:
            a.axhline(rec["convolution"]["fom"], color="grey", lw=0.8, ls=":", label=f"{rec['case']}: convolution fit")
            if rec["case"] == "twin":
                a.axhline(0.17869, color="k", lw=0.8, ls="-.", label="paper (0.17869)")
    if focal:
        axes[0, 1].set_xlabel("probe defocus (Å, positive = underfocus)")
        axes[0, 1].set_ylabel("FOM (0.1 d_trans + d_sim)")
        axes[0, 1].legend(fontsize=6)
    opts = data["cases"][0]["multislice"]["options"]
    settings = data["cases"][0]["settings"]
    params = data["cases"][0]["multislice"]["params"]
    ax.set_xlabel("thickness (Å)")
    ax.set_ylabel("FOM (0.1 d_trans + d_sim)")
    interp = f" {opts['prism_interpolation']}" if opts.get("prism_interpolation") else ""
    window = f" window {opts['prism_window']:g} Å" if opts.get("prism_window") else ""
    ax.set_title(f"{settings} settings: {opts['method']}{interp}{window}, sampling "
                 f"{opts['sampling']} Å, ADF {params['detector_inner']:g}-{params['detector_outer']:g} mrad, "
                 f"{opts.get('phonon_configs', 0)} phonon configs", fontsize=7)
    ax.legend(fontsize=6)
    fig.tight_layout()
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)
    return Path(png)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", nargs="+", default=["documented", "coarse"], choices=sorted(SETTINGS))
    ap.add_argument("--calls", type=int, default=20, help="image-side-only evaluations timed")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--refine", nargs="+", choices=["twin", "ni"], default=None,
                    help="run the multislice refine stage on these cases instead")
    ap.add_argument("--refine-settings", default="documented", choices=["documented", "coarse"])
    ap.add_argument("--thickness-max", type=float, default=None, help="Å; default: the settings' own")
    ap.add_argument("--phonons", type=int, default=0, help="frozen-phonon configurations (0: static lattice)")
    ap.add_argument("--no-defocus-series", action="store_true",
                    help="scan the thickness at defocus 0 only (the documented settings also scan a defocus series)")
    ap.add_argument("--thickness-step", type=int, default=None, metavar="SLICES",
                    help="slices between the series' images (a divisor of the slices per cell period; "
                    "default: one image per period)")
    ap.add_argument("--defocus-series", type=float, nargs="+", default=None, metavar="DEFOCUS",
                    help="Å: scan these defoci (and 0) instead of the settings' own series")
    ap.add_argument("--prism-interpolation", type=int, nargs=2, default=None, metavar=("FX", "FY"),
                    help="PRISM interpolation factors instead of the settings' own (smaller factors: "
                    "a larger probe window, closer to plain multislice; memory and time grow as 1/(FX FY))")
    ap.add_argument("--threads", type=int, default=None,
                    help="FFTW and dask threads abTEM may use in the refinement (default: the model's own, 1)")
    ap.add_argument("--max-evals", type=int, default=60, help="Powell evaluations of the refinement")
    ap.add_argument("--time-limit", type=float, default=2700.0, help="s, the refinement's wall-time limit")
    ap.add_argument("--conv-time-limit", type=float, default=300.0, help="s, the convolution fit's wall-time limit")
    ap.add_argument("--runs", default=None, help="run directories (default: a temporary folder)")
    ap.add_argument("--plot", nargs=2, metavar=("REFINE_JSON", "PNG"), default=None,
                    help="plot the FOM against thickness of a refine-<date>.json and stop")
    args = ap.parse_args(argv)
    if args.plot:
        print(plot_thickness_scan(*args.plot))
        return 0
    if args.refine:
        import tempfile

        from ingrained_core.apps.bench_refine import refine_case, write_refine_record

        runs = Path(args.runs or tempfile.mkdtemp(prefix="ingrained-refine-"))
        records = [refine_case(name, runs_dir=runs, settings=args.refine_settings,
                               conv_time_limit=args.conv_time_limit, max_evals=args.max_evals,
                               time_limit=args.time_limit, thickness_max=args.thickness_max,
                               phonon_configs=args.phonons, thickness_step=args.thickness_step,
                               prism_interpolation=args.prism_interpolation, threads=args.threads,
                               defocus_series=(False if args.no_defocus_series else
                                               args.defocus_series if args.defocus_series else True),
                               say=lambda t: print(t, file=sys.stderr))
                   for name in args.refine]
        path = write_refine_record(records, args.out)
        print(json.dumps(records, indent=2, default=str))
        print(f"written {path}", file=sys.stderr)
        return 0
    from pymatgen.core import Structure

    structure = Structure.from_file(str(TWIN))
    reference_ms = reference_workload() * 1e3
    t0 = time.perf_counter()
    import abtem

    import_s = time.perf_counter() - t0
    # abTEM's numba kernels compile on first use: one tiny simulation takes that cost out.
    from ingrained_abtem.model import HaadfMultislice
    from pymatgen.core import Lattice
    from pymatgen.core import Structure as S

    tiny = S(Lattice.orthorhombic(4.0, 8.0, 8.0), ["Au"], [[0, 0.5, 0.5]])
    t0 = time.perf_counter()
    HaadfMultislice(tiny, sampling=0.1, phonon_configs=0, scan_sampling=0.4).simulate(
        {"detector_inner": 40.0, "detector_outer": 80.0, "thickness": 4.0, "crop_height": 35, "crop_width": 35})
    warmup_s = time.perf_counter() - t0
    results = {name: bench_settings(name, structure, args.calls) for name in args.settings}
    record = {
        "benchmark": "abtem",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "abtem_version": abtem.__version__,
        "structure": "examples/cdte_twin/bicrystal.POSCAR.vasp (576 atoms, 9.37 x 32.48 x 68.89 Å)",
        "abtem_import_s": round(import_s, 3),
        "abtem_first_use_s": round(warmup_s, 3),
        "reference_workload_ms": round(reference_ms, 1),
        "settings": results,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"abtem-{record['date']}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    print(f"written {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
