"""Matching the experiment's lattice peaks to the reference's: the linear maps A with
``k_experiment ≈ A k_reference``, every consistent one (aliases included).

Each pair of non-parallel reference peaks put onto each pair of experimental peaks (either
sign) fixes one A; A is scored by the share of reference strength it puts onto an
experimental peak times the share of experimental strength it explains, then refined by
weighted least squares over all the peak pairs it matches. A sub-lattice alias (e.g. the
√3 one of a three-fold motif) matches the experiment's peaks with higher-order reference
peaks and leaves the low-order ones on empty spectrum, so it scores lower, but it is kept.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingrained_core.engine.autostart.peaks import LatticePeaks


@dataclass
class Match:
    """One linear map from reference to experiment and the peaks it pairs."""

    A: np.ndarray
    score: float
    pairs: list[tuple[int, int, int]]  # (reference index, experiment index, sign)
    rms: float  # cycles/px
    group: int = 0  # maps in one group give the same lattice (they differ by a symmetry of it)

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(self.A))))


def _tolerance(ref: LatticePeaks, exp: LatticePeaks, scale: np.ndarray | float) -> np.ndarray | float:
    """How far (cycles/px) a matched peak may lie from its prediction: about a spectrum
    resolution element of each image."""
    return 1.0 / min(exp.shape) + np.asarray(scale) * 1.0 / min(ref.shape)


def _score(A: np.ndarray, ref: LatticePeaks, exp: LatticePeaks, chunk: int = 1500
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of maps ``A`` (n, 2, 2): (score, nearest experiment index into ±E, distance).

    Only reference peaks the map puts inside the band where the experiment could show
    them count (see below)."""
    if A.shape[0] > chunk:
        parts = [_score(A[i:i + chunk], ref, exp, chunk) for i in range(0, A.shape[0], chunk)]
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))  # type: ignore[return-value]
    both = np.vstack([exp.k, -exp.k])
    pred = np.einsum("nij,mj->nmi", A, ref.k)  # (n, m, 2)
    d = np.linalg.norm(pred[:, :, None, :] - both[None, None, :, :], axis=3)  # (n, m, 2e)
    scale = np.sqrt(np.abs(np.linalg.det(A)))
    tol = _tolerance(ref, exp, scale)[:, None]
    nearest = d.argmin(axis=2)
    dmin = d.min(axis=2)
    hit_ref = dmin <= tol
    we = exp.strength / exp.strength.sum()
    ne = exp.k.shape[0]
    hit_exp = (d <= tol[:, :, None]).any(axis=1)  # (n, 2e)
    hit_exp = hit_exp[:, :ne] | hit_exp[:, ne:]
    # Reference peaks count where the experiment could show them: from the longest period
    # searched up to a little beyond the finest experimental peak this map explains (finer
    # ones may be lost to blur and noise; coarser ones would show).
    k_exp = np.linalg.norm(exp.k, axis=1)
    k_top = np.where(hit_exp, k_exp[None, :], 0.0).max(axis=1)
    k_pred = np.linalg.norm(pred, axis=2)
    in_band = (k_pred >= 4.0 / min(exp.shape)) & (k_pred <= 1.2 * k_top[:, None])
    wr_all = np.broadcast_to(ref.strength, in_band.shape) * in_band
    ref_share = (hit_ref * wr_all).sum(axis=1) / np.maximum(wr_all.sum(axis=1), 1e-300)
    score = ref_share * (hit_exp * we).sum(axis=1)
    return score, nearest, dmin


def _refine(A: np.ndarray, ref: LatticePeaks, exp: LatticePeaks, rounds: int = 3) -> Match:
    both = np.vstack([exp.k, -exp.k])
    ne = exp.k.shape[0]
    pairs: list[tuple[int, int, int]] = []
    for _ in range(rounds):
        score, nearest, dmin = _score(A[None], ref, exp)
        tol = _tolerance(ref, exp, np.sqrt(abs(np.linalg.det(A))))
        hit = np.flatnonzero(dmin[0] <= tol)
        if hit.size < 2:
            break
        r = ref.k[hit]
        e = both[nearest[0, hit]]
        # 1 / position error: the amplitude over the background, of the weaker of the two peaks
        j = nearest[0, hit] % ne
        w = np.exp(0.5 * np.minimum(ref.strength[hit] - ref.strength.max(), exp.strength[j] - exp.strength.max()))[:, None]
        if np.linalg.matrix_rank(r) < 2:
            break
        sol, *_ = np.linalg.lstsq(r * w, e * w, rcond=None)
        A = sol.T
        pairs = [(int(i), int(j % ne), 1 if j < ne else -1) for i, j in zip(hit, nearest[0, hit])]
    score, nearest, dmin = _score(A[None], ref, exp)
    rms = float(np.sqrt(np.mean([np.sum((A @ ref.k[i] - s * exp.k[j]) ** 2) for i, j, s in pairs]))) if pairs else np.inf
    return Match(A, float(score[0]), pairs, rms)


def match_lattices(ref: LatticePeaks, exp: LatticePeaks, *, scale_range: tuple[float, float],
                   max_condition: float = 3.0, n_ref: int = 12, n_exp: int = 8, keep: int = 16, per_group: int = 12) -> list[Match]:
    """Every distinct map A (best first) with ``sqrt(det A)`` in ``scale_range``: up to
    ``keep`` groups of lattice-equivalent maps, ``per_group`` maps each."""
    r_idx = range(min(n_ref, ref.k.shape[0]))
    ne = min(n_exp, exp.k.shape[0])
    e_all = np.vstack([exp.k[:ne], -exp.k[:ne]])
    maps = []
    for i, j in itertools.combinations(r_idx, 2):
        rm = np.column_stack([ref.k[i], ref.k[j]])
        if abs(np.linalg.det(rm)) < 1e-3 * np.linalg.norm(ref.k[i]) * np.linalg.norm(ref.k[j]):
            continue
        rinv = np.linalg.inv(rm)
        for a, b in itertools.permutations(range(2 * ne), 2):
            if a % ne == b % ne or a >= ne:  # A and -A describe the same lattice: e_a from +E only
                continue
            maps.append(np.column_stack([e_all[a], e_all[b]]) @ rinv)
    if not maps:
        return []
    A = np.array(maps)
    det = np.linalg.det(A)
    sv = np.linalg.svd(A, compute_uv=False)
    scale = np.sqrt(np.abs(det))
    lo, hi = scale_range
    ok = (det > 0) & (scale >= lo) & (scale <= hi) & (sv[:, 0] <= max_condition * sv[:, 1])
    A = A[ok]
    if A.shape[0] == 0:
        return []
    score, _, _ = _score(A, ref, exp)
    order = np.argsort(-score, kind="stable")
    out: list[Match] = []
    groups: dict[tuple[Any, ...], int] = {}
    counts: dict[int, int] = {}
    for idx in order:
        if len(groups) >= keep or score[idx] <= 0:
            break
        if any(min(np.linalg.norm(A[idx] - m.A), np.linalg.norm(A[idx] + m.A)) < 0.02 * np.linalg.norm(m.A)
               for m in out):
            continue
        m = _refine(A[idx], ref, exp)
        if np.trace(m.A) < 0:  # the sign nearer the identity (A and -A are the same lattice)
            m.A = -m.A
            m.pairs = [(i, j, -s) for i, j, s in m.pairs]
        if not np.isfinite(m.rms) or any(np.linalg.norm(m.A - o.A) < 0.01 * np.linalg.norm(o.A) for o in out):
            continue
        # Maps that differ by a symmetry of the lattice put the same peaks on the same
        # experimental ones at the same scale: one group (the parameters decide which
        # member, if any, the bounds allow).
        key = (round(m.scale, 3), frozenset(j for _, j, _ in m.pairs))
        m.group = groups.setdefault(key, len(groups))
        if counts.get(m.group, 0) >= per_group:
            continue
        counts[m.group] = counts.get(m.group, 0) + 1
        out.append(m)
    out.sort(key=lambda m: (-m.score, m.group, m.rms))
    return out
