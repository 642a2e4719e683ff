"""The cheap first stage of a recipe screen: every candidate evaluated at a few fixed points.

A recipe with many candidates (Ni/M3B2 with both terminations varied has hundreds) cannot
give each one a screen budget within minutes. The probe builds the experiment, the
registration and the parameter space once, swaps in each candidate's structure (a new
forward model on it, the model's set-up is per structure) and evaluates the run's start
point, with the free vertical placement ``cell_shift`` (where the model has it) at
``points`` values evenly spread over its range. A candidate's probe score is its best FOM
over those points; the best ``screen_probe_keep`` go on to the screen with
``screen_budget`` evaluations each. Costs ``points`` evaluations per candidate and one
model set-up, in one process (tens of milliseconds each for the paper's cases).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np


def probe_points(problem: Any, points: int) -> list[dict[str, float]]:
    """The parameter sets of the probe: the start point, with ``cell_shift`` (when free)
    at ``points`` values evenly spread over its range (the start itself first)."""
    x0 = problem.space.values(problem.space.x0)
    if points <= 1 or "cell_shift" not in problem.space.free_names:
        return [x0]
    fp = next(f for f in problem.space.free if f.name == "cell_shift")
    lo, hi = fp.min, fp.max
    values = [x0["cell_shift"]] + [float(v) for v in np.linspace(lo, hi, points + 1)[:-1]]
    out, seen = [], set()
    for v in values:
        key = round(v, 6)
        if key in seen:
            continue
        seen.add(key)
        out.append({**x0, "cell_shift": v})
    return out[:points]


def probe_candidates(problem: Any, structures: list[Any], points: int = 1) -> list[dict[str, Any]]:
    """One record per structure: ``fom`` (best over the probe points), ``evaluations``,
    ``elapsed_s``; a structure the model refuses gets ``fom`` = nan and its error."""
    from ingrained_core.engine.problem import Problem, model_options

    cfg = problem.config
    model_cls = type(problem.model)
    options = model_options(model_cls, cfg.forward_model.name, cfg.forward_model.options)
    pts = probe_points(problem, points)
    out = []
    for s in structures:
        t0 = time.perf_counter()
        try:
            model = model_cls(s, **options)
            p = Problem(cfg, problem.experiment, model, problem.space, problem.registrar, problem.similarity, s, {})
            foms = [p.evaluate(v).fom for v in pts]
            rec = {"fom": float(min(foms)), "evaluations": len(pts), "error": ""}
        except Exception as exc:  # noqa: BLE001 - one candidate's failure is recorded, the probe goes on
            rec = {"fom": math.nan, "evaluations": 0, "error": f"{type(exc).__name__}: {exc}"}
        rec["elapsed_s"] = round(time.perf_counter() - t0, 4)
        out.append(rec)
    return out
