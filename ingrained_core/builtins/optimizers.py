"""Derivative-free optimizers on the unit box: scipy Powell (default), Nelder-Mead, COBYLA,
and a global-then-local Powell (``scan-powell``: coarse coordinate scans, then Powell).

Each works on the free parameters scaled to [0, 1] (so step sizes are comparable across
parameters). Bounds are enforced in two places: the scipy method is given the box where it
supports one, and the objective wrapper clips any proposal into the box before simulating
and logs the value actually simulated. Budgets (evaluations, wall time, target FOM) are
enforced by the objective, which raises :class:`StopOptimization`.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import optimize

from ingrained_core.plugin.protocols import Objective, OptimizeOutcome


#: Who hears an optimizer's stage (a live view); None: nobody. See :func:`report_stage`.
_STAGE_LISTENER: Callable[[str], None] | None = None


def set_stage_listener(listener: Callable[[str], None] | None) -> None:
    """Register the one callable that hears optimizer stages (None removes it)."""
    global _STAGE_LISTENER
    _STAGE_LISTENER = listener


def report_stage(text: str) -> None:
    """Tell the live view what the optimizer is doing now (a light, optional callback)."""
    if _STAGE_LISTENER is not None:
        _STAGE_LISTENER(text)


class StopOptimization(Exception):
    """Raised by an objective to end the search early (budget, target or Ctrl-C)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    maxfev: int = Field(100000, ge=1, description="evaluation cap inside scipy (the run's max_evals also applies)")


class PowellOptions(_Options):
    xtol: float = Field(1e-4, gt=0, description="tolerance on the unit-scaled parameters")
    ftol: float = Field(1e-4, gt=0, description="relative tolerance on the FOM")
    direction_scale: float = Field(
        0.05, gt=0, le=1, description="length of the initial search directions (fraction of each parameter's range)"
    )


class NelderMeadOptions(_Options):
    xatol: float = Field(1e-4, gt=0)
    fatol: float = Field(1e-4, gt=0)
    initial_step: float = Field(0.1, gt=0, le=1, description="simplex edge in unit-box coordinates")


class CobylaOptions(_Options):
    rhobeg: float = Field(0.1, gt=0, le=1, description="initial trust-region radius (unit box)")
    tol: float = Field(1e-4, gt=0)


def _outcome(res: optimize.OptimizeResult) -> OptimizeOutcome:
    # Proposals are clipped into the box by the objective; report the point it evaluated.
    return OptimizeOutcome(x=np.clip(np.asarray(res.x, dtype=float), 0.0, 1.0), fun=float(res.fun), evaluations=int(res.nfev), message=str(res.message))


class Powell:
    """scipy's Powell conjugate-direction method (the paper's optimizer).

    scipy's *bounded* Powell replaces each line search by a bounded scalar minimisation
    over the whole feasible segment, which drops the current point and jumps to a distant
    local minimum on rough FOM landscapes. As in the published runs, the line searches here
    are scipy's unbounded Brent searches from the current point; the box is enforced by the
    objective, which clips every proposal into it and logs what it simulated.
    """

    name: ClassVar[str] = "powell"
    Options: ClassVar[type[BaseModel]] = PowellOptions

    def minimize(self, objective: Objective, x0: np.ndarray, options: PowellOptions) -> OptimizeOutcome:
        n = len(x0)
        res = optimize.minimize(
            objective,
            x0,
            method="Powell",
            options={
                "xtol": options.xtol,
                "ftol": options.ftol,
                "maxfev": options.maxfev,
                "direc": np.eye(n) * options.direction_scale,
            },
        )
        return _outcome(res)


class NelderMead:
    """scipy's Nelder-Mead simplex with bounds; the simplex starts at a fixed edge length."""

    name: ClassVar[str] = "nelder-mead"
    Options: ClassVar[type[BaseModel]] = NelderMeadOptions

    def minimize(self, objective: Objective, x0: np.ndarray, options: NelderMeadOptions) -> OptimizeOutcome:
        n = len(x0)
        simplex = np.vstack([x0] + [x0 + options.initial_step * e for e in np.eye(n)])
        # Points pushed out of the box are reflected back inside so the simplex stays non-degenerate.
        simplex = np.where(simplex > 1.0, 2 * x0 - simplex, simplex)
        res = optimize.minimize(
            objective,
            x0,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * n,
            options={
                "xatol": options.xatol,
                "fatol": options.fatol,
                "maxfev": options.maxfev,
                "initial_simplex": np.clip(simplex, 0.0, 1.0),
            },
        )
        return _outcome(res)


class Cobyla:
    """scipy's COBYLA trust-region method with box bounds."""

    name: ClassVar[str] = "cobyla"
    Options: ClassVar[type[BaseModel]] = CobylaOptions

    def minimize(self, objective: Objective, x0: np.ndarray, options: CobylaOptions) -> OptimizeOutcome:
        n = len(x0)
        res = optimize.minimize(
            objective,
            x0,
            method="COBYLA",
            bounds=[(0.0, 1.0)] * n,
            tol=options.tol,
            options={"rhobeg": options.rhobeg, "maxiter": options.maxfev},
        )
        return _outcome(res)


class ScanPowellOptions(PowellOptions):
    scan_radius: float = Field(
        0.25, gt=0, le=1, description="half-width of the first coordinate scans (fraction of each parameter's range)"
    )
    scan_points: int = Field(13, ge=3, le=101, description="points per coordinate scan (the current value included)")
    shrink: float = Field(0.7, gt=0, lt=1, description="scan half-width factor after a round that did not improve")
    min_radius: float = Field(0.02, gt=0, le=1, description="stop (converged) once the scan half-width is below this")
    max_rounds: int = Field(100, ge=0, description="at most this many scan + Powell rounds after the first Powell")
    scan_first: bool = Field(
        False, description="begin with a scan round instead of Powell from the start (a short budget then "
        "sees every parameter's neighbourhood before a line search commits to the nearest basin)"
    )


class ScanPowell:
    """Global then local: Powell from the start, then rounds of coarse scans and Powell.

    Each round scans every free parameter alone on a uniform grid of ``scan_points`` over
    +-``scan_radius`` of its range around the best point so far (the other parameters
    held at the best), then runs Powell from the best point found. A round that does not
    improve the best FOM narrows the scans by ``shrink``; the search ends (converged) when
    the half-width falls below ``min_radius``, after ``max_rounds`` rounds, or when the
    run's budget (evaluations, time, target FOM) stops it. Powell is not run again from
    the point where the previous Powell started and found nothing better (a scan that
    improves nothing leaves the best there): it would repeat the same evaluations
    (:attr:`rerun_barren_powell`). On the paper's twin and Ni/M3B2 cases this removes 896
    of 3085 and 1752 of 3749 evaluations, with the same best point.

    With ``scan_first`` the search begins with a scan round at the start point instead of
    Powell: what a short budget should do (the recipe screen sets it), since Powell's first
    line searches can spend a hundred evaluations inside the basin nearest the start.

    Why: the FOM landscape is rough along shear and stretch (the registration locks onto
    another lattice row, SSIM has many local optima), and Powell's line searches from a
    point stop in the nearest basin. A scan sees the whole neighbourhood along each
    parameter at once and hands Powell a point in a better basin (on the Ni/M3B2 interface
    Powell alone stops at FOM 0.54 from the published start point; one scan round finds
    the basin of the published best, docs/performance.md).
    """

    name: ClassVar[str] = "scan-powell"
    Options: ClassVar[type[BaseModel]] = ScanPowellOptions
    #: Run Powell after every scan even when it would start where the last Powell started
    #: and found nothing better (a repeat of the same evaluations: the objective is
    #: deterministic and the options are the same). False skips those repeats, with the
    #: same best point and the same evaluations otherwise; True gives the evaluation
    #: sequence of versions before 2026-12-02 (for comparisons).
    rerun_barren_powell: ClassVar[bool] = False

    def minimize(self, objective: Objective, x0: np.ndarray, options: ScanPowellOptions) -> OptimizeOutcome:
        best = {"x": np.clip(np.asarray(x0, dtype=float), 0.0, 1.0), "f": np.inf, "n": 0}

        def tracked(x: np.ndarray) -> float:
            f = float(objective(x))
            best["n"] += 1
            if f < best["f"]:
                best["f"], best["x"] = f, np.clip(np.asarray(x, dtype=float), 0.0, 1.0).copy()
            return f

        powell = Powell()

        def powell_from(start: np.ndarray) -> np.ndarray | None:
            """Powell from ``start``; ``start`` again when it found nothing better (Powell from
            there would repeat the same evaluations: deterministic objective, same options)."""
            powell.minimize(tracked, start, options)
            return start if np.array_equal(best["x"], start) else None

        # where the last Powell started, when it found nothing better
        barren: np.ndarray | None = None
        if options.scan_first:
            report_stage(f"scan from the start (then Powell and scan rounds down to radius {options.min_radius:g})")
            tracked(best["x"])
        else:
            report_stage(f"Powell from the start (then scan rounds down to radius {options.min_radius:g})")
            barren = powell_from(best["x"].copy())
        radius = options.scan_radius
        rounds = skipped = 0
        while radius >= options.min_radius and rounds < options.max_rounds:
            rounds += 1
            before = best["f"]
            report_stage(f"round {rounds}: scan radius {radius:.3g} (stops below min_radius {options.min_radius:g})")
            self._scan(tracked, best, radius, options.scan_points)
            if barren is not None and np.array_equal(best["x"], barren) and not self.rerun_barren_powell:
                skipped += 1
            else:
                barren = powell_from(best["x"].copy())
            if best["f"] > before - options.ftol * max(abs(before), 1e-12):
                radius *= options.shrink
        note = f" ({skipped} Powell runs not repeated)" if skipped else ""
        return OptimizeOutcome(x=best["x"], fun=float(best["f"]), evaluations=int(best["n"]),
                               message=f"{rounds} scan rounds, final half-width {radius:.3g}{note}")

    @staticmethod
    def _scan(tracked: Callable[[np.ndarray], float], best: dict[str, Any], radius: float, points: int) -> None:
        """One round: each parameter alone on ``points`` values over +-``radius`` around the best."""
        for i in range(len(best["x"])):
            centre = best["x"].copy()
            for v in np.linspace(centre[i] - radius, centre[i] + radius, points):
                if v < 0.0 or v > 1.0 or abs(v - centre[i]) < 1e-12:
                    continue
                y = centre.copy()
                y[i] = v
                tracked(y)
