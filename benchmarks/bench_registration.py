"""Benchmark of registration + similarity (issue 4) on the real images, and the comparison
of the default search with the published one.

1. Speed: median ``Registrar.register`` + ``PaperSSIM.distance`` time for 201 x 167 HAADF
   simulations of the CdTe twin (the STEM plugin, fresh parameters near the published start
   on every call) inside the 302 x 302 twin image, against a reference workload timed in the
   same run (20 pairs of 1024 x 1024 ``numpy.fft.rfft2`` / ``irfft2``). Target: the whole
   evaluation (simulate + register + FOM) <= 2 % of the reference.
2. Comparison on the twin and on Ni/M3B2 (simulations near the published best, crop sizes
   varied): the published search (``method="chi2", fine="scan"``), NCC ranking with the
   published row-by-row fine scan, and the default (NCC ranking, ranked/followed fine
   search with caps): locked fraction, FOM = 0.1 d_trans + d_sim, agreement of placements.
3. Cut patches of the real images (random sizes and offsets): how often each search
   recovers the exact placement.

    python benchmarks/bench_registration.py [--calls 200] [--cases 60] [--out benchmarks/results]

Without the STEM plugin, parts 1-2 use noisy cut patches instead of simulations.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "examples"
sys.path.insert(0, str(REPO))

TWIN_START = {"pixel_size": 0.20716817, "interface_width": 0.20, "source_size": 1.25, "shear_x": 0.0, "shear_y": 0.0,
                  "stretch_x": 0.0, "stretch_y": 0.0, "crop_height": 201, "crop_width": 167}
TWIN_BEST = {"pixel_size": 0.21007, "interface_width": 0.1094, "source_size": 1.75, "shear_x": -0.0374, "shear_y": 0.0158,
                 "stretch_x": -0.0183, "stretch_y": 0.0133, "crop_height": 195, "crop_width": 153}
NI_BEST = {"pixel_size": 0.12514, "interface_width": 0.0967, "source_size": 1.1437, "shear_x": -0.0697, "shear_y": 0.0237,
               "stretch_x": -0.0244, "stretch_y": -0.0267, "crop_height": 283, "crop_width": 169}
VARIANTS = {
    "published (chi2 + scan)": {"method": "chi2", "fine": "scan"},
    "ncc + published scan": {"method": "ncc", "fine": "scan", "max_candidates": None},
    "default (ncc + ranked)": {},
}


# -- data -------------------------------------------------------------------------------------
def _centre_crop(img: np.ndarray, h: int, w: int) -> np.ndarray:
    r0, c0 = img.shape[0] // 2 - h // 2, img.shape[1] // 2 - w // 2
    return img[r0 : r0 + h, c0 : c0 + w]


def _rotate_collar_free(img: np.ndarray, degrees: float) -> np.ndarray:
    from skimage.transform import rotate

    t = np.radians(abs(degrees) % 90)
    edge = int(min(img.shape) / (np.cos(t) + np.sin(t))) - 5
    return _centre_crop(rotate(img, degrees, preserve_range=True), edge, edge)


def twin_image() -> np.ndarray:
    from ncempy.io import dm

    raw = np.asarray(dm.dmReader(str(DATA / "cdte_twin" / "HAADF26.dm3"))["data"], dtype=float)
    return np.fliplr(_centre_crop(_rotate_collar_free(raw, 66.0), 328, 328)[:-26, :-26]).copy()


def ni_image() -> np.ndarray:
    import tifffile

    grey = tifffile.imread(str(DATA / "ni_m3b2" / "HAADF91.tif"))[..., 0].astype(float)
    return _rotate_collar_free(grey[380:-240, 370:-30], -2.3).copy()


def _odd(v: float) -> int:
    v = round(v)
    return v if v % 2 else v + 1


class Simulator:
    """HAADF simulations from the STEM plugin, in the orientation that matches the image."""

    def __init__(self, case: str, experiment: np.ndarray, best: dict) -> None:
        from ingrained_stem.model import HaadfConvolution
        from ingrained_stem.params import HaadfParams
        from pymatgen.core import Structure
        from skimage.feature import match_template

        folder = "cdte_twin" if case == "twin" else "ni_m3b2"
        self.model = HaadfConvolution(Structure.from_file(str(DATA / folder / "bicrystal.POSCAR.vasp")))
        self.params = HaadfParams
        img = self.model.simulate(HaadfParams(**best)).array
        # The published convention puts image row 0 at the top; pick the orientation of the
        # plugin's image that correlates best with the experiment at the published best.
        as_is = float(match_template(experiment, img).max())
        flipped = float(match_template(experiment, np.flipud(img)).max())
        self.flip = flipped > as_is
        self.orientation = {"ncc_as_is": round(as_is, 4), "ncc_flipud": round(flipped, 4), "flipud_used": self.flip}

    def __call__(self, **p: float) -> np.ndarray:
        img = self.model.simulate(self.params(**p)).array
        return np.flipud(img) if self.flip else img


def near(rng: np.random.Generator, best: dict, crop_jitter: bool = True) -> dict:
    p = dict(best)
    p["pixel_size"] *= rng.uniform(0.97, 1.03)
    p["interface_width"] += rng.uniform(-0.5, 0.5)
    p["source_size"] = rng.uniform(1.0, 1.75)
    for k in ("shear_x", "shear_y", "stretch_x", "stretch_y"):
        p[k] += rng.uniform(-0.04, 0.04)
    if crop_jitter:
        p["crop_height"] = _odd(best["crop_height"] * rng.uniform(0.9, 1.05))
        p["crop_width"] = _odd(best["crop_width"] * rng.uniform(0.9, 1.05))
    return p


def cut_patch(rng: np.random.Generator, exp: np.ndarray, h: int, w: int, noise: float = 0.5) -> np.ndarray:
    r, c = int(rng.integers(0, exp.shape[0] - h + 1)), int(rng.integers(0, exp.shape[1] - w + 1))
    return exp[r : r + h, c : c + w] + rng.normal(0, noise * exp.std(), (h, w))


# -- parts ------------------------------------------------------------------------------------
def reference_workload(rng: np.random.Generator) -> float:
    """Seconds for 20 pairs of 1024 x 1024 numpy.fft.rfft2 / irfft2."""
    a = rng.random((1024, 1024))
    t0 = time.perf_counter()
    for _ in range(20):
        np.fft.irfft2(np.fft.rfft2(a), s=a.shape)
    return time.perf_counter() - t0


def timing(exp: np.ndarray, make, calls: int) -> dict:
    from ingrained_core.engine.registration import Registrar
    from ingrained_core.builtins.similarity import FloatSSIM7, PaperSSIM

    reg, ssim, ssim7 = Registrar(exp), PaperSSIM(), FloatSSIM7()
    t_sim, t_reg, t_dist, t_dist7, d_trans = [], [], [], [], []
    reg.register(make())  # shape caches built once, as in a run
    for _ in range(calls):
        t0 = time.perf_counter()
        sim = make()
        t1 = time.perf_counter()
        p = reg.register(sim)
        t2 = time.perf_counter()
        ssim.distance(sim, p.patch)
        t3 = time.perf_counter()
        ssim7.distance(sim, p.patch)
        t4 = time.perf_counter()
        t_sim.append(t1 - t0), t_reg.append(t2 - t1), t_dist.append(t3 - t2), t_dist7.append(t4 - t3)
        d_trans.append(p.d_trans)
    med = lambda v: round(1e3 * statistics.median(v), 4)
    both = [a + b for a, b in zip(t_reg, t_dist)]
    return {
        "calls": calls, "simulate_median_ms": med(t_sim), "register_median_ms": med(t_reg),
        "register_p90_ms": round(1e3 * float(np.percentile(t_reg, 90)), 4),
        "ssim_median_ms": med(t_dist), "ssim_float7_median_ms": med(t_dist7),
        "register_plus_ssim_median_ms": med(both),
        "evaluation_median_ms": med([a + b for a, b in zip(t_sim, both)]),
        "locked_fraction": round(float(np.mean(np.array(d_trans) == 0)), 4),
    }


def compare(exp: np.ndarray, sims: list[np.ndarray]) -> dict:
    from ingrained_core.engine.registration import Registrar
    from ingrained_core.builtins.similarity import PaperSSIM

    ssim = PaperSSIM()
    rows: dict[str, np.ndarray] = {}
    out: dict[str, dict] = {}
    for name, kw in VARIANTS.items():
        reg = Registrar(exp, **kw)
        r = []
        for sim in sims:
            t0 = time.perf_counter()
            p = reg.register(sim)
            ms = 1e3 * (time.perf_counter() - t0)
            d = ssim.distance(sim, p.patch)
            r.append((p.row, p.col, p.d_trans, d, 0.1 * p.d_trans + d, p.tests, ms))
        a = rows[name] = np.array(r)
        out[name] = {
            "locked_fraction": round(float(np.mean(a[:, 2] == 0)), 4),
            "fom_mean": round(float(a[:, 4].mean()), 5), "fom_median": round(float(np.median(a[:, 4])), 5),
            "fom_min": round(float(a[:, 4].min()), 5),
            "fom_median_locked": round(float(np.median(a[a[:, 2] == 0, 4])), 5) if np.any(a[:, 2] == 0) else None,
            "tests_median": float(np.median(a[:, 5])), "tests_max": float(a[:, 5].max()),
            "register_median_ms": round(float(np.median(a[:, 6])), 3), "register_max_ms": round(float(a[:, 6].max()), 3),
        }
    paper, scan = rows["published (chi2 + scan)"], rows["ncc + published scan"]
    for name, a in rows.items():
        same = (a[:, 0] == scan[:, 0]) & (a[:, 1] == scan[:, 1])
        both = (a[:, 2] == 0) & (scan[:, 2] == 0)
        diff = a[:, 4] - paper[:, 4]
        out[name].update({
            "vs_published_fom_better_or_equal": round(float(np.mean(diff <= 1e-12)), 4),
            "vs_published_fom_worse": round(float(np.mean(diff > 1e-12)), 4),
            "vs_published_mean_fom_difference": round(float(diff.mean()), 5),
            "vs_ncc_scan_same_placement": round(float(np.mean(same)), 4),
            "vs_ncc_scan_same_placement_when_both_locked": round(float(np.mean(same[both])), 4) if both.any() else None,
            "vs_ncc_scan_same_d_trans": round(float(np.mean(a[:, 2] == scan[:, 2])), 4),
        })
    return {"cases": len(sims), "variants": out}


def cut_recovery(exp: np.ndarray, rng: np.random.Generator, n: int, sizes: tuple[int, int]) -> dict:
    from ingrained_core.engine.registration import Registrar

    out = {}
    regs = {name: Registrar(exp, vertical_bias=0.0, **kw) for name, kw in VARIANTS.items()}
    cases = []
    for _ in range(n):
        h, w = (int(v) for v in rng.integers(sizes[0], sizes[1], 2))
        r, c = int(rng.integers(0, exp.shape[0] - h + 1)), int(rng.integers(0, exp.shape[1] - w + 1))
        cases.append((r, c, h, w))
    for name, reg in regs.items():
        exact = 0
        for r, c, h, w in cases:
            p = reg.register(exp[r : r + h, c : c + w])
            exact += (p.row, p.col, p.d_trans) == (r, c, 0)
        out[name] = round(exact / n, 4)
    return {"cases": n, "exact_fraction": out}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="timed evaluations (default 200)")
    parser.add_argument("--cases", type=int, default=60, help="simulations per image in the comparison (default 60)")
    parser.add_argument("--cuts", type=int, default=40, help="cut patches per image (default 40)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    twin, ni = twin_image(), ni_image()
    refs = [reference_workload(rng) for _ in range(3)]
    try:
        twin_sim = Simulator("twin", twin, TWIN_BEST)
        ni_sim = Simulator("ni", ni, NI_BEST)
        source = "ingrained_stem haadf simulations"
    except ImportError:
        twin_sim = ni_sim = None
        source = "noisy cut patches (ingrained_stem not installed)"

    if twin_sim is not None:
        make = lambda: twin_sim(**near(rng, TWIN_START, crop_jitter=False))
    else:
        make = lambda: cut_patch(rng, twin, 201, 167)
    speed = timing(twin, make, args.calls)
    refs += [reference_workload(rng) for _ in range(2)]
    ref = statistics.median(refs)

    comparisons = {}
    for case, exp, simulator, best in (("twin", twin, twin_sim, TWIN_BEST), ("ni_m3b2", ni, ni_sim, NI_BEST)):
        crng = np.random.default_rng(7)
        if simulator is not None:
            sims = [simulator(**(best if i == 0 else near(crng, best))) for i in range(args.cases)]
        else:
            sims = [cut_patch(crng, exp, best["crop_height"], best["crop_width"]) for _ in range(args.cases)]
        comparisons[case] = compare(exp, sims)
        comparisons[case]["orientation"] = None if simulator is None else simulator.orientation
    cuts = {
        "twin": cut_recovery(twin, np.random.default_rng(3), args.cuts, (100, 250)),
        "ni_m3b2": cut_recovery(ni, np.random.default_rng(4), args.cuts, (120, 320)),
    }

    eval_fraction = speed["evaluation_median_ms"] / (1e3 * ref)
    result = {
        "benchmark": "registration + similarity, CdTe twin and Ni/M3B2",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/bench_registration.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "simulations": source,
        "speed_twin_201x167": speed,
        "reference_workload_s": round(ref, 4),
        "reference_workload_runs_s": [round(v, 4) for v in refs],
        "register_plus_ssim_over_reference": round(speed["register_plus_ssim_median_ms"] / (1e3 * ref), 5),
        "evaluation_over_reference": round(eval_fraction, 5),
        "target_evaluation_over_reference": 0.02,
        "comparison": comparisons,
        "cut_patch_recovery": cuts,
        "machine": {"cpu": cpu_model(), "python": platform.python_version(), "numpy": np.__version__},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"registration-{dt.date.today().isoformat()}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
