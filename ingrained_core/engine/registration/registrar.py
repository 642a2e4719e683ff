"""The registrar: coarse-to-fine placement of simulations inside one experimental image.

See the package docstring (:mod:`ingrained_core.engine.registration`) for the method and
``docs/registration.md`` for the exact semantics and how they compare with the paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.engine.registration.cache import ByteLRU
from ingrained_core.engine.registration.correlation import CircularCorrelator, correlator
from ingrained_core.engine.registration.images import block_downsample, check_image, quantise
from ingrained_core.engine.registration.ranking import Chi2Ranker, NCCRanker

Method = Literal["ncc", "chi2"]
FineOrder = Literal["ranked", "scan"]
ShiftsOf = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Default cap on the coarse candidates tested with ``method="ncc"`` (the NCC ranking puts
#: a stable candidate, when there is one, within its first few; see docs/registration.md).
NCC_MAX_CANDIDATES = 32
#: Default cap on the native placements tested in the fine stage (``fine != "scan"``).
MAX_FINE_TESTS = 9
#: Bytes kept of the experiment's transforms, per store (least recently used dropped
#: first; 24 MiB per registrar in all): spectra of native patches (an optimizer revisits
#: placements; ~17 of 195 x 153), column transforms of the native strips under a patch's
#: columns (placements share column offsets; ~32 of 302 x 77 for the twin), and spectra of
#: the downsampled patches of the coarse stage (~500 of 48 x 38 for the twin).
PATCH_CACHE_BYTES = 4 * 2**20
STRIP_CACHE_BYTES = 12 * 2**20
COARSE_CACHE_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Placement:
    """Where a simulation sits in the experiment, and how well it is locked there.

    ``row, col`` is the top-left corner and ``height, width`` the size of the matched
    patch, in the coordinates of the full experimental image given to the registrar.
    ``shift`` is the residual shift (dy, dx) that cross-correlation still finds between
    simulation and patch at native resolution, ``d_trans = |dy| + |dx|`` (0 = locked).
    ``score`` is the coarse ranking score of the coarse candidate the placement was found
    from (NCC in [-1, 1], or ``1 / (chi2 + 1e-4)``), ``coarse`` that candidate's native
    top-left corner, ``tests`` the number of residual-shift correlations computed.
    ``patch`` is the experimental patch (a view of the experiment, not quantised).
    """

    row: int
    col: int
    height: int
    width: int
    d_trans: int
    shift: tuple[int, int]
    score: float = 0.0
    coarse: tuple[int, int] = (0, 0)
    tests: int = 0
    patch: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False, compare=False)


def first_locked(shifts_of: ShiftsOf, rows: np.ndarray, cols: np.ndarray, first_chunk: int,
                 limit: int | None) -> tuple[int, tuple[int, int], int]:
    """Test placements in the given order (batched in growing chunks) until one is locked.

    Returns (index in the order of the chosen placement, its shift, number tested): the
    first locked placement or, if none of the first ``limit`` is locked, the first one with
    the smallest taxicab shift. Batching does not change the result of a one-by-one loop.
    """
    n = len(rows) if limit is None else min(len(rows), limit)
    best: tuple[int, int, tuple[int, int]] | None = None  # (taxicab, index, shift)
    start, size = 0, first_chunk
    while start < n:
        stop = min(n, start + size)
        shifts = shifts_of(rows[start:stop], cols[start:stop])
        taxi = np.abs(shifts).sum(axis=-1)
        k = int(np.argmin(taxi))
        if best is None or int(taxi[k]) < best[0]:
            best = (int(taxi[k]), start + k, (int(shifts[k, 0]), int(shifts[k, 1])))
        if best[0] == 0:
            return best[1], best[2], stop
        start, size = stop, size * 2
    assert best is not None
    return best[1], best[2], n


def follow_lock(shifts_of: ShiftsOf, rows: np.ndarray, cols: np.ndarray, box: tuple[int, int, int, int],
                limit: int) -> tuple[int, int, tuple[int, int], int]:
    """Test placements one at a time, following residual shifts, until one is locked.

    The first placement of the order is tested first. After an unlocked test at ``p``
    with residual shift ``s``, the next is ``p - s`` clipped into ``box`` (``r0, r1, c0,
    c1``, inclusive): where the correlation puts the simulation; if that was tested
    already, the next untested placement of the order. Stops at the first locked placement
    or after ``limit`` tests. Returns (row, col, shift, tests) of the first locked
    placement, else of the first tested one with the smallest shift.
    """
    r0, r1, c0, c1 = box
    tested: set[tuple[int, int]] = set()
    best: tuple[int, int, int, tuple[int, int]] | None = None  # (taxicab, row, col, shift)
    queue = iter(zip(rows.tolist(), cols.tolist()))
    nxt: tuple[int, int] | None = None
    n = 0
    while n < limit:
        if nxt is None or nxt in tested:
            nxt = next((p for p in queue if p not in tested), None)
            if nxt is None:
                break
        r, c = nxt
        s = shifts_of(np.array([r]), np.array([c]))[0]
        shift = (int(s[0]), int(s[1]))
        taxi = abs(shift[0]) + abs(shift[1])
        tested.add((r, c))
        n += 1
        if best is None or taxi < best[0]:
            best = (taxi, r, c, shift)
        if taxi == 0:
            break
        nxt = (min(max(r - shift[0], r0), r1), min(max(c - shift[1], c0), c1))
    assert best is not None
    return best[1], best[2], best[3], n


class Registrar:
    """Places simulations of any size inside one experimental image; build once, call often.

    Parameters
    ----------
    experiment:
        The experimental image (2-D, finite, not constant).
    vertical_bias, horizontal_bias:
        Search bias toward the image centre, as the published grain-boundary mode: of the
        free range ``R = H - h`` of top-left rows, ``floor(b * R / 2)`` positions are
        excluded at each end (``b = 0.15`` vertically, 0 horizontally by default); in [0, 1].
    roi:
        ``(row0, row1, col0, col1)``: the part of the experiment the simulation must lie
        in (default: all of it). Quantisation uses the region's own range.
    method:
        Coarse ranking: ``"ncc"`` (FFT normalised cross-correlation, default) or
        ``"chi2"`` (the published windowed-histogram chi-squared map).
    fine:
        How the native neighbourhood is searched: ``"ranked"`` (default: in order of
        native NCC, and after an unlocked test where its residual shift points), or
        ``"scan"`` (row by row, as published, every placement until one locks).
    factor, levels:
        Coarse downsampling factor (4) and number of grey levels (16), as published.
    fine_radius:
        Half-width of the native neighbourhood around the coarse placement (default
        ``factor``: 9 x 9 = 81 placements, as published).
    max_candidates:
        Coarse candidates tested at most (default 32 with ``ncc``, all with ``chi2``).
    max_fine_tests:
        Native placements tested at most (default 9 with ``ranked``; all 81 with ``scan``).
    """

    def __init__(
        self,
        experiment: np.ndarray,
        *,
        vertical_bias: float = 0.15,
        horizontal_bias: float = 0.0,
        roi: tuple[int, int, int, int] | None = None,
        method: Method = "ncc",
        fine: FineOrder = "ranked",
        factor: int = 4,
        levels: int = 16,
        fine_radius: int | None = None,
        max_candidates: int | None | Literal["auto"] = "auto",
        max_fine_tests: int | None | Literal["auto"] = "auto",
    ) -> None:
        exp = check_image(experiment, "experimental image")
        for label, b in (("vertical_bias", vertical_bias), ("horizontal_bias", horizontal_bias)):
            if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0.0 <= float(b) <= 1.0:
                raise ConfigError(f"registration.{label} must lie in [0, 1] (a fraction of the free range), got {b!r}")
        if method not in ("ncc", "chi2"):
            raise ConfigError(f"registration.method must be 'ncc' or 'chi2', got {method!r}")
        if fine not in ("ranked", "scan"):
            raise ConfigError(f"registration.fine must be 'ranked' or 'scan', got {fine!r}")
        if max_candidates == "auto":
            max_candidates = NCC_MAX_CANDIDATES if method == "ncc" else None
        if max_fine_tests == "auto":
            max_fine_tests = None if fine == "scan" else MAX_FINE_TESTS
        for label, v, lo in (("factor", factor, 1), ("levels", levels, 2), ("fine_radius", fine_radius, 0),
                             ("max_candidates", max_candidates, 1), ("max_fine_tests", max_fine_tests, 1)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo):
                raise ConfigError(f"registration.{label} must be an integer >= {lo}, got {v!r}")
        if levels > 256:
            raise ConfigError(f"registration.levels must be at most 256, got {levels}")
        self.offset = (0, 0)
        if roi is not None:
            try:
                r0, r1, c0, c1 = (int(v) for v in roi)
            except (TypeError, ValueError):
                raise ConfigError(f"registration.roi must be (row0, row1, col0, col1), got {roi!r}") from None
            if not (0 <= r0 < r1 <= exp.shape[0] and 0 <= c0 < c1 <= exp.shape[1]):
                raise ConfigError(
                    f"registration.roi (row0, row1, col0, col1) = {tuple(roi)!r} does not lie inside the "
                    f"experimental image ({exp.shape[0]} x {exp.shape[1]} px)"
                )
            exp = exp[r0:r1, c0:c1]
            self.offset = (r0, c0)
        if float(exp.max()) <= float(exp.min()):
            where = "region of interest of the experimental image" if roi is not None else "experimental image"
            raise ConfigError(f"the {where} is constant: there is nothing to register against")
        self.experiment = exp
        self.roi = None if roi is None else tuple(int(v) for v in roi)
        self.vertical_bias = float(vertical_bias)
        self.horizontal_bias = float(horizontal_bias)
        self.method: Method = method
        self.fine: FineOrder = fine
        self.factor = int(factor)
        self.levels = int(levels)
        self.fine_radius = None if fine_radius is None else int(fine_radius)
        self.max_candidates = max_candidates
        self.max_fine_tests = max_fine_tests
        self._q = quantise(exp, self.levels)
        self._ncc: NCCRanker | None = None
        self._chi2: dict[int, Chi2Ranker] = {}
        self._phases: dict[tuple[int, int, int], np.ndarray] = {}
        self._patch_specs = ByteLRU(PATCH_CACHE_BYTES)
        self._strips = ByteLRU(STRIP_CACHE_BYTES)
        self._coarse_specs = ByteLRU(COARSE_CACHE_BYTES)

    # -- pieces --------------------------------------------------------------------------------
    def allowed_ranges(self, h: int, w: int) -> tuple[int, int, int, int]:
        """Inclusive ranges ``(r_lo, r_hi, c_lo, c_hi)`` of the top-left corners the bias
        allows for an ``h`` x ``w`` simulation (region coordinates)."""
        H, W = self.experiment.shape
        fr, fc = H - h, W - w
        mr = math.floor(self.vertical_bias * fr / 2 + 1e-9)
        mc = math.floor(self.horizontal_bias * fc / 2 + 1e-9)
        return mr, fr - mr, mc, fc - mc

    @property
    def _native_ranker(self) -> NCCRanker:
        if self._ncc is None:
            self._ncc = NCCRanker(self._q)
        return self._ncc

    def _downsampled_patch(self, r: int, c: int, f: int, hd: int, wd: int) -> np.ndarray:
        """The quantised experimental patch at native top-left ``(r, c)``, downsampled on the
        same block grid as the simulation (one cached downsampled copy per grid phase)."""
        key = (f, r % f, c % f)
        img = self._phases.get(key)
        if img is None:
            img = self._phases[key] = block_downsample(self._q[key[1] :, key[2] :], f)
        i, j = r // f, c // f
        return img[i : i + hd, j : j + wd]

    def _coarse_spectra(self, placements: list[tuple[int, int]], f: int, hd: int, wd: int,
                        dcorr: CircularCorrelator) -> np.ndarray:
        """Stacked spectra of the downsampled experimental patches at native top-left
        placements; the missing ones are transformed together and kept (they depend on the
        experiment alone)."""
        keys = [(f, r, c, hd, wd) for r, c in placements]
        found = [self._coarse_specs.get(k) for k in keys]
        missing = [i for i, spec in enumerate(found) if spec is None]
        if missing:
            patches = np.stack([self._downsampled_patch(placements[i][0], placements[i][1], f, hd, wd) for i in missing])
            for i, spec in zip(missing, dcorr.spectrum(patches)):
                found[i] = spec = spec.copy()  # not a view: the store counts what it holds
                self._coarse_specs.put(keys[i], spec)
        return np.stack(found)

    @staticmethod
    def _ncc_candidates(ncc: np.ndarray, f: int, window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coarse candidates from the native NCC surface: the allowed placements in blocks of
        ``f`` x ``f`` (the downsampled grid), each block represented by its best placement,
        blocks ranked by that score (ties: first in row-major order)."""
        r_lo, r_hi, c_lo, c_hi = window
        sub = ncc[r_lo : r_hi + 1, c_lo : c_hi + 1]
        nh, nw = sub.shape
        bh, bw = -(-nh // f), -(-nw // f)
        padded = np.full((bh * f, bw * f), -np.inf)
        padded[:nh, :nw] = np.round(sub, 12)  # scores equal to rounding count as ties
        blocks = padded.reshape(bh, f, bw, f).transpose(0, 2, 1, 3).reshape(bh, bw, f * f)
        inner = np.argmax(blocks, axis=-1)  # first best within each block (row-major)
        best = np.take_along_axis(blocks, inner[..., None], axis=-1)[..., 0]
        order = np.argsort(-best, axis=None, kind="stable")
        bi, bj = np.divmod(order, bw)
        di, dj = np.divmod(inner[bi, bj], f)
        return r_lo + bi * f + di, c_lo + bj * f + dj, best[bi, bj]

    def _chi2_candidates(self, dsim: np.ndarray, f: int, window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coarse candidates from the published chi-squared map on the downsampled images:
        downsampled placements ``(i, j)`` with ``f * (i, j)`` allowed, best first."""
        r_lo, r_hi, c_lo, c_hi = window
        ranker = self._chi2.get(f)
        if ranker is None:
            ranker = self._chi2[f] = Chi2Ranker(block_downsample(self._q, f), self.levels)
        scores = ranker.scores(dsim)
        i_lo, i_hi = -(-r_lo // f), r_hi // f
        j_lo, j_hi = -(-c_lo // f), c_hi // f
        if i_lo > i_hi:  # the allowed range holds no multiple of f: the nearest grid row
            i_lo = i_hi = min(r_lo // f, scores.shape[0] - 1)
        if j_lo > j_hi:
            j_lo = j_hi = min(c_lo // f, scores.shape[1] - 1)
        sub = scores[i_lo : i_hi + 1, j_lo : j_hi + 1]
        order = np.argsort(-sub, axis=None, kind="stable")
        ci, cj = np.divmod(order, sub.shape[1])
        ci, cj = ci + i_lo, cj + j_lo
        rows = np.clip(ci * f, r_lo, r_hi)
        cols = np.clip(cj * f, c_lo, c_hi)
        return rows, cols, scores[ci, cj]

    def _native_shifts(self, qs: np.ndarray) -> ShiftsOf:
        """Residual shifts of the quantised simulation at given native placements.

        A patch's spectrum is the transform along the rows of its column transforms; the
        column transforms of the whole strip of experiment under columns ``c .. c + w`` are
        kept per ``(c, w)`` (many placements share a column offset), whole patch spectra per
        placement (an optimizer revisits placements): both depend on the experiment alone.
        """
        h, w = qs.shape
        corr = correlator((h, w))
        ref = corr.spectrum(qs)

        def shifts_of(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            if len(rows) != 1:
                view = sliding_window_view(self._q, (h, w))  # only here: the default search tests one at a time
                return corr.residual_shifts(ref, view[rows, cols], integer=True)
            r, c = int(rows[0]), int(cols[0])
            spec = self._patch_specs.get((r, c, h, w))
            if spec is None:
                strip = self._strips.get((c, w))
                if strip is None:
                    strip = corr.column_transform(self._q[:, c : c + w])
                    self._strips.put((c, w), strip)
                spec = corr.row_transform(strip[r : r + h])
                self._patch_specs.put((r, c, h, w), spec)
            return corr.shifts_from_spectrum(ref, spec, integer=True)[None]

        return shifts_of

    # -- the registration ----------------------------------------------------------------------
    def register(self, simulation: np.ndarray) -> Placement:
        """Place ``simulation`` where cross-correlation leaves no residual shift (see the package doc)."""
        sim = check_image(simulation, "simulation")
        H, W = self.experiment.shape
        h, w = sim.shape
        if h > H or w > W:
            where = "region of interest" if self.roi is not None else "experimental image"
            raise ConfigError(f"the {where} ({H} x {W} px) is smaller than the simulation ({h} x {w} px)")
        r_lo, r_hi, c_lo, c_hi = self.allowed_ranges(h, w)
        qs = quantise(sim, self.levels)

        # -- coarse: rank candidate placements; the first stable one (downsampled) wins --------
        f = self.factor if min(h, w) >= 4 * self.factor else 1
        dsim = block_downsample(qs, f)
        hd, wd = dsim.shape
        native_ncc = None
        if self.method == "ncc":
            native_ncc = self._native_ranker.scores(qs)
            ci, cj, cand_scores = self._ncc_candidates(native_ncc, f, (r_lo, r_hi, c_lo, c_hi))
        else:
            ci, cj, cand_scores = self._chi2_candidates(dsim, f, (r_lo, r_hi, c_lo, c_hi))
        dcorr = correlator((hd, wd))
        dspec = dcorr.spectrum(dsim)

        def coarse_shifts(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
            specs = self._coarse_spectra([(int(r), int(c)) for r, c in zip(rr, cc)], f, hd, wd, dcorr)
            return dcorr.shifts_from_spectrum(dspec, specs, integer=True)

        k, _, n_coarse = first_locked(coarse_shifts, ci, cj, 4, self.max_candidates)
        p0 = (int(ci[k]), int(cj[k]))
        score = float(cand_scores[k])

        # -- fine: the native neighbourhood of the coarse placement --------------------------
        radius = f if self.fine_radius is None else self.fine_radius
        nr0, nr1 = max(r_lo, p0[0] - radius), min(r_hi, p0[0] + radius)
        nc0, nc1 = max(c_lo, p0[1] - radius), min(c_hi, p0[1] + radius)
        nh, nw = nr1 - nr0 + 1, nc1 - nc0 + 1
        gr, gc = np.divmod(np.arange(nh * nw), nw)
        gr, gc = gr + nr0, gc + nc0
        shifts_of = self._native_shifts(qs)
        if self.fine == "scan":
            k, shift, n_fine = first_locked(shifts_of, gr, gc, 9, self.max_fine_tests)
            r, c = int(gr[k]), int(gc[k])
        else:
            if native_ncc is None:
                native_ncc = self._native_ranker.scores(qs)
            local = np.round(native_ncc[nr0 : nr1 + 1, nc0 : nc1 + 1], 12)
            fine_order = np.argsort(-local, axis=None, kind="stable")
            limit = nh * nw if self.max_fine_tests is None else self.max_fine_tests
            r, c, shift, n_fine = follow_lock(shifts_of, gr[fine_order], gc[fine_order], (r_lo, r_hi, c_lo, c_hi), limit)
        return Placement(
            row=r + self.offset[0],
            col=c + self.offset[1],
            height=h,
            width=w,
            d_trans=abs(shift[0]) + abs(shift[1]),
            shift=shift,
            score=score,
            coarse=(p0[0] + self.offset[0], p0[1] + self.offset[1]),
            tests=n_coarse + n_fine,
            patch=self.experiment[r : r + h, c : c + w],
        )
