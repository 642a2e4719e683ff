"""Start values of the geometric parameters from the image's own lattice and its calibration.

The experiment's lattice peaks (:mod:`.peaks`) are matched to the reference lattice of the
model's own simulation (:mod:`.reference`, :mod:`.match`); each matching map A is turned
into parameter values by solving ``T(θ) = A`` (T the model's reciprocal map) by least
squares inside the run's bounds. The image fixes A, four numbers; pixel size and a uniform
stretch (and, with ``rotation``, rotation and shear) change it alike, so among the
parameter sets giving the same A the one with the least shear and stretch is taken (a tiny
penalty on them). The maps A·g for the reference's symmetry rotations g explain the same
peaks; each the bounds reproduce is tried, so a rotation range that holds one
representative of a hexagonal lattice (60° apart) is never forced onto a bound. Every map
that lands inside the bounds is a candidate, aliases included; the file's calibration,
where it has one, is one more (no distortion). :func:`similarity_start` is the
undistorted start nearest an estimate (used when rotation is estimated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from ingrained_core.engine.autostart.match import Match, match_lattices
from ingrained_core.engine.autostart.peaks import LatticePeaks, lattice_peaks
from ingrained_core.engine.autostart.reference import (DISTORTION, GEOMETRIC, Reference, reference_lattice,
                                                      rotation_matrix)

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
    symmetry: float = 0.0  # the reference rotation g (degrees) of the map A·g the values reproduce
    distortion: float = 0.0  # sum of squares of shear and stretch
    equivalent_of: int | None = None  # index of the candidate whose lattice this one reproduces too

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "values": {k: float(v) for k, v in self.values.items()},
                "lattice_score": float(self.score), "mismatch": float(self.mismatch),
                "matched_peaks": int(self.matched_peaks),
                "uncertainty": {k: float(v) for k, v in self.uncertainty.items()},
                "symmetry_rotation": float(self.symmetry), "distortion": float(self.distortion),
                **({"equivalent_of": self.equivalent_of} if self.equivalent_of is not None else {}),
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

    seeds: list[np.ndarray] = []
    rotations: list[float | None] = [None]
    if "rotation" in names:
        # every 30° (clipped into the bounds, duplicates dropped) and the rotation of the
        # map's polar decomposition wrapped into the bounds (where the least-distortion
        # member of the rotation/shear family lies when the bounds allow it)
        r_lo, r_hi = bounds["rotation"]
        polar = None if start and "rotation" in start else _polar_rotation(A, ref)
        inside = [] if polar is None else [polar + 360.0 * k for k in (-1, 0, 1) if r_lo <= polar + 360.0 * k <= r_hi]
        # the family's least-distortion point lies at the polar rotation when the bounds hold
        # it, else at the nearer bound: those seeds (every 30° without a polar rotation)
        rotations = inside + [r_lo, r_hi] if polar is not None else [float(r) for r in range(0, 360, 30)]
    for rot in rotations:
        x = []
        for n in names:
            if start and n in start:
                x.append(start[n])
            elif n == "pixel_size":
                x.append(ref.p0 * math.sqrt(abs(np.linalg.det(A))))
            elif n == "rotation":
                x.append(float(rot))  # type: ignore[arg-type]
            else:
                x.append(0.0)
        x0 = np.clip(np.array(x, dtype=float), lo, hi)
        if not any(np.allclose(x0, s0) for s0 in seeds):
            seeds.append(x0)
    best = None
    for x0 in seeds:
        sol = optimize.least_squares(resid, x0, bounds=(lo, hi) if len(names) else (-np.inf, np.inf),
                                     x_scale="jac", xtol=1e-10, ftol=1e-10, gtol=1e-10)
        if best is None or sol.cost < best.cost:
            best = sol
    assert best is not None
    v = values_of(best.x)
    mismatch = float(np.linalg.norm(ref.transform(v) - A) / norm)
    return {n: float(v[n]) for n in names}, mismatch


#: fewer maps than this are decomposed in this process (a pool's start-up would cost more)
MIN_PARALLEL_MAPS = 24


def decompose_ahead(maps: list[tuple[Any, np.ndarray]], ref: Reference, names: list[str],
                    bounds: dict[str, tuple[float, float]], workers: int) -> dict[Any, tuple[dict[str, float], float]]:
    """The decompositions of ``maps`` (``(key, A)`` pairs) made ahead on ``workers`` processes,
    by key; {} when one worker or few maps (each is then made when it is needed).

    Why: the estimate's set-up is mostly these least-squares fits (about 150 on Cu2O(111),
    4-6 s on one core), each independent of the others. The same function on the same
    inputs gives the same values in another process; which of them the estimate uses is
    still decided one by one, in order (:func:`estimate_from_lattice`)."""
    import multiprocessing

    if workers <= 1 or len(maps) < MIN_PARALLEL_MAPS or multiprocessing.current_process().daemon:
        return {}  # (a daemonic process, e.g. a dask worker's, may not start a pool)
    from ingrained_core.engine.parallel import parallel_map

    n = min(workers, len(maps))
    chunks = [maps[i::n] for i in range(n)]  # interleaved: the costly first members spread over the workers
    tasks = [([(A, ref, ref.base, names, bounds) for _, A in chunk], c) for c, chunk in enumerate(chunks)]
    out: dict[Any, tuple[dict[str, float], float]] = {}
    try:
        for c, results, err in parallel_map(_decompose_chunk, tasks, executor="processes", workers=n, key_index=1):
            if err is None:  # a chunk that failed is made in this process when needed
                out.update({key: r for (key, _), r in zip(chunks[c], results)})
    except (OSError, RuntimeError, AssertionError):  # no pool here (no fork, no resources): all made when needed
        return {}
    return out


def _decompose_chunk(jobs: list[tuple[Any, ...]], chunk: int) -> list[tuple[dict[str, float], float]]:
    """One task of :func:`decompose_ahead` on a worker process: :func:`decompose` of each
    ``(A, ref, base, names, bounds)``."""
    return [decompose(*job) for job in jobs]


def _polar_rotation(A: np.ndarray, ref: Reference) -> float | None:
    """The rotation parameter (degrees) of the map's polar decomposition: the rotation R of
    M = P R (P symmetric) for the real-space matrix M that ``A`` implies, found numerically
    through the model's own convention; None without a rotation parameter."""
    if "rotation" not in ref.base:
        return None
    base = {**ref.base, **{n: 0.0 for n in DISTORTION if n in ref.base}}
    target = A / math.sqrt(abs(np.linalg.det(A)))

    def dist(r: float) -> float:
        # the pure rotation's map nearest A (Frobenius): the polar factor, in the model's sense
        t = ref.transform({**base, "rotation": r})
        return float(np.linalg.norm(t / math.sqrt(abs(np.linalg.det(t))) - target))

    try:
        grid = min(range(0, 360, 5), key=lambda r: dist(float(r)))
        sol = optimize.minimize_scalar(dist, bounds=(grid - 5.0, grid + 5.0), method="bounded")
    except Exception:  # noqa: BLE001 - only a seed: without it the grid of seeds remains
        return None
    return float(sol.x) % 360.0


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


def _distortion_cost(vals: dict[str, float], names: list[str]) -> float:
    """Sum of squares of the shear and stretch values (what the least-distortion rule minimises)."""
    return float(sum(vals[n] ** 2 for n in names if n in DISTORTION and n != "rotation"))


def estimate_from_lattice(image: np.ndarray, model: Any, base: dict[str, float], names: list[str],
                          bounds: dict[str, tuple[float, float]], *, p0: float, max_peaks: int = 24,
                          min_ratio: float = 30.0, max_candidates: int = 8, image_name: str = "experiment",
                          structure_name: str = "the structure", reference: Reference | None = None,
                          refine: int = 2, members: int = 6, equivalent_slack: float = 0.02,
                          workers: int = 1) -> LatticeEstimate:
    """Candidates for the geometric parameters ``names`` from the lattice of ``image``
    (``reference``: a :func:`reference_lattice` made before for the same model, ``p0`` and
    shape; the best ``refine`` lattice groups are refined self-consistently, see
    :func:`_self_consistent`; ``members``: lattice-equivalent maps tried per match).

    Each group of lattice-equivalent maps (the maps ``A·g`` for the reference's symmetry
    rotations g, :func:`~.reference.lattice_symmetry`, and the other members the matcher
    found) gives its least-distortion member inside the bounds as the candidate, followed
    by the other members the bounds reproduce with at most ``equivalent_slack`` more
    distortion (sum of squares of shear and stretch) as its equivalents: with ``rotation``
    free, a hexagonal surface is reproduced at rotations 60° apart (different images of a
    three-fold motif), and which of them the bounds hold decides which one a rotation
    range like 50-170° gets; the global stage ranks them by FOM. ``workers`` > 1: the maps'
    decompositions are made ahead on that many processes (:func:`decompose_ahead`)."""
    exp = lattice_peaks(image, max_peaks=max_peaks, min_ratio=min_ratio, name=image_name)
    ref = reference or reference_lattice(model, base, p0, image.shape, max_peaks=max_peaks, min_ratio=min_ratio,
                                         name=structure_name)
    p_lo, p_hi = bounds.get("pixel_size", (base["pixel_size"], base["pixel_size"]))
    spread = 1.0 + sum(max(abs(bounds[n][0]), abs(bounds[n][1])) for n in names if n in DISTORTION and n != "rotation")
    scale_range = (p_lo / p0 / spread, p_hi / p0 * spread)
    matches = match_lattices(ref.peaks, exp, scale_range=scale_range)
    # the symmetry images A·g of a map (g = identity first); without a rotation parameter
    # no shear and stretch inside sane bounds turn a lattice by 60° or more: the identity only
    syms = [float(g) for g in getattr(ref, "symmetry", (0.0, 180.0))] if "rotation" in names else [0.0]
    candidates: list[Candidate] = []
    rejected = 0
    groups: dict[int, list[tuple[Match, dict[str, float], float, float]]] = {}

    def reproducible(n_groups: dict[int, list]) -> int:
        return sum(1 for g in n_groups.values() if any(t[2] <= MAX_MISMATCH for t in g))

    # the maps to try: each lattice group's first `members` matches, its first one with every
    # symmetry image; all of them are made ahead (decompose_ahead) when workers allow
    tries: list[tuple[Match, list[tuple[float, np.ndarray]]]] = []
    counted: dict[int, int] = {}
    for m in matches:
        if counted.get(m.group, 0) >= members:
            continue
        images = syms if m.group not in counted else [0.0]
        counted[m.group] = counted.get(m.group, 0) + 1
        tries.append((m, [(g, m.A @ rotation_matrix(g)) for g in images]))
    made = decompose_ahead([((t, g), A) for t, (_, maps) in enumerate(tries) for g, A in maps], ref, names, bounds,
                           workers)

    for t, (m, maps) in enumerate(tries):
        # a new group once enough groups are reproducible: never entered (the count only grows)
        if m.group not in groups and reproducible(groups) >= 2 * max_candidates:
            continue
        entries = groups.setdefault(m.group, [])
        for g, A in maps:
            vals, mismatch = made.get((t, g)) or decompose(A, ref, ref.base, names, bounds)
            entries.append((m, vals, mismatch, g))

    def ordered(entries: list) -> list:
        ok = [e for e in entries if e[2] <= MAX_MISMATCH]
        # least distortion first; equals (the symmetry images of a rotation/shear family) in
        # the order of their symmetry rotation, so the order never hangs on rounding
        ok.sort(key=lambda e: (round(_distortion_cost(e[1], names), 6), e[3]))
        return ok

    ranked = []
    for gid, entries in groups.items():
        ok = ordered(entries)
        if not ok:
            rejected += 1
            continue
        ranked.append((gid, ok))
    # lattice score first (ties within 0.005: the least distortion first)
    ranked.sort(key=lambda t: (-round(t[1][0][0].score, 2), _distortion_cost(t[1][0][1], names), t[0]))
    refined = 0
    for gid, ok in ranked:
        if len(candidates) >= max_candidates:
            break
        m, vals, mismatch, g0 = ok[0]
        if any(_same(vals, c.values, bounds) for c in candidates):
            continue
        best_cost = _distortion_cost(vals, names)
        equivalents = []
        for e in ok[1:]:
            if _distortion_cost(e[1], names) > best_cost + equivalent_slack or len(equivalents) >= members:
                continue
            if _same(e[1], vals, bounds) or any(_same(e[1], q[1], bounds) for q in equivalents):
                continue
            equivalents.append(e)
        if refined < refine:
            refined += 1
            vals, mismatch, unc = _self_consistent(m, ref, exp, image.shape, names, bounds, vals, max_peaks, min_ratio)
            A1 = ref.transform({**ref.base, **vals})
            # the refined map carries over to the equivalents exactly: A1 · g⁻¹ g'
            moved = []
            for em, ev, emis, eg in equivalents:
                if em is m:
                    v2, mis2 = decompose(A1 @ rotation_matrix(eg - g0), ref, ref.base, names, bounds, start=ev)
                else:  # another matcher member: its own (unrefined) map
                    v2, mis2 = ev, emis
                moved.append((em, v2, mis2, eg))
            equivalents = [e for e in moved if e[2] <= MAX_MISMATCH]
        else:
            unc = _jackknife(m, ref.peaks, rotation_matrix(g0), ref, exp, ref.base, names, bounds, vals)
        if any(_same(vals, c.values, bounds) for c in candidates):
            continue
        lead = len(candidates)
        candidates.append(Candidate(vals, "lattice", m.score, mismatch, len(m.pairs), unc, m,
                                    symmetry=g0, distortion=_distortion_cost(vals, names)))
        for em, ev, emis, eg in equivalents:
            if len(candidates) >= max_candidates + members:
                break
            if any(_same(ev, c.values, bounds) for c in candidates):
                continue
            candidates.append(Candidate(ev, "lattice", em.score, emis, len(em.pairs), {}, em, symmetry=eg,
                                        distortion=_distortion_cost(ev, names), equivalent_of=lead))
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


def similarity_start(values: dict[str, float], model: Any, base: dict[str, float], names: list[str],
                     bounds: dict[str, tuple[float, float]]) -> dict[str, float]:
    """The undistorted start nearest a lattice estimate: the same lattice scale and
    orientation, no shear and no stretch.

    With ``rotation`` free the lattice fixes the real-space map M = S·H·R (over the pixel
    size) but not how it splits into rotation, shear and stretch; a local search started
    from one split of an estimate that is a little off follows that split's coordinate
    directions into the nearest basin. Started from the map's similarity part, the
    rotation R of the polar decomposition M = P·R and the pixel size that keeps
    ``det M / p²``, it fits the distortion itself (on the Cu2O example at 79 x 79 this is
    what reaches the published start's FOM; docs/autostart.md)."""
    from ingrained_core.engine.autostart.reference import model_matrix

    full = {**base, **values}
    m = model_matrix(model, full) / float(full["pixel_size"])
    det = abs(float(np.linalg.det(m)))
    out = dict(values)
    for n in names:
        if n in DISTORTION and n != "rotation":
            out[n] = float(min(max(0.0, bounds[n][0]), bounds[n][1]))
    plain = {**full, **{n: 0.0 for n in DISTORTION if n in full}}
    if "rotation" in names:
        target = m / math.sqrt(det)

        def dist(r: float) -> float:
            t = model_matrix(model, {**plain, "rotation": r})
            return float(np.linalg.norm(t / math.sqrt(abs(np.linalg.det(t))) - target))

        r0 = float(values["rotation"])
        sol = optimize.minimize_scalar(dist, bounds=(r0 - 90.0, r0 + 90.0), method="bounded")
        lo, hi = bounds["rotation"]
        r = float(sol.x)
        # wrapped by whole turns into the bounds where that is possible, else clipped
        for k in (0, -1, 1):
            if lo <= r + 360.0 * k <= hi:
                r += 360.0 * k
                break
        out["rotation"] = float(min(max(r, lo), hi))
        plain["rotation"] = out["rotation"]
    if "pixel_size" in names:
        m0 = model_matrix(model, {**plain, **{n: out[n] for n in names if n != "pixel_size"}})
        p = math.sqrt(abs(float(np.linalg.det(m0))) / det)
        lo, hi = bounds["pixel_size"]
        out["pixel_size"] = float(min(max(p, lo), hi))
    return out
