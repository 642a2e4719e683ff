"""Derivative-free optimizers on the unit box: scipy Powell (default), Nelder-Mead, COBYLA.

Each works on the free parameters scaled to [0, 1] (so step sizes are comparable across
parameters). Bounds are enforced in two places: the scipy method is given the box where it
supports one, and the objective wrapper clips any proposal into the box before simulating
and logs the value actually simulated. Budgets (evaluations, wall time, target FOM) are
enforced by the objective, which raises :class:`StopOptimization`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import optimize

from .protocols import Objective, OptimizeOutcome


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
