"""Resolving ``start = "auto"`` where the problem is built, the global stage, ``start.json``,
and the calibration-against-fit record.

:func:`resolve_automatic_start` runs before the parameter space is made: it estimates the
automatic parameters (the image's lattice and the file's calibration) and fills the best
lattice candidate in as their start. :func:`global_stage` then evaluates every candidate
and starts around each on the built problem, ranked by FOM, and moves the start to the
best. The run config that leaves (and that ``config.toml`` records) holds plain numbers,
so the parallel starts, ``resume`` and ``frames`` never estimate again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ingrained_core.engine.autostart.estimate import Candidate, estimate_from_lattice
from ingrained_core.engine.autostart.peaks import NoLatticeError
from ingrained_core.engine.autostart.reference import DISTORTION, GEOMETRIC
from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.params import ParamSpec

START_FILE = "start.json"


def automatic_names(cfg: Any, params_cls: Any) -> list[str]:
    """The parameters whose start is ``"auto"`` (only geometric ones may be)."""
    names = [n for n, s in cfg.forward_model.params.items() if s.auto]
    wrong = [n for n in names if n not in GEOMETRIC or n not in params_cls.model_fields]
    if wrong:
        known = [n for n in GEOMETRIC if n in params_cls.model_fields]
        raise ConfigError(
            f"forward_model.params.{wrong[0]}: start = \"auto\" is only for the geometric parameters of "
            f"{cfg.forward_model.name!r} ({', '.join(known)})")
    return [n for n in GEOMETRIC if n in names]


def missing_start_notices(cfg: Any, params_cls: Any) -> list[str]:
    """A notice for each free geometric parameter without a start (its default is used)."""
    described = params_cls.describe()
    out = []
    for n in GEOMETRIC:
        if n not in described or not described[n]["free"]:
            continue
        spec = cfg.forward_model.params.get(n, ParamSpec())
        if spec.start is None and not spec.auto and not spec.fixed:
            out.append(f"forward_model.params.{n} has no start: the model's default {described[n]['default']:g} "
                       f"is used; start = \"auto\" estimates it from the image's lattice (docs/autostart.md)")
    return out


def _with_starts(cfg: Any, values: dict[str, float]) -> Any:
    specs = dict(cfg.forward_model.params)
    for n, v in values.items():
        specs[n] = specs.get(n, ParamSpec()).model_copy(update={"start": float(v), "auto": None})
    return cfg.model_copy(update={"forward_model": cfg.forward_model.model_copy(update={"params": specs})})


def resolve_automatic_start(cfg: Any, model: Any, experiment: Any, space_of: Any) -> tuple[Any, dict[str, Any]]:
    """``cfg`` with the automatic starts filled in, and the estimate's report.

    ``space_of(cfg)`` builds the parameter space of a config (automatic starts not yet
    resolved sit at the model's default, inside the bounds).
    """
    notices = missing_start_notices(cfg, model.Params)
    names = automatic_names(cfg, model.Params)
    if not names:
        return cfg, {"notices": notices} if notices else {}
    if cfg.forward_model.start_from is not None:
        notices.append(f"forward_model.start_from is set: its values replace start = \"auto\" of {', '.join(names)}")
        return cfg, {"notices": notices}
    specs = cfg.forward_model.params
    fallback = {n: specs[n].start for n in names if specs[n].start is not None}
    space = space_of(cfg)
    base = space.values(space.x0)
    free = {p.name: (p.min, p.max) for p in space.free}
    bounds = {n: free.get(n, (base[n], base[n])) for n in names}
    calibration = experiment.pixel_size
    ac = cfg.autostart
    if "pixel_size" in names:
        lo, hi = bounds["pixel_size"]
        p0 = calibration if calibration is not None and lo <= calibration <= hi else math.sqrt(lo * hi)
    else:
        p0 = base["pixel_size"]
    image_name = f"experiment {experiment.source}" if experiment.source else "experiment"
    structure_name = (f"the structure of {cfg.structure.builder!r}" if cfg.structure is not None
                      else f"the input of {cfg.forward_model.name!r}")
    if cfg.structure is not None and cfg.structure.builder_fields().get("path"):
        structure_name = f"structure {cfg.structure.builder_fields()['path']}"
    elif cfg.forward_model.input is not None:
        structure_name = f"input {cfg.forward_model.input}"
    report: dict[str, Any] = {"parameters": names, "bounds": {n: list(b) for n, b in bounds.items()},
                              "reference_pixel_size": p0, "notices": notices,
                              "calibration": _calibration_source(experiment)}
    try:
        est = estimate_from_lattice(experiment.data, model, base, names, bounds, p0=p0, max_peaks=ac.max_peaks,
                                    min_ratio=ac.min_peak_ratio, image_name=image_name,
                                    structure_name=structure_name, workers=estimate_workers(ac))
    except NoLatticeError as exc:
        if len(fallback) == len(names):
            notices.append(f"{exc}; the configured starts are used instead ("
                           + ", ".join(f"{n} = {v:g}" for n, v in fallback.items()) + ")")
            report.update(status="fallback", error=str(exc), estimate={}, candidates=[])
            return _with_starts(cfg, fallback), report
        need = ", ".join(n for n in names if n not in fallback)
        raise ConfigError(
            f"{exc}. start = \"auto\" cannot estimate {need}: give forward_model.params.{need.split(',')[0]} a start "
            f"value (e.g. {{ start = <value>, auto = true }} to use it when no lattice is found)") from None
    candidates = list(est.candidates)
    if calibration is not None and "pixel_size" in names and bounds["pixel_size"][0] <= calibration <= bounds["pixel_size"][1]:
        vals = {n: (float(calibration) if n == "pixel_size" else min(max(0.0, bounds[n][0]), bounds[n][1])
                    if n in DISTORTION and n != "rotation" else base[n]) for n in names}
        if "rotation" in names and candidates:
            vals["rotation"] = candidates[0].values["rotation"]
        candidates.append(Candidate(vals, "calibration"))
    if not candidates:
        msg = (f"{image_name}: its lattice ({est.experiment_peaks.k.shape[0]} peaks) matches {structure_name} "
               f"nowhere inside the bounds of {', '.join(names)}")
        if len(fallback) == len(names):
            notices.append(msg + "; the configured starts are used instead")
            report.update(status="fallback", error=msg, estimate={}, candidates=[])
            return _with_starts(cfg, fallback), report
        raise ConfigError(msg + ": widen the bounds, check the structure and its orientation, or give start values")
    best = candidates[0]
    report.update(
        status="estimated",
        experiment_peaks=est.experiment_peaks.as_list(),
        reference_peaks=est.reference.peaks.as_list(),
        reference_flip_rows=est.reference.flip,
        rejected_maps=est.rejected,
        candidates=[c.as_dict() for c in candidates],
        estimate={n: best.values[n] for n in names},
        uncertainty=best.uncertainty,
    )
    if calibration is not None and "pixel_size" in names:
        report["calibration"]["ratio_estimate_to_calibration"] = best.values["pixel_size"] / calibration
    report["_candidates"] = candidates
    cfg = _with_starts(cfg, rounded_start(best.values))
    provenance = {**cfg.provenance, "autostart": {"parameters": names, "record": START_FILE}}
    return cfg.model_copy(update={"provenance": provenance}), report


def estimate_workers(ac: Any) -> int:
    """Processes for the estimate's decompositions: ``autostart.estimate_workers``, else the
    machine's cores (at most 4: about 150 fits do not fill more)."""
    if ac.estimate_workers is not None:
        return int(ac.estimate_workers)
    from ingrained_core.engine.parallel import default_workers

    return default_workers(4)


def _calibration_source(experiment: Any) -> dict[str, Any]:
    md = experiment.metadata or {}
    file_px = md.get("file_pixel_size", experiment.pixel_size) if "file_pixel_size" in md else experiment.pixel_size
    return {"pixel_size": experiment.pixel_size, "file_pixel_size": file_px,
            "source": "experiment.pixel_size" if "file_pixel_size" in md else ("file" if experiment.pixel_size else None)}


def global_stage(problem: Any, report: dict[str, Any], space_of: Any) -> Any:
    """Evaluate the candidates and starts around each, rank by FOM, start from the best.

    Returns the problem with its config and parameter space moved to the winner."""

    candidates: list[Candidate] = report.pop("_candidates", [])
    cfg = problem.config
    ac = cfg.autostart
    names = report.get("parameters", [])
    if not candidates:
        return problem
    if not ac.evaluate:
        return _local_start(problem, report, dict(candidates[0].values), space_of)
    lattice = [c for c in candidates if c.source == "lattice"]
    # Only matches the lattice supports about as well as the best one compete on FOM: the
    # FOM at a start point (before any local search) can favour a strongly distorted
    # partial match over the right lattice (Cu2O: 0.17 Å with shear 0.36 over 0.27 Å).
    top = max((c.score for c in lattice), default=0.0)
    lattice = [c for c in lattice if c.score >= ac.min_relative_score * top][: ac.candidates]
    chosen = lattice + [c for c in candidates if c.source == "calibration"]
    rng = np.random.default_rng(ac.seed)
    bounds = {n: tuple(b) for n, b in report["bounds"].items()}
    points: list[tuple[int, dict[str, float]]] = []
    for ci, c in enumerate(chosen):
        points.append((ci, dict(c.values)))
        for _ in range(ac.around):
            v = {}
            for n in names:
                x = c.values[n]
                if n == "pixel_size":
                    x *= 1.0 + rng.uniform(-ac.pixel_spread, ac.pixel_spread)
                elif n == "rotation":
                    x += rng.uniform(-ac.rotation_spread, ac.rotation_spread)
                else:
                    x += rng.uniform(-ac.distortion_spread, ac.distortion_spread)
                v[n] = float(min(max(x, bounds[n][0]), bounds[n][1]))
            points.append((ci, v))
    base = problem.space.values(problem.space.x0)
    results = _evaluate_points(problem, [{**base, **v} for _, v in points], ac.workers)
    ranking = []
    for (ci, v), (fom, error) in zip(points, results):
        ranking.append({"candidate": ci, "source": chosen[ci].source, "values": v, "fom": fom, "error": error})
    ok = [r for r in ranking if r["fom"] is not None]
    if not ok:
        report["notices"].append("the global stage found no feasible start; the best lattice match is used")
        report["global_stage"] = {"evaluations": len(ranking), "ranking": ranking}
        return problem
    ok.sort(key=lambda r: r["fom"])
    win = ok[0]
    report["global_stage"] = {"evaluations": len(ranking), "best": win,
                              "ranking": sorted(ranking, key=lambda r: (r["fom"] is None, r["fom"] or 0.0))}
    problem = _local_start(problem, report, dict(win["values"]), space_of)
    return _tied_starts(problem, report, ok, space_of)


def _tied_starts(problem: Any, report: dict[str, Any], ok: list[dict[str, Any]], space_of: Any) -> Any:
    """When the start FOMs cannot tell the best starts apart, run the local search from several.

    A start FOM (before any local search) within ``autostart.tie`` of the best says little
    about where a local search from it ends: on Cu2O(111) the five best starts scored
    0.7007-0.7029 and local searches from the first three ended at 0.25997, 0.26923 and
    0.25077. The distinct tied starts (as the local search would start from them), up to
    ``autostart.local_searches``, become the run's starts 0, 1, ... (start 0 the best);
    the best end point wins (multistart.aggregate)."""
    cfg = problem.config
    ac = cfg.autostart
    if ac.local_searches <= 1:
        return problem
    names = report.get("parameters", [])
    best = ok[0]["fom"]
    tied = [r for r in ok if r["fom"] <= best + ac.tie * abs(best)]
    starts: list[dict[str, float]] = [dict(report["start"])]
    for r in tied[1:]:
        if len(starts) >= ac.local_searches:
            break
        values = _projected(problem, report, dict(r["values"]))
        if all(max(abs(values[n] - s[n]) for n in names) > 1e-9 for s in starts):
            starts.append(values)
    report["local_searches"] = {"tie": ac.tie, "tied": len(tied), "starts": starts,
                                "start_foms": [r["fom"] for r in tied[: len(starts)]]}
    if len(starts) < 2:
        return problem
    from dataclasses import replace

    opt = cfg.optimizer
    given = list(starts[1:]) + list(opt.start_values)  # the user's own extra starts follow
    update: dict[str, Any] = {"starts": max(opt.starts, len(given) + 1), "start_values": given}
    race = opt.race_evals is None and ac.race_evals is not None and update["starts"] > opt.race_keep
    if race:  # more searches than go on: they race (optimizer.race_evals, engine/race.py)
        update["race_evals"] = ac.race_evals
    new_opt = opt.model_copy(update=update)
    new_cfg = cfg.model_copy(update={"optimizer": new_opt})
    report["local_searches"]["race_evals"] = new_opt.race_evals
    report["local_searches"]["race_keep"] = new_opt.race_keep
    raced = (f"; they race: {ac.race_evals} evaluations each, then the best {opt.race_keep} go on (autostart.race_evals)"
             if race else "")
    report["notices"].append(
        f"{len(tied)} global-stage starts tie within {100 * ac.tie:g} % of the best FOM ({best:.5f}); the local "
        f"search runs from {len(starts)} of them (autostart.local_searches) and the best end point wins{raced}")
    return replace(problem, config=new_cfg, space=space_of(new_cfg))


def _projects(report: dict[str, Any]) -> bool:
    """Whether the local search starts from a start's undistorted similarity (mode "none"
    with shear or stretch among the estimated parameters)."""
    names = report.get("parameters", [])
    return report.get("start_distortion") == "none" and any(n in DISTORTION and n != "rotation" for n in names)


def _projected(problem: Any, report: dict[str, Any], values: dict[str, float]) -> dict[str, float]:
    """``values`` as the local search starts from them: their undistorted similarity where
    :func:`_projects`, rounded (:func:`rounded_start`)."""
    from ingrained_core.engine.autostart.estimate import similarity_start

    if _projects(report):
        bounds = {n: tuple(b) for n, b in report["bounds"].items()}
        values = similarity_start(values, problem.model, problem.space.values(problem.space.x0),
                                  report.get("parameters", []), bounds)
    return rounded_start(values)


#: Decimals the automatic start values keep (Å, degrees, shear and stretch): far below the
#: estimate's own uncertainty (1e-3 and more), far above the 1e-10 by which the linear
#: algebra's rounding moves it with the BLAS thread count.
START_DECIMALS = 6


def rounded_start(values: dict[str, float]) -> dict[str, float]:
    """The start values rounded to :data:`START_DECIMALS`, so the same image and config give
    the same start on any machine and thread count (a local search from a start that
    differs in the tenth digit can end elsewhere: docs/autostart.md)."""
    return {k: round(float(v), START_DECIMALS) for k, v in values.items()}


def evaluate_points_task(config_data: dict[str, Any], points: list[dict[str, float]], chunk: int
                         ) -> list[tuple[float | None, str | None]]:
    """One chunk of the global stage's starts on a worker: the problem rebuilt from the run
    config (its automatic starts already resolved to numbers, so nothing is estimated
    again), each point evaluated; ``(fom or None, error or None)`` per point."""
    from pathlib import Path

    from ingrained_core.engine.config import validate_config
    from ingrained_core.engine.problem import build_problem

    cfg = validate_config(config_data, Path(config_data.get("base_dir") or "."))
    problem = build_problem(cfg)
    return [_outcome(problem.evaluate(v)) for v in points]


def _outcome(ev: Any) -> tuple[float | None, str | None]:
    return (float(ev.fom) if ev.feasible else None), (ev.error or None)


def _evaluate_points(problem: Any, points: list[dict[str, float]], workers: int
                     ) -> list[tuple[float | None, str | None]]:
    """FOM (or None) and error of each point: serially here, or on ``workers`` dask tasks
    (engine/parallel.py's map; the optimizer's scheduler when it names one)."""
    if workers <= 1 or len(points) < 2:
        return [_outcome(problem.evaluate(v)) for v in points]
    from ingrained_core.engine.parallel import dask_map

    cfg = problem.config
    data = cfg.model_dump(mode="json")
    data["base_dir"] = str(cfg.base_dir) if cfg.base_dir else None
    n = min(workers, len(points))
    chunks = [list(range(i, len(points), n)) for i in range(n)]
    tasks = [(data, [points[j] for j in idx], c) for c, idx in enumerate(chunks)]
    out: list[tuple[float | None, str | None]] = [(None, "not evaluated")] * len(points)
    for c, res, err in dask_map(evaluate_points_task, tasks, scheduler=cfg.optimizer.scheduler, workers=n):
        for j, r in zip(chunks[c], res if err is None else [(None, f"global stage task failed: {err}")] * len(chunks[c])):
            out[j] = r
    return out


def _local_start(problem: Any, report: dict[str, Any], values: dict[str, float], space_of: Any) -> Any:
    """Move the problem's start to ``values`` (or to their undistorted similarity, see
    ``autostart.start_distortion``) and record it as the start used."""
    from dataclasses import replace

    cfg = problem.config
    mode = cfg.autostart.start_distortion
    if mode == "auto":
        mode = "none" if "rotation" in report.get("parameters", []) else "estimate"
    report["start_distortion"] = mode
    if _projects(report):
        report["start_estimated"] = dict(values)
    values = _projected(problem, report, values)
    report["start"] = values
    new_cfg = _with_starts(cfg, values)
    return replace(problem, config=new_cfg, space=space_of(new_cfg))


def start_record(problem: Any) -> dict[str, Any] | None:
    """What ``start.json`` holds, or None when no start was automatic."""
    rep = getattr(problem, "autostart", None) or {}
    if "parameters" not in rep:
        return None
    return _finite({k: v for k, v in rep.items() if not k.startswith("_")})


def _finite(obj: Any) -> Any:
    """JSON-safe: NaN/inf (an uncertainty that could not be estimated) become null."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_start_json(problem: Any, run_dir: Any) -> None:
    """Write ``start.json`` into the run directory when a start was automatic."""
    from pathlib import Path

    from ingrained_core.plugin import files as atomic

    rec = start_record(problem)
    if rec is not None:
        atomic.write_json(Path(run_dir) / START_FILE, rec)


def calibration_record(problem: Any, values: dict[str, float]) -> dict[str, Any]:
    """``{"calibration": ...}`` for best.json: the file's pixel size beside the fitted one."""
    cal = getattr(problem.experiment, "pixel_size", None)
    fit = values.get("pixel_size")
    if cal is None or fit is None:
        return {}
    tol = problem.config.autostart.calibration_tolerance
    ratio = float(fit) / float(cal)
    return {"calibration": {"pixel_size_calibrated": float(cal), "pixel_size_fitted": float(fit),
                            "ratio": ratio, "tolerance": tol, "within_tolerance": abs(ratio - 1.0) <= tol}}


def calibration_notes(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, level) lines for the closing summary from a best record's calibration."""
    cal = record.get("calibration")
    if not cal:
        return []
    text = (f"pixel size: fitted {cal['pixel_size_fitted']:.5g} Å, calibrated {cal['pixel_size_calibrated']:.5g} Å "
            f"(ratio {cal['ratio']:.4f})")
    if cal["within_tolerance"]:
        return [(text, "info")]
    return [(text + f": they differ by more than {100 * cal['tolerance']:g} % (autostart.calibration_tolerance); "
             "check the calibration or the fit", "warning")]


def auto_start_case(config: dict[str, Any]) -> dict[str, Any]:
    """A raw run config with every geometric parameter's start removed and set to "auto",
    its bounds kept (the benchmark's ``--start auto``)."""
    import copy

    out = copy.deepcopy(config)
    fm = out.setdefault("forward_model", {})
    params = fm.setdefault("params", {})
    try:
        from ingrained_core.engine.registry import get_registry

        known = set(get_registry().get("forward_model", str(fm.get("name", ""))).Params.model_fields)
    except Exception:  # noqa: BLE001 - an unknown model fails later with its own message
        known = {n for n in GEOMETRIC if n != "rotation"} | set(params)
    geometric = [n for n in GEOMETRIC if n in known]
    for n in geometric:
        spec = params.get(n)
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            continue  # fixed at a value: left alone
        spec = dict(spec or {})
        if spec.get("fixed"):
            continue
        spec.pop("start", None)
        spec.pop("auto", None)
        spec["start"] = "auto"
        params[n] = spec
    return out
