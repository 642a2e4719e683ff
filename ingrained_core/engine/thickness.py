"""Choose the specimen thickness by scanning a model's thickness series, not by the local search.

A multislice model with a thickness series (``haadf-multislice`` with
``forward_model.options.thickness_max``) computes the image after every cell period in
one propagation. The FOM against thickness is then a cheap scan: each thickness is
rendered from its cached cell image and scored through the problem's own registration
and similarity (:func:`scan_thickness`). To a local optimizer the thickness is piecewise
constant (whole periods), so it is taken out of its hands: :func:`choose_thickness`
scans at the start point, fixes ``thickness`` at the best period and rebuilds the
parameter space (the scan is kept in the config's provenance, so ``config.toml`` of the
run says how the thickness was chosen).

A model whose series is also reduced at several probe defoci (``series_defoci()``, e.g.
``haadf-multislice`` with ``defocus_series``) is scanned over every (thickness, defocus)
pair, and both are fixed at the best: the best focus depends on the thickness, and the
probe's defocus, like the thickness, is a property of the specimen and the microscope that
the convolution fit could not see.

A model without a series (``thicknesses()`` missing or empty) is left alone; so is a
problem whose config already records a scan (a resumed run reads its own config.toml).
The scan's evaluations are not in ``progress.csv`` (they precede the optimizer's).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ingrained_core.plugin.params import ParameterSpace, ParamSpec


def series_thicknesses(model: Any) -> list[float]:
    """The thicknesses (Å) of the model's series; [] when it keeps none."""
    getter = getattr(model, "thicknesses", None)
    return list(getter()) if callable(getter) else []


def series_defoci(model: Any) -> list[float]:
    """The defoci (Å) the model's series is also reduced at; [] when it has none."""
    getter = getattr(model, "series_defoci", None)
    return list(getter()) if callable(getter) else []


#: The columns of a scan row kept in the run's provenance (``defocus`` only with a defocus series).
ROW_KEYS = ("thickness", "defocus", "fom", "d_trans", "d_sim")


def scan_thickness(problem: Any, values: dict[str, float]) -> list[dict[str, Any]]:
    """FOM, d_trans and d_sim at every thickness of the series (and every defocus of a defocus
    series: rows defocus-major), the other parameters at ``values``."""
    rows = []
    defoci = series_defoci(problem.model)
    for defocus in defoci or [None]:
        at = values if defocus is None else {**values, "defocus": defocus}
        for thickness in series_thicknesses(problem.model):
            ev = problem.evaluate({**at, "thickness": thickness})
            row = {"thickness": thickness, "fom": ev.fom, "d_trans": ev.d_trans, "d_sim": ev.d_sim,
                   "feasible": ev.feasible}
            if defocus is not None:
                row["defocus"] = defocus
            rows.append(row)
    return rows


def best_of(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The feasible row of lowest FOM (on a tie the thinner, then the smaller |defocus|), or None."""
    ok = [r for r in rows if r["feasible"]]
    return min(ok, key=lambda r: (r["fom"], r["thickness"], abs(r.get("defocus", 0.0)))) if ok else None


def with_thickness(problem: Any, thickness: float, scan: list[dict[str, Any]] | None = None,
                   defocus: float | None = None) -> Any:
    """``problem`` with ``thickness`` (and ``defocus``, when given) fixed (config, provenance and space rebuilt)."""
    cfg = problem.config
    fm = cfg.forward_model
    specs = dict(fm.params)
    specs["thickness"] = ParamSpec(start=float(thickness), fixed=True)
    if defocus is not None:
        specs["defocus"] = ParamSpec(start=float(defocus), fixed=True)
    provenance = dict(cfg.provenance)
    if scan is not None:
        provenance["thickness_scan"] = {"chosen": float(thickness),
                                        "rows": [{k: r[k] for k in ROW_KEYS if k in r} for r in scan]}
        if defocus is not None:
            provenance["thickness_scan"]["chosen_defocus"] = float(defocus)
    new_cfg = cfg.model_copy(update={"forward_model": fm.model_copy(update={"params": specs}),
                                     "provenance": provenance})
    old = problem.space  # its bounds as built (crop bounds capped to the experiment), thickness now fixed
    space_specs = {name: ParamSpec(start=value, fixed=True) for name, value in old.fixed.items()}
    space_specs.update({p.name: ParamSpec(start=p.start, min=p.min, max=p.max, fixed=False) for p in old.free})
    space_specs["thickness"] = specs["thickness"]
    if defocus is not None:
        space_specs["defocus"] = specs["defocus"]
    return dataclasses.replace(problem, config=new_cfg, space=ParameterSpace(problem.model.Params, space_specs))


def choose_thickness(problem: Any, reporter: Any = None) -> Any:
    """Scan the series at the start point and fix the thickness at its best; unchanged without a series."""
    if not series_thicknesses(problem.model):
        return problem
    if "thickness_scan" in problem.config.provenance:
        return problem  # already chosen (a resumed run reads its own config)
    start = problem.space.values(problem.space.x0)
    rows = scan_thickness(problem, start)
    best = best_of(rows)
    if best is None:
        return problem
    defocus = best.get("defocus")
    if reporter is not None:
        if defocus is None:
            listing = ", ".join(f"{r['thickness']:.1f} Å {r['fom']:.5f}" for r in rows)
            reporter.message(f"thickness chosen from the series: {best['thickness']:.2f} Å (FOM {best['fom']:.5f}); "
                             f"scan: {listing}")
        else:
            reporter.message(f"thickness and defocus chosen from the series: {best['thickness']:.2f} Å, defocus "
                             f"{defocus:g} Å (FOM {best['fom']:.5f}), the best of {len(rows)} (thickness, defocus) pairs")
    return with_thickness(problem, best["thickness"], rows, defocus=defocus)
