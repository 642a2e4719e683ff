"""The real-data benchmark against the published results (``ingrained benchmark``).

Cases (paper Cases 1-3, configs in ``examples/``): the CdTe twin and the Ni/M3B2 interface
(HAADF, published structure files, the paper's preprocessing, start point, bounds and
vertical search bias) and Cu2O(111) STM with the synthetic density of
``examples/cu2o_111`` (the published DFT density is not public, so that case is not a like
for like comparison with the paper's FOM; it is reported for speed and for the record).

Like for like: the crop size is **fixed** at the size at which the paper reached its best
(195 x 153 twin, 283 x 169 Ni/M3B2, 79 x 79 Cu2O), so no figure improves by shrinking the
compared region, and the FOM is the paper's (0.1 d_trans + 1.0 d_sim with the 8-bit,
35-pixel-window SSIM). The 7-pixel float SSIM at the best point is reported beside it.

Per case: the reference workload (20 pairs of 1024 x 1024 ``numpy.fft.rfft2``/``irfft2``)
timed in the same run, interleaved with the evaluation timings; the median time of one evaluation (simulate + register + FOM) over
evaluations with distinct parameters (cold path: nothing is cached on parameters); a cProfile
of evaluations; and one ``fuse`` with the case's optimizer settings under a wall-time limit,
from whose ``progress.csv`` come the best FOM (d_trans, d_sim), the evaluations and seconds to
reach the paper's best FOM, and the best FOM after 60 s and at the limit.

Output: a new folder ``./ingrained-benchmark-<timestamp>/`` by default (``--out`` names
another; nothing there is overwritten), holding ``paper-<timestamp>.json`` and
``paper-<timestamp>.md`` (rewritten after every case, so a finished case's record is kept
whatever happens to the next one) and, unless ``--runs`` names another folder, ``runs/``
with the cases' run directories. One record per case and mode (apps.benchmark_modes:
``--structure``, ``--start``, ``--refine``).

The Cu2O case's density: ``examples/cu2o_111/Cu2O_111.PARCHG`` if the example's
make_density.py wrote it, else the same synthetic density made once with
``ingrained_stm.synthetic`` (the logic of make_density.py) into the user's cache folder
(:func:`cache_dir`: ``$INGRAINED_CACHE_DIR``, else platformdirs' user cache, else
``$XDG_CACHE_HOME`` or ``~/.cache``, then ``ingrained/``) and reused from there.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import json
import math
import os
import platform
import pstats
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from ingrained_core.apps.benchmark_modes import DEFAULTS, apply_modes, combinations, mode_label
from ingrained_core.plugin.errors import ConfigError, IngrainedError
from ingrained_core.plugin.files import write_text

#: Target: one evaluation costs at most this fraction of the reference workload.
EVAL_FRACTION_TARGET = 0.01  # issue 18's target (was 0.02)


@dataclass(frozen=True)
class Case:
    """One benchmark case: its example config, the paper's best crop and FOM."""

    name: str
    config: str  # relative to the examples folder
    crop: tuple[int, int]
    paper_fom: float
    like_for_like: bool
    description: str


CASES: dict[str, Case] = {
    "twin": Case("twin", "cdte_twin/fuse.toml", (195, 153), 0.17869, True,
                 "CdTe {111} twin, HAADF (paper Case 1)"),
    "ni": Case("ni", "ni_m3b2/fuse.toml", (283, 169), 0.26242, True,
               "Ni/M3B2 interface, HAADF (paper Case 2)"),
    "cu2o": Case("cu2o", "cu2o_111/fuse.toml", (79, 79), 0.21526, False,
                 "Cu2O(111) STM, synthetic density (paper Case 3; not the paper's DFT density)"),
}


def examples_dir() -> Path:
    """The repository's ``examples`` folder (the benchmark needs a source checkout)."""
    here = Path(__file__).resolve().parents[2] / "examples"
    if not here.is_dir():
        raise ConfigError(f"the benchmark needs the repository's examples folder, not found at {here}")
    return here


def reference_workload(rng: np.random.Generator | None = None) -> float:
    """Seconds for 20 pairs of 1024 x 1024 ``numpy.fft.rfft2`` / ``irfft2`` (the yardstick)."""
    rng = rng or np.random.default_rng(0)
    a = rng.random((1024, 1024))
    t0 = time.perf_counter()
    for _ in range(20):
        np.fft.irfft2(np.fft.rfft2(a), s=a.shape)
    return time.perf_counter() - t0


def case_overrides(case: Case, time_limit: float) -> list[str]:
    """The crop fixed at the paper's best size, and the wall-time limit."""
    h, w = case.crop
    return [
        f"forward_model.params.crop_height={{ start = {h}, fixed = true }}",
        f"forward_model.params.crop_width={{ start = {w}, fixed = true }}",
        f"optimizer.time_limit={float(time_limit)}",
    ]


def draw_values(problem: Any, n: int, seed: int = 1) -> list[dict[str, float]]:
    """``n`` distinct parameter sets around the start point (Gaussian, 5 % of each range,
    clipped to the box)."""
    rng = np.random.default_rng(seed)
    x0 = problem.space.x0
    return [problem.space.values(np.clip(x0 + rng.normal(0.0, 0.05, x0.shape), 0.0, 1.0)) for _ in range(n)]


def time_blocks(problem: Any, values: list[dict[str, float]], blocks: int = 4) -> dict[str, Any]:
    """Seconds per evaluation of ``values``, in ``blocks`` blocks with the reference
    workload timed before the first and after every block; the ratio to the reference is
    the median over blocks of (block median) / (mean of the two references around it), so a
    change in the machine's load during the measurement hits both sides of each ratio alike.
    Fewer values than blocks: one block a value (no block is ever empty)."""
    if not values:
        raise ValueError("time_blocks needs at least one parameter set to time")
    blocks = max(1, min(blocks, len(values)))
    ref_rng = np.random.default_rng(0)
    references = [reference_workload(ref_rng)]
    times: list[float] = []
    ratios = []
    per_block = max(1, len(values) // blocks)
    for b in range(blocks):
        block = []
        for v in values[b * per_block:(b + 1) * per_block]:
            t = time.perf_counter()
            problem.evaluate(v)
            block.append(time.perf_counter() - t)
        references.append(reference_workload(ref_rng))
        ratios.append(statistics.median(block) / (0.5 * (references[-2] + references[-1])))
        times.extend(block)
    return {"median_s": statistics.median(times), "p10_s": float(np.percentile(times, 10)),
            "p90_s": float(np.percentile(times, 90)), "samples": len(times), "references_s": references,
            "ratio": statistics.median(ratios), "block_ratios": ratios}


def time_evaluations(problem: Any, samples: int, seed: int = 1, blocks: int = 4) -> dict[str, Any]:
    """:func:`time_blocks` over ``samples`` distinct parameter sets drawn around the start
    point (:func:`draw_values`), after 3 warm-up calls."""
    values = draw_values(problem, samples + 3, seed)
    for v in values[:3]:
        problem.evaluate(v)
    return time_blocks(problem, values[3:], blocks)


def profile_evaluations(problem: Any, n: int = 30, seed: int = 2, top: int = 25) -> str:
    """cProfile of ``n`` evaluations (distinct parameters), cumulative-time listing."""
    rng = np.random.default_rng(seed)
    x0 = problem.space.x0
    points = [problem.space.values(np.clip(x0 + rng.normal(0.0, 0.05, x0.shape), 0.0, 1.0)) for _ in range(n)]
    prof = cProfile.Profile()
    prof.enable()
    for v in points:
        problem.evaluate(v)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(top)
    return f"cProfile of {n} evaluations (divide times by {n} for one)\n" + buf.getvalue()


def seconds_to_final_from_fuse(best: dict[str, Any], figures: dict[str, Any], fuse_wall0: float,
                               setup_s: float) -> float | None:
    """Seconds from the call of ``fuse`` to the winning start's first evaluation within 1e-5 of
    the final FOM: (its ``started_at`` - the call) + its own time to it. Without a
    ``started_at`` (a screened recipe's record): the separately timed set-up + that time."""
    to_final = figures["seconds_to_final_fom"]
    if to_final is None:
        return None
    started = best.get("started_at")
    offset = (float(started) - fuse_wall0) if started is not None else setup_s
    segments = best.get("segments") or []
    k = figures.get("evals_to_final_fom")
    if segments and k is not None:  # a raced or resumed start: the wall clock of the segment that ran evaluation k
        seg = segments[0]
        for s in segments:
            if int(s["evaluations"]) < int(k):
                seg = s
        offset = float(seg["started_at"]) - fuse_wall0 - float(seg["elapsed_s"])
    return round(offset + to_final, 2)


def trace_figures(rows: list[dict[str, Any]], paper_fom: float, marks: tuple[float, ...] = (60.0, 300.0)) -> dict[str, Any]:
    """From ``progress.csv`` rows (one start): evaluations/seconds to the paper's FOM, best at marks."""
    out: dict[str, Any] = {"reached_paper_fom": False, "evals_to_paper_fom": None, "seconds_to_paper_fom": None}
    best = math.inf
    at = {m: math.inf for m in marks}
    for r in rows:
        fom = float(r["fom"])
        t = float(r["elapsed_s"])
        best = min(best, fom)
        for m in marks:
            if t <= m:
                at[m] = best
        if out["evals_to_paper_fom"] is None and fom <= paper_fom:
            out.update(reached_paper_fom=True, evals_to_paper_fom=int(r["eval"]), seconds_to_paper_fom=round(t, 2))
    for m in marks:
        out[f"fom_at_{int(m)}s"] = None if math.isinf(at[m]) else at[m]
    # the first evaluation within 1e-5 of the final best (how soon the fit had its answer)
    near = next((r for r in rows if float(r["fom"]) <= best + 1e-5), None) if rows else None
    out["evals_to_final_fom"] = None if near is None else int(near["eval"])
    out["seconds_to_final_fom"] = None if near is None else round(float(near["elapsed_s"]), 2)
    return out


#: the synthetic Cu2O(111) density's file name (as examples/cu2o_111/fuse.toml names it)
CU2O_DENSITY = "Cu2O_111.PARCHG"
#: grid spacing (Å) of the example's synthetic density (examples/cu2o_111/make_density.py)
CU2O_SPACING = 0.1


def cache_dir() -> Path:
    """The user's cache folder for ingrained: ``$INGRAINED_CACHE_DIR``, else platformdirs'
    user cache folder, else ``$XDG_CACHE_HOME`` (or ``~/.cache``) + ``/ingrained``."""
    env = os.environ.get("INGRAINED_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs
    except ImportError:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base / "ingrained"
    return Path(platformdirs.user_cache_dir("ingrained", appauthor=False))


def cu2o_density(examples: Path | None = None, *, cache: Path | None = None, spacing: float = CU2O_SPACING,
                 echo: Any = None) -> Path:
    """The Cu2O case's synthetic density: the example's file when make_density.py wrote it,
    else the cached copy, else made now (ingrained_stm.synthetic, ~15 s at 0.1 Å) and cached."""
    local = (examples or examples_dir()) / "cu2o_111" / CU2O_DENSITY
    if local.is_file():
        return local
    target = (cache or cache_dir()) / "cu2o_111" / f"Cu2O_111-synthetic-{spacing:g}A.PARCHG"
    if target.is_file():
        return target
    try:
        from ingrained_stm.synthetic import make_cu2o_111_parchg
    except ImportError as exc:
        raise ConfigError("benchmark case 'cu2o' makes its synthetic density with the STM plugin, which is not "
                          "installed: pip install -e plugins/ingrained_stm") from exc
    if echo:
        echo(f"case cu2o: making the synthetic Cu2O(111) density once, into {target} "
             "(the logic of examples/cu2o_111/make_density.py) ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}-{os.getpid()}.PARCHG")
    try:
        make_cu2o_111_parchg(tmp, spacing=spacing)
        os.replace(tmp, target)  # atomic: a concurrent or interrupted run never sees half a file
    finally:
        tmp.unlink(missing_ok=True)
    return target


def case_config(case: Case, *, time_limit: float, overrides: list[str], modes: dict[str, str] | None = None,
                examples: Path | None = None, echo: Any = None) -> tuple[Any, Path]:
    """The case's validated RunConfig and its config path: the example's ``fuse.toml`` with
    the crop fixed and the time limit set, the modes applied, then the user's overrides."""
    from ingrained_core.engine.config import apply_overrides, read_config_file, validate_config

    examples = examples or examples_dir()
    cfg_path = examples / case.config
    if not cfg_path.is_file():
        raise ConfigError(f"benchmark case {case.name!r}: config not found at {cfg_path}")
    data = apply_overrides(read_config_file(cfg_path), case_overrides(case, time_limit))
    if case.name == "cu2o":
        model = data.setdefault("forward_model", {})
        if not (cfg_path.parent / str(model.get("input", CU2O_DENSITY))).is_file():
            model["input"] = str(cu2o_density(examples, echo=echo))
    data = apply_modes(case, data, modes or dict(DEFAULTS))
    data = apply_overrides(data, list(overrides))
    return validate_config(data, cfg_path.parent, source=str(cfg_path)), cfg_path


def run_case(case: Case, *, time_limit: float, runs_dir: Path, samples: int, overrides: list[str],
             examples: Path | None = None, modes: dict[str, str] | None = None, run_name: str | None = None,
             echo: Any = None) -> dict[str, Any]:
    """Benchmark one case in one mode; returns its record (see the module docstring)."""
    from ingrained_core.engine.problem import build_problem
    from ingrained_core.engine.progress import read_progress
    from ingrained_core.engine.run import fuse
    from ingrained_core.builtins.similarity import FloatSSIM7

    modes = modes or dict(DEFAULTS)
    cfg, cfg_path = case_config(case, time_limit=time_limit, overrides=overrides, modes=modes, examples=examples,
                                echo=echo)
    t0 = time.perf_counter()
    problem = build_problem(cfg)
    setup_s = time.perf_counter() - t0
    timing = time_evaluations(problem, samples)
    profile = profile_evaluations(problem)
    reference = timing["references_s"]
    ref_s = statistics.median(reference)

    run_dir = runs_dir / (run_name or case.name)
    t0 = time.perf_counter()
    fuse_wall0 = time.time()  # against the winning start's started_at (a parallel start may begin late)
    from ingrained_core.engine.deadline import own_clock

    with own_clock():  # --time is each case's own limit, counted from its fuse's start
        if modes.get("structure") == "recipe":  # a recipe is screened (apps.recipe_screen), as a user's fuse would
            from ingrained_core.apps.api import fuse as api_fuse

            result = api_fuse(cfg, run_dir, force=True)  # the screen writes the winner's outputs itself
        else:
            result = fuse(cfg, run_dir, force=True)  # the fit alone is timed (and held to --time)
    wall_s = time.perf_counter() - t0
    from ingrained_core.apps.outputs import finish_run

    t0 = time.perf_counter()
    if modes.get("structure") != "recipe":
        finish_run(run_dir, problem=problem)  # then the figure, calibrated files and report
    outputs_s = time.perf_counter() - t0
    best = result.best
    header, rows = read_progress(run_dir / "starts" / f"{best['start']:02d}" / "progress.csv") \
        if "evaluations_all_starts" in best and "start" in best else read_progress(run_dir / "progress.csv")
    figures = trace_figures(rows, case.paper_fom, (60.0, float(time_limit)))
    sim = result.simulation()
    exp = result.experiment()
    p = best["patch"]
    patch = exp[p["row"] : p["row"] + p["height"], p["col"] : p["col"] + p["width"]]
    opt = cfg.optimizer
    eval_fraction = timing["ratio"]
    record = {
        "case": case.name,
        "modes": dict(modes),
        "mode": mode_label(modes),
        "description": case.description,
        "config": str(cfg_path),
        "run_dir": str(run_dir),
        "crop": list(case.crop),
        "like_for_like": case.like_for_like,
        "paper_best_fom": case.paper_fom,
        "optimizer": {"name": opt.name, "options": opt.options, "starts": opt.starts, "executor": opt.executor,
                      "time_limit": opt.time_limit, "max_evals": opt.max_evals},
        "best_fom": best["fom"],
        "best_d_trans": best["d_trans"],
        "best_d_sim": best["d_sim"],
        "best_params": {k: best["params"][k] for k in problem.space.free_names},
        "best_evaluation": best["evaluation"],
        "d_sim_ssim_float7_at_best": round(FloatSSIM7().distance(sim, patch), 6),
        "evaluations": best.get("evaluations_all_starts", best["evaluations"]),
        "stop_reason": best.get("stop_reason"),
        "run_wall_s": round(wall_s, 2),
        "outputs_s": round(outputs_s, 2),
        **figures,
        "beats_paper": bool(best["fom"] <= case.paper_fom),
        "setup_s": round(setup_s, 3),
        # from the start of fuse (its own set-up, start estimation and global stage, and for
        # several starts the workers' start-up, included) to the first evaluation within 1e-5
        # of the final FOM: the winning start's start on the wall clock + its own time to it
        "fuse_seconds_to_final_fom": seconds_to_final_from_fuse(best, figures, fuse_wall0, setup_s),
        "eval_median_ms": round(1e3 * timing["median_s"], 3),
        "eval_p10_ms": round(1e3 * timing["p10_s"], 3),
        "eval_p90_ms": round(1e3 * timing["p90_s"], 3),
        "eval_samples": timing["samples"],
        "reference_workload_s": round(ref_s, 4),
        "reference_workload_runs_s": [round(r, 4) for r in reference],
        "eval_over_reference": round(eval_fraction, 5),
        "eval_over_reference_blocks": [round(r, 5) for r in timing["block_ratios"]],
        "blas_threads_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        "eval_target_met": bool(eval_fraction <= EVAL_FRACTION_TARGET),
        "profile": profile,
    }
    if modes.get("refine") == "multislice":  # the multislice refinement from this fit's best
        from ingrained_core.apps.bench_refine import refine_stage

        record["refine"] = refine_stage(case, cfg, result, wall_s, runs_dir / f"{run_dir.name}-multislice",
                                        say=echo)
    if "screen" in best:  # a screened recipe: the candidates, the budgets, the published-equivalent's rank
        from ingrained_core.apps.bench_recipe import published_rank

        scr = best["screen"]
        record["screen"] = {k: scr.get(k) for k in ("winner", "candidates", "budget", "keep", "refine", "probe",
                                                     "placement_range")}
        record["screen"]["structure_choices"] = best.get("structure_choices")
        record["screen"]["published_equivalent"] = published_rank(run_dir, cfg_path.parent / "bicrystal.POSCAR.vasp")
    return record


def machine() -> dict[str, Any]:
    """CPU, core count, versions and load: what the figures depend on."""
    import scipy

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def _fmt(v: Any, digits: int = 5) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def markdown_table(result: dict[str, Any]) -> str:
    """The benchmark as a Markdown table (one column per case)."""
    failed = [c for c in result["cases"] if "error" in c]
    cases = [c for c in result["cases"] if "error" not in c]
    limit = int(result["time_limit_s"])
    rows = [
        ("paper's best FOM (same crop)", lambda c: _fmt(c["paper_best_fom"]) + ("" if c["like_for_like"] else " (DFT density)")),
        ("crop (fixed)", lambda c: f"{c['crop'][0]} x {c['crop'][1]}"),
        ("best FOM (d_trans, d_sim)", lambda c: f"{_fmt(c['best_fom'])} ({c['best_d_trans']}, {_fmt(c['best_d_sim'])})"),
        ("reached the paper's FOM", lambda c: _fmt(c["reached_paper_fom"]) if c["like_for_like"] else "n/a"),
        ("evaluations / s to the paper's FOM", lambda c: (f"{c['evals_to_paper_fom']} / {c['seconds_to_paper_fom']:.1f} s"
                                                           if c["reached_paper_fom"] and c["like_for_like"] else "-")),
        ("s from the start of fuse to within 1e-5 of the final FOM", lambda c: _fmt(c.get("fuse_seconds_to_final_fom"), 3)),
        ("best FOM after 60 s", lambda c: _fmt(c["fom_at_60s"])),
        (f"best FOM after {limit} s", lambda c: _fmt(c[f"fom_at_{limit}s"])),
        ("evaluations (stop reason)", lambda c: f"{c['evaluations']} ({c['stop_reason']})"),
        ("d_sim with 7-px float SSIM at the best (beside)", lambda c: _fmt(c["d_sim_ssim_float7_at_best"])),
        ("evaluation median (p10-p90)", lambda c: f"{c['eval_median_ms']:.1f} ms ({c['eval_p10_ms']:.1f}-{c['eval_p90_ms']:.1f})"),
        ("reference workload", lambda c: f"{1e3 * c['reference_workload_s']:.0f} ms"),
        ("evaluation / reference (target <= 1 %)", lambda c: f"{100 * c['eval_over_reference']:.2f} %"),
    ]
    if any("refine" in c for c in cases):
        rows.append(("multislice refinement: FOM at thickness (x cost per evaluation)",
                     lambda c: (f"{_fmt(c['refine']['multislice']['fom'])} at {c['refine']['multislice']['thickness']:.1f} Å "
                                f"(x{c['refine']['cost_ratio_per_evaluation']})") if "refine" in c else "-"))
    names = [c["case"] if c.get("modes", DEFAULTS) == DEFAULTS else f"{c['case']} ({c['mode']})" for c in cases]
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, f in rows:
        lines.append(f"| {label} | " + " | ".join(f(c) for c in cases) + " |")
    text = "\n".join(lines) + "\n" if cases else ""
    for c in failed:
        text += f"\n{c['case']} ({c.get('mode', '')}) failed: {c['error']}\n"
    return text


def _fresh(path: Path) -> Path:
    """``path``, or ``path`` with ``-2``, ``-3``, ... before its suffix: a name not yet taken."""
    if not path.exists():
        return path
    n = 2
    while (candidate := path.with_name(f"{path.stem}-{n}{path.suffix}")).exists():
        n += 1
    return candidate


def output_folder(out: str | Path | None, stamp: str) -> Path:
    """The benchmark's output folder: ``out`` (made if missing), or by default a new
    ``./ingrained-benchmark-<stamp>/`` (``-2``, ... when taken); never an existing default."""
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    while True:
        folder = _fresh(Path.cwd() / f"ingrained-benchmark-{stamp}")
        try:
            folder.mkdir(parents=True, exist_ok=False)
            return folder
        except FileExistsError:  # taken meanwhile by a concurrent run: the next name
            continue


def run_benchmark(cases: list[str], *, time_limit: float = 300.0, out: str | Path | None = None,
                  runs_dir: str | Path | None = None, samples: int = 100, overrides: list[str] | None = None,
                  modes: list[dict[str, str]] | None = None, command: str = "", echo: Any = None) -> dict[str, Any]:
    """Run the named cases one after the other, in each mode combination (default: the
    published one); after every case (re)write ``paper-<stamp>.json`` and ``paper-<stamp>.md``
    in the output folder (:func:`output_folder`); a failing case is recorded with its error
    and the others still run."""
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise ConfigError(f"unknown benchmark case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    modes = modes or combinations({})
    now = dt.datetime.now()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    folder = output_folder(out, stamp)
    json_path = _fresh(folder / f"paper-{stamp}.json")
    md_path = _fresh(folder / f"paper-{stamp}.md")
    json_path.touch()  # claim the names at once (no other run picks them)
    md_path.touch()
    runs = Path(runs_dir) if runs_dir else folder / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    say = echo or (lambda s: None)
    result: dict[str, Any] = {
        "benchmark": "ingrained against the published results (paper Cases 1-3)",
        "date": now.isoformat(timespec="seconds"),
        "command": command,
        "out": str(folder.resolve()),
        "out_given": out is not None,
        "runs": str(runs.resolve()),
        "runs_given": runs_dir is not None,
        "runs_dir": str(runs.resolve()),
        "time_limit_s": float(time_limit),
        "samples": int(samples),
        "overrides": list(overrides or []),
        "modes": [mode_label(m) for m in modes],
        "eval_fraction_target": EVAL_FRACTION_TARGET,
        "machine": machine(),
        "cases": [],
        "complete": False,
    }
    result["paths"] = [str(json_path), str(md_path)]

    def write() -> str:
        result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        table = markdown_table(result)
        write_text(json_path, json.dumps({k: v for k, v in result.items() if k != "paths"}, indent=2) + "\n")
        write_text(md_path, f"# Benchmark against the paper ({result['date']})\n\n`{command}`\n\n"
                            f"{result['machine']['cpu']}, {result['machine']['cpu_count']} cores\n\n{table}")
        return table

    write()
    for name in cases:
        for m in modes:
            label = mode_label(m)
            run_name = name if m == DEFAULTS else f"{name}-" + "-".join(m[a] for a in m)
            say(f"case {name} ({label}): {CASES[name].description}, {time_limit:.0f} s ...")
            try:
                rec = run_case(CASES[name], time_limit=time_limit, runs_dir=runs, samples=samples,
                               overrides=list(overrides or []), modes=m, run_name=run_name, echo=say)
            except (IngrainedError, ValidationError) as exc:  # a user error of this case: recorded, next case
                rec = {"case": name, "modes": dict(m), "mode": label, "error": str(exc)}
                say(f"case {name} ({label}) failed: {exc}")
            else:
                say(f"case {name}: best FOM {rec['best_fom']:.5f} (paper {rec['paper_best_fom']}), "
                    f"evaluation {rec['eval_median_ms']:.1f} ms = {100 * rec['eval_over_reference']:.2f} % of the reference")
            result["cases"].append(rec)
            write()  # this case's record is on disk now, whatever happens to the next one
            say(f"case {name}: record written to {json_path}")
    result["complete"] = True
    result["failed"] = [c["case"] for c in result["cases"] if "error" in c]
    result["table"] = write()
    return result
