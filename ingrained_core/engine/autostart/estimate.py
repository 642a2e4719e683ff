"""Start values of the geometric parameters from the image's own lattice and its calibration.

The experiment's lattice peaks (:mod:`.peaks`) are matched to the reference lattice of the
model's own simulation (:mod:`.reference`, :mod:`.match`); each matching map A is turned
into parameter values by solving ``T(θ) = A`` (T the model's reciprocal map) by least
squares inside the run's bounds. The image fixes A, four numbers; pixel size and a uniform
stretch (and, with ``rotation``, rotation and shear) change it alike, so among the
parameter sets giving the same A the one with the least shear and stretch is taken (a tiny
penalty on them). Every map that lands inside the bounds is a candidate, aliases included;
the file's calibration, where it has one, is one more (no distortion).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from ingrained_core.engine.autostart.match import Match, match_lattices
from ingrained_core.engine.autostart.peaks import LatticePeaks, lattice_peaks
from ingrained_core.engine.autostart.reference import DISTORTION, GEOMETRIC, Reference, reference_lattice

#: relative mismatch ||T(θ) - A|| / ||A|| above which no parameter set inside the bounds
#: reproduces a map (the candidate is outside the bounds)
MAX_MISMATCH = 0.02
_PENALTY = 1e-3


@dataclass
class Candidate:
    """One start candidate: values of the estimated parameters and where they come from."""

    values: dict[str, float]
    source: str  # "lattice" or "calibration"
    score: float = 0.0
    mismatch: float = 0.0
    matched_peaks: int = 0
    uncertainty: dict[str, float] = field(default_factory=dict)
    match: Match | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "values": {k: float(v) for k, v in self.values.items()},
                "lattice_score": float(self.score), "mismatch": float(self.mismatch),
                "matched_peaks": int(self.matched_peaks),
                "uncertainty": {k: float(v) for k, v in self.uncertainty.items()},
                **({"map": self.match.A.tolist(), "rms_cycles_per_px": self.match.rms} if self.match else {})}


def decompose(A: np.ndarray, ref: Reference, base: dict[str, float], names: list[str],
              bounds: dict[str, tuple[float, float]], start: dict[str, float] | None = None
              ) -> tuple[dict[str, float], float]:
    """Parameter values (of ``names``) whose reciprocal map is closest to ``A``, and the
    relative mismatch; the other parameters stay at ``base``."""
    names = list(names)
    lo = np.array([bounds[n][0] for n in names])
    hi = np.array([bounds[n][1] for n in names])
    norm = float(np.linalg.norm(A))

    def values_of(x: np.ndarray) -> dict[str, float]:
        v = dict(base)
        v.update({n: float(xi) for n, xi in zip(names, x)})
        return v

    def resid(x: np.ndarray) -> np.ndarray:
        v = values_of(x)
        r = (ref.transform(v) - A).ravel() / norm
        pen = [_PENALTY * v[n] for n in names if n in DISTORTION and n != "rotation"]
        return np.concatenate([r, pen])

    seeds = []
    for rot in (range(0, 360, 30) if "rotation" in names else [None]):
        x = []
        for n in names:
            if start and n in start:
                x.append(start[n])
            elif n == "pixel_size":
                x.append(ref.p0 * math.sqrt(abs(np.linalg.det(A))))
            elif n == "rotation":
                x.append(float(rot))
            else:
                x.append(0.0)
        seeds.append(np.clip(np.array(x, dtype=float), lo, hi))
    best = None
    for x0 in seeds:
        sol = optimize.least_squares(resid, x0, bounds=(lo, hi) if len(names) else (-np.inf, np.inf),
                                     x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-12)
        if best is None or sol.cost < best.cost:
            best = sol
    assert best is not None
    v = values_of(best.x)
    mismatch = float(np.linalg.norm(ref.transform(v) - A) / norm)
    return {n: float(v[n]) for n in names}, mismatch


def _jackknife(m: Match, src: LatticePeaks, post: np.ndarray, ref: Reference, exp: LatticePeaks,
               base: dict[str, float], names: list[str], bounds: dict[str, tuple[float, float]],
               values: dict[str, float]) -> dict[str, float]:
    """Standard errors of the values: leave one matched peak out at a time (``m`` maps the
    peaks ``src`` onto the experiment's; the map from the reference is ``m.A @ post``)."""
    if len(m.pairs) < 4:
        return {n: math.nan for n in names}
    r_all = np.array([src.k[i] for i, _, _ in m.pairs])
    e_all = np.array([s * exp.k[j] for _, j, s in m.pairs])
    w_all = np.exp(0.5 * np.minimum(np.array([src.strength[i] for i, _, _ in m.pairs]) - src.strength.max(),
                                    np.array([exp.strength[j] for _, j, _ in m.pairs]) - exp.strength.max()))[:, None]
    draws = []
    for leave in range(len(m.pairs)):
        keep = np.arange(len(m.pairs)) != leave
        r, e, w = r_all[keep], e_all[keep], w_all[keep]
        if np.linalg.matrix_rank(r) < 2:
            continue
        sol, *_ = np.linalg.lstsq(r * w, e * w, rcond=None)
        vals, _ = decompose(sol.T @ post, ref, base, names, bounds, start=values)
        draws.append([vals[n] for n in names])
    if len(draws) < 3:
        return {n: math.nan for n in names}
    d = np.array(draws)
    k = d.shape[0]
    se = np.sqrt((k - 1) / k * np.sum((d - d.mean(axis=0)) ** 2, axis=0))
    return {n: float(s) for n, s in zip(names, se)}


@dataclass
class LatticeEstimate:
    """What the experiment's lattice says: its peaks, the reference, the candidates."""

    experiment_peaks: LatticePeaks
    reference: Reference
    candidates: list[Candidate]
    rejected: int = 0  # lattice matches no parameter set inside the bounds reproduces


def estimate_from_lattice(image: np.ndarray, model: Any, base: dict[str, float], names: list[str],
                          bounds: dict[str, tuple[float, float]], *, p0: float, max_peaks: int = 24,
                          min_ratio: float = 30.0, max_candidates: int = 8, image_name: str = "experiment",
                          structure_name: str = "the structure", reference: Reference | None = None,
                          refine: int = 2, members: int = 6) -> LatticeEstimate:
    """Candidates for the geometric parameters ``names`` from the lattice of ``image``
    (``reference``: a :func:`reference_lattice` made before for the same model, ``p0`` and
    shape; the best ``refine`` candidates are refined self-consistently, see
    :func:`_self_consistent`; ``members``: lattice-equivalent maps tried per match)."""
    exp = lattice_peaks(image, max_peaks=max_peaks, min_ratio=min_ratio, name=image_name)
    ref = reference or reference_lattice(model, base, p0, image.shape, max_peaks=max_peaks, min_ratio=min_ratio,
                                         name=structure_name)
    p_lo, p_hi = bounds.get("pixel_size", (base["pixel_size"], base["pixel_size"]))
    spread = 1.0 + sum(max(abs(bounds[n][0]), abs(bounds[n][1])) for n in names if n in DISTORTION and n != "rotation")
    scale_range = (p_lo / p0 / spread, p_hi / p0 * spread)
    matches = match_lattices(ref.peaks, exp, scale_range=scale_range)
    candidates: list[Candidate] = []
    rejected = 0
    best_of_group: dict[int, tuple[Match, dict[str, float], float]] = {}
    tried: dict[int, int] = {}

    def cost(vals: dict[str, float], mismatch: float) -> tuple[bool, float]:
        # reproducible first, then the least shear and stretch (members differ by a symmetry)
        return (mismatch > MAX_MISMATCH, sum(vals[n] ** 2 for n in names if n in DISTORTION and n != "rotation"))

    for m in matches:  # per group of lattice-equivalent maps, the member the bounds reproduce with least distortion
        if tried.get(m.group, 0) >= members:
            continue
        if m.group not in best_of_group and len(
                [g for g in best_of_group.values() if g[2] <= MAX_MISMATCH]) >= 2 * max_candidates:
            continue
        tried[m.group] = tried.get(m.group, 0) + 1
        vals, mismatch = decompose(m.A, ref, ref.base, names, bounds)
        if m.group not in best_of_group or cost(vals, mismatch) < cost(*best_of_group[m.group][1:]):
            best_of_group[m.group] = (m, vals, mismatch)
    for m, vals, mismatch in sorted(best_of_group.values(), key=lambda t: (-t[0].score, t[0].group)):
        if len(candidates) >= max_candidates:
            break
        if mismatch > MAX_MISMATCH:
            rejected += 1
            continue
        if any(_same(vals, c.values, bounds) for c in candidates):
            continue
        if len(candidates) < refine:
            vals, mismatch, unc = _self_consistent(m, ref, exp, image.shape, names, bounds, vals, max_peaks, min_ratio)
        else:
            unc = _jackknife(m, ref.peaks, np.eye(2), ref, exp, ref.base, names, bounds, vals)
        if any(_same(vals, c.values, bounds) for c in candidates):
            continue
        candidates.append(Candidate(vals, "lattice", m.score, mismatch, len(m.pairs), unc, m))
    return LatticeEstimate(exp, ref, candidates, rejected)


def _self_consistent(m: Match, ref: Reference, exp: LatticePeaks, shape: tuple[int, int], names: list[str],
                     bounds: dict[str, tuple[float, float]], values: dict[str, float], max_peaks: int,
                     min_ratio: float, iterations: int = 4) -> tuple[dict[str, float], float, dict[str, float]]:
    """Refine a candidate against the model's simulation at the candidate itself.

    Peak positions carry biases of the window and, in a bicrystal, of the two grains'
    overlapping reflections; they depend on what the image holds, so they differ between
    the reference (another pixel size, no distortion) and the experiment. Simulating at the
    current values (the experiment's size) and matching its peaks to the experiment's, the
    remaining map A' is close to the identity and the biases cancel: the new map is
    A' · T(values). A few rounds; the uncertainty comes from the last one."""
    from ingrained_core.engine.autostart.match import _refine

    model = ref.model
    vals = dict(values)
    mismatch = 0.0
    unc = {n: math.nan for n in names}
    last = None
    for _ in range(iterations):
        v = {**ref.base, **vals}
        try:
            sim = np.asarray(model.simulate(model.Params(**v)).array, dtype=float)
            peaks = lattice_peaks(sim, max_peaks=max_peaks, min_ratio=min_ratio)
        except Exception:  # noqa: BLE001 - the candidate's own simulation is unusable: keep the match
            break
        step = _refine(np.eye(2), peaks, exp)
        if len(step.pairs) < 3:
            break
        post = ref.transform(v)
        new, mismatch = decompose(step.A @ post, ref, ref.base, names, bounds, start=vals)
        moved = max(abs(new[n] - vals[n]) / (vals[n] if n == "pixel_size" else 1.0) for n in names)
        vals = new
        last = (step, peaks, post)
        if moved < 1e-4:
            break
    if last is not None:
        unc = _jackknife(*last, ref, exp, ref.base, names, bounds, vals)
    return vals, mismatch, unc


def _same(a: dict[str, float], b: dict[str, float], bounds: dict[str, tuple[float, float]]) -> bool:
    for n, va in a.items():
        if n == "pixel_size":
            if abs(va - b[n]) > 0.005 * b[n]:
                return False
        elif n == "rotation":
            if abs((va - b[n] + 180.0) % 360.0 - 180.0) > 0.5:
                return False
        elif abs(va - b[n]) > 0.005:
            return False
    return True


__all__ = ["Candidate", "LatticeEstimate", "decompose", "estimate_from_lattice", "GEOMETRIC"]
