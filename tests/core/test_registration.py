"""Coarse-to-fine registration: exact placements, the lock test, bias, ROI, d_trans, errors.

Real data: the CdTe twin and Ni/M3B2 images (tests/core/conftest.py). Synthetic: a
distorted lattice with an interface band, so that placements are unique.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.registration import phase_cross_correlation

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.engine.registration import (
    Placement,
    Registrar,
    residual_shift,
    residual_shift_exact,
)
from ingrained_core.engine.registration.cache import ByteLRU
from ingrained_core.engine.registration.correlation import CircularCorrelator, axis_mode
from ingrained_core.engine.registration.images import quantise
from ingrained_core.engine.registration.ranking import NCCRanker
from ingrained_core.builtins.similarity import PaperSSIM


def lattice(shape: tuple[int, int], period: float = 9.3, sigma: float = 1.6, seed: int | None = None) -> np.ndarray:
    """A sheared 2-D lattice of Gaussian spots with an interface band and a smooth ramp."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    u, v = x + 0.21 * y, y - 0.05 * x
    img = np.exp(-(((u % period) - period / 2) ** 2 + ((v % period) - period / 2) ** 2) / (2 * sigma**2))
    img += 0.6 * np.exp(-((y - 0.55 * shape[0]) ** 2) / 40.0)
    img += 0.3 * np.exp(-((x - 0.3 * shape[1]) ** 2) / 300.0)
    if seed is not None:
        img += np.random.default_rng(seed).normal(0, 0.15, shape)
    return img


# -- the residual shift ------------------------------------------------------------------------
def test_residual_shift_is_scikit_image_unnormalised_on_real_patches(twin_experiment: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    exp = twin_experiment
    shapes = [(201, 167), (195, 153), (67, 101), (35, 35), (50, 41), (128, 96), (97, 89)]
    for h, w in shapes:
        for _ in range(4):
            r, c = int(rng.integers(0, 302 - h + 1)), int(rng.integers(0, 302 - w + 1))
            dr, dc = (int(v) for v in rng.integers(-9, 10, 2))
            r2, c2 = min(max(r + dr, 0), 302 - h), min(max(c + dc, 0), 302 - w)
            sim, patch = exp[r : r + h, c : c + w], exp[r2 : r2 + h, c2 : c2 + w]
            ref, _, _ = phase_cross_correlation(sim, patch, normalization=None)
            expected = tuple(int(v) for v in ref)
            assert residual_shift(sim, patch) == expected == residual_shift_exact(sim, patch)
            # quantised (integer) images, as the registration compares them
            qs, qp = quantise(sim), quantise(patch)
            ref_q, _, _ = phase_cross_correlation(qs, qp, normalization=None)
            assert residual_shift(qs, qp) == tuple(int(v) for v in ref_q)


def test_residual_shift_sign_points_from_the_patch_to_the_match() -> None:
    exp = lattice((150, 160))
    sim = exp[40:141, 50:151]
    # the patch 3 rows lower and 2 columns left of the match: shift = p - q = (3, -2)
    assert residual_shift(sim, exp[43:144, 48:149]) == (3, -2)
    assert residual_shift(sim, sim) == (0, 0)


@pytest.mark.parametrize("shape", [(201, 167), (160, 120), (283, 169)])
def test_correlator_matches_numpy_fft(shape: tuple[int, int]) -> None:
    """Matrix DFT (awkward sizes) and pocketfft (smooth sizes) give numpy's correlation."""
    rng = np.random.default_rng(0)
    a, b = rng.random(shape), rng.random(shape)
    corr = CircularCorrelator(shape)
    got = corr.correlation(corr.spectrum(a), corr.spectrum(np.stack([b, a])))
    expected = np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b))).real
    np.testing.assert_allclose(got[0], expected, atol=1e-9 * np.abs(expected).max())
    auto = np.fft.ifft2(np.abs(np.fft.fft2(a)) ** 2).real
    np.testing.assert_allclose(got[1], auto, atol=1e-9 * auto.max())


# shapes covering every way of computing an axis: pocketfft at n ("fft"), the DFT matrix
# ("matmul") and the padded linear correlation folded back ("pad"), on both axes
MODE_SHAPES = [(195, 153), (38, 47), (97, 283), (211, 251), (283, 169), (16, 17)]


def test_correlator_modes_are_the_circular_correlation() -> None:
    modes = {(axis_mode(h, real=False), axis_mode(w, real=True)) for h, w in MODE_SHAPES}
    assert {m for pair in modes for m in pair} == {"fft", "matmul", "pad"}
    assert ("pad", "pad") in modes and ("matmul", "pad") in modes and ("pad", "fft") in modes
    rng = np.random.default_rng(1)
    for shape in MODE_SHAPES:
        corr = CircularCorrelator(shape)
        a, b = rng.random(shape), rng.random(shape)
        spec_a, spec_ba = corr.spectrum(a), corr.spectrum(np.stack([b, a]))
        kept = (spec_a.copy(), spec_ba.copy())
        got = corr.correlation(spec_a, spec_ba)
        expected = np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b))).real
        np.testing.assert_allclose(got[0], expected, atol=1e-9 * np.abs(expected).max())
        auto = np.fft.ifft2(np.abs(np.fft.fft2(a)) ** 2).real
        np.testing.assert_allclose(got[1], auto, atol=1e-9 * auto.max())
        # the inputs are left as they were (the products are transformed in place)
        assert np.array_equal(kept[0], spec_a) and np.array_equal(kept[1], spec_ba)
        # integer images: every value exact after rounding, shifts as scikit-image
        qa, qb = np.floor(16 * a), np.floor(16 * b)
        exact = np.rint(np.fft.ifft2(np.fft.fft2(qa) * np.conj(np.fft.fft2(qb))).real)
        assert np.array_equal(corr.correlation(corr.spectrum(qa), corr.spectrum(qb), integer=True), exact)
        ref, _, _ = phase_cross_correlation(qa, qb, normalization=None)
        assert tuple(corr.residual_shifts(corr.spectrum(qa), qb, integer=True)) == tuple(int(v) for v in ref)


def test_patch_spectra_from_column_strips_are_the_patch_spectra(twin_experiment: np.ndarray) -> None:
    q = quantise(twin_experiment)
    for shape in ((195, 153), (283, 169), (97, 283)):
        h, w = shape
        corr = CircularCorrelator(shape)
        strip = corr.column_transform(q[:, 3 : 3 + w]) if w <= 302 - 3 else None
        if strip is None:
            continue
        spec = corr.row_transform(strip[5 : 5 + h])
        np.testing.assert_allclose(spec, corr.spectrum(q[5 : 5 + h, 3 : 3 + w]), rtol=0, atol=1e-9)


def test_ncc_scores_are_the_plain_fft_formula_bit_for_bit(twin_experiment: np.ndarray) -> None:
    """The NCC ranking skips transforms of zero rows and of rows it drops, and must give
    exactly the numbers of the plain formula (the ranking rounds them to 12 decimals)."""
    import scipy.fft as sfft

    rng = np.random.default_rng(8)
    for image in (quantise(twin_experiment), quantise(twin_experiment[:150, :150])):
        ranker = NCCRanker(image)
        H, W = image.shape
        for h, w in ((195, 153), (79, 79), (120, 33), (35, 140)):
            if h > H or w > W:
                continue
            t = np.floor(16 * rng.random((h, w)))
            t -= t.mean()
            plain = sfft.irfft2(ranker._spec * np.conj(sfft.rfft2(t, s=ranker._fft_shape)), s=ranker._fft_shape)
            assert np.array_equal(ranker._valid_correlation(t), plain[: H - h + 1, : W - w + 1])


def test_byte_lru_is_bounded_and_keeps_the_most_recent() -> None:
    store = ByteLRU(10_000)
    for i in range(100):
        store.put(i, np.zeros(200))  # 1600 bytes each
        assert store.nbytes <= 10_000
    assert len(store) == 6 and store.get(99) is not None and store.get(0) is None
    store.get(94)  # now the most recent: 95 goes first
    store.put(100, np.zeros(200))
    assert store.get(94) is not None and store.get(95) is None
    big = ByteLRU(10)
    big.put("a", np.zeros(100))  # larger than the bound: the most recent is kept alone
    assert len(big) == 1 and big.get("a") is not None


def test_registrar_stores_stay_within_their_bounds(twin_experiment: np.ndarray) -> None:
    from ingrained_core.engine.registration import registrar as module

    rng = np.random.default_rng(12)
    reg = Registrar(twin_experiment)
    for _ in range(40):
        h, w = int(rng.integers(100, 240)), int(rng.integers(100, 240))
        r, c = int(rng.integers(0, 302 - h + 1)), int(rng.integers(0, 302 - w + 1))
        reg.register(twin_experiment[r : r + h, c : c + w] + rng.normal(0, twin_experiment.std(), (h, w)))
    for store, bound in ((reg._patch_specs, module.PATCH_CACHE_BYTES), (reg._strips, module.STRIP_CACHE_BYTES),
                         (reg._coarse_specs, module.COARSE_CACHE_BYTES)):
        assert 0 < store.nbytes <= bound
        # each entry holds its own memory (a view would keep a whole stack alive uncounted)
        for value in store._items.values():
            assert value.base is None or value.base.nbytes == value.nbytes


# -- exact recovery ----------------------------------------------------------------------------
@pytest.mark.parametrize("row,col", [(0, 0), (17, 41), (60, 83), (33, 5)])
def test_recovers_a_cut_patch_exactly_synthetic(row: int, col: int) -> None:
    exp = lattice((181, 201))
    sim = exp[row : row + 121, col : col + 117].copy()
    p = Registrar(exp, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.height, p.width, p.d_trans, p.shift) == (row, col, 121, 117, 0, (0, 0))
    assert np.array_equal(p.patch, sim)
    assert PaperSSIM().distance(sim, p.patch) == 0.0  # FOM of a patch with itself is 0


@pytest.mark.parametrize("row,col", [(10, 20), (48, 100), (95, 130), (51, 67), (0, 135)])
def test_recovers_a_cut_patch_exactly_real_twin(twin_experiment: np.ndarray, row: int, col: int) -> None:
    sim = twin_experiment[row : row + 201, col : col + 167].copy()
    p = Registrar(twin_experiment, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.height, p.width, p.d_trans, p.shift) == (row, col, 201, 167, 0, (0, 0))
    fom = 0.1 * p.d_trans + PaperSSIM().distance(sim, p.patch)
    assert fom == 0.0


@pytest.mark.parametrize("row,col", [(50, 100), (0, 7), (100, 214)])
def test_recovers_a_cut_patch_exactly_real_ni(ni_experiment: np.ndarray, row: int, col: int) -> None:
    sim = ni_experiment[row : row + 283, col : col + 169].copy()
    p = Registrar(ni_experiment, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.d_trans) == (row, col, 0)


@pytest.mark.parametrize("method,fine", [("ncc", "ranked"), ("ncc", "scan"), ("chi2", "ranked")])
def test_every_method_recovers_a_cut_patch(twin_experiment: np.ndarray, method: str, fine: str) -> None:
    sim = twin_experiment[48:249, 100:267].copy()
    p = Registrar(twin_experiment, vertical_bias=0.0, method=method, fine=fine).register(sim)
    assert (p.row, p.col, p.d_trans) == (48, 100, 0)


def test_published_chi2_scan_is_never_better_than_the_default(twin_experiment: np.ndarray) -> None:
    """The published search (chi-squared ranking, row-by-row scan of +-4 px) on cut patches
    of the real twin: it often locks one lattice period away or not at all (the
    histogram ranking does not see position); the default finds every patch exactly."""
    exp = twin_experiment
    paper = Registrar(exp, vertical_bias=0.0, method="chi2", fine="scan")
    default = Registrar(exp, vertical_bias=0.0)
    ssim = PaperSSIM()
    exact_paper = 0
    for r, c in ((48, 100), (10, 20), (95, 130), (60, 3)):
        sim = exp[r : r + 201, c : c + 167]
        a, b = default.register(sim), paper.register(sim)
        fa = 0.1 * a.d_trans + ssim.distance(sim, a.patch)
        fb = 0.1 * b.d_trans + ssim.distance(sim, b.patch)
        assert (a.row, a.col, fa) == (r, c, 0.0)
        assert fb >= fa
        exact_paper += (b.row, b.col) == (r, c)
    assert exact_paper < 4  # (48, 100) is found one period (16 px) off by the published search


def test_finds_a_noisy_copy(twin_experiment: np.ndarray) -> None:
    rng = np.random.default_rng(11)
    sim = twin_experiment[40:235, 70:223] + rng.normal(0, 0.5 * twin_experiment.std(), (195, 153))
    p = Registrar(twin_experiment, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.d_trans) == (40, 70, 0)
    assert 0.0 < PaperSSIM().distance(sim, p.patch) < 1.0


def test_finds_a_clean_simulation_in_a_noisy_experiment() -> None:
    exp = lattice((200, 220), seed=5)
    sim = lattice((200, 220))[37 : 37 + 99, 51 : 51 + 101]
    p = Registrar(exp, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.d_trans) == (37, 51, 0)


def test_finds_an_intensity_scaled_copy(twin_experiment: np.ndarray) -> None:
    """Registration compares quantised images: gain and offset do not matter."""
    sim = 3.0 * twin_experiment[77:272, 21:174] - 1000.0
    p = Registrar(twin_experiment, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.d_trans) == (77, 21, 0)


# -- d_trans -----------------------------------------------------------------------------------
def test_d_trans_is_the_taxicab_residual_shift_on_the_quantised_images(twin_experiment: np.ndarray) -> None:
    exp = twin_experiment
    rng = np.random.default_rng(4)
    # simulations that cannot lock exactly: a blurred, stretched, noisy copy
    from scipy.ndimage import gaussian_filter, zoom

    base = zoom(gaussian_filter(exp[20:200, 30:190], 2.0), (1.08, 0.93), order=1)
    sim = base[:171, :141] + rng.normal(0, 0.3 * exp.std(), (171, 141))
    reg = Registrar(exp)
    p = reg.register(sim)
    r, c = p.row, p.col
    ref, _, _ = phase_cross_correlation(quantise(sim), quantise(exp)[r : r + 171, c : c + 141], normalization=None)
    assert p.shift == tuple(int(v) for v in ref)
    assert p.d_trans == abs(p.shift[0]) + abs(p.shift[1])


def test_deterministic_and_cache_independent(twin_experiment: np.ndarray) -> None:
    rng = np.random.default_rng(9)
    sims = [twin_experiment[r : r + 181, c : c + 141] + rng.normal(0, 0.8 * twin_experiment.std(), (181, 141))
            for r, c in ((10, 10), (90, 120), (50, 60))]
    a = Registrar(twin_experiment)
    first = [a.register(s) for s in sims]
    again = [a.register(s) for s in sims[::-1]][::-1]  # warm caches, other order
    fresh = [Registrar(twin_experiment).register(s) for s in sims]
    for x, y, z in zip(first, again, fresh):
        assert x == y == z  # dataclass equality: every field but the patch


# -- search window: bias and region of interest ---------------------------------------------------
def test_bias_ranges_follow_the_published_definition() -> None:
    reg = Registrar(lattice((302, 302)))
    # free range 101 rows: floor(0.15 * 101 / 2) = 7 excluded at each end; columns free
    assert reg.allowed_ranges(201, 167) == (7, 94, 0, 135)
    assert Registrar(lattice((302, 302)), vertical_bias=0.0, horizontal_bias=0.5).allowed_ranges(201, 167) == (0, 101, 33, 102)
    assert Registrar(lattice((302, 302)), vertical_bias=1.0).allowed_ranges(201, 167)[:2] == (50, 51)


def test_vertical_bias_keeps_the_placement_near_the_centre() -> None:
    exp = lattice((200, 150))
    sim = exp[2 : 2 + 101, 20 : 20 + 71].copy()  # the true place lies in the excluded band
    reg = Registrar(exp, vertical_bias=0.15)
    r_lo, r_hi, _, _ = reg.allowed_ranges(101, 71)
    assert (r_lo, r_hi) == (7, 92)
    p = reg.register(sim)
    assert r_lo <= p.row <= r_hi and p.row != 2
    assert Registrar(exp, vertical_bias=0.0).register(sim).row == 2


def test_horizontal_bias_keeps_the_placement_near_the_centre() -> None:
    exp = lattice((150, 200))
    sim = exp[20 : 20 + 71, 3 : 3 + 101].copy()
    reg = Registrar(exp, vertical_bias=0.0, horizontal_bias=0.3)
    _, _, c_lo, c_hi = reg.allowed_ranges(71, 101)
    assert (c_lo, c_hi) == (14, 85)
    p = reg.register(sim)
    assert c_lo <= p.col <= c_hi
    assert Registrar(exp, vertical_bias=0.0).register(sim).col == 3


def test_roi_limits_the_search_and_reports_full_image_coordinates() -> None:
    exp = lattice((200, 220))
    sim = exp[60:141, 90:171].copy()
    p = Registrar(exp, vertical_bias=0.0, roi=(40, 180, 70, 200)).register(sim)
    assert (p.row, p.col, p.d_trans) == (60, 90, 0)
    assert np.array_equal(p.patch, sim)
    # a region that excludes the true place: the placement stays inside the region
    q = Registrar(exp, vertical_bias=0.0, roi=(100, 200, 0, 220)).register(sim)
    assert q.row >= 100 and q.row + 81 <= 200


# -- errors and defined edge cases ---------------------------------------------------------------
@pytest.mark.parametrize(
    "exp,fragment",
    [
        (np.zeros((100, 100)), "constant"),
        (np.full((100, 100), np.nan), "NaN"),
        (np.where(np.eye(50) > 0, np.inf, 1.0), "NaN or infinite"),
        (np.zeros(100), "2-D"),
    ],
)
def test_bad_experiments(exp: np.ndarray, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Registrar(exp)


def test_simulation_larger_than_experiment() -> None:
    with pytest.raises(ConfigError, match=r"experimental image \(80 x 90 px\) is smaller than the simulation \(101 x 51 px\)"):
        Registrar(lattice((80, 90))).register(np.ones((101, 51)))
    with pytest.raises(ConfigError, match=r"region of interest \(50 x 60 px\) is smaller than the simulation \(51 x 51 px\)"):
        Registrar(lattice((80, 90)), roi=(0, 50, 0, 60)).register(np.ones((51, 51)))


def test_bad_simulations_and_settings() -> None:
    exp = lattice((120, 120))
    reg = Registrar(exp)
    with pytest.raises(ConfigError, match="simulation holds NaN"):
        reg.register(np.full((51, 51), np.nan))
    with pytest.raises(ConfigError, match="simulation must be a 2-D"):
        reg.register(np.ones((5, 5, 3)))
    for kwargs, fragment in [
        ({"vertical_bias": 1.5}, r"vertical_bias must lie in \[0, 1\]"),
        ({"horizontal_bias": -0.1}, r"horizontal_bias must lie in \[0, 1\]"),
        ({"method": "sift"}, "method must be 'ncc' or 'chi2'"),
        ({"fine": "all"}, "fine must be"),
        ({"roi": (0, 500, 0, 50)}, "does not lie inside the experimental image"),
        ({"roi": (0, 50, 0, 50)}, None),
        ({"factor": 0}, "factor must be an integer >= 1"),
        ({"max_fine_tests": 0}, "max_fine_tests must be an integer >= 1"),
    ]:
        if fragment is None:
            Registrar(exp, **kwargs)
        else:
            with pytest.raises(ConfigError, match=fragment):
                Registrar(exp, **kwargs)
    with pytest.raises(ConfigError, match="region of interest of the experimental image is constant"):
        Registrar(np.pad(exp, ((0, 0), (0, 60))), roi=(0, 120, 125, 180))


def test_constant_simulation_is_defined() -> None:
    """A structureless simulation locks at the first candidate (every shift is a tie)."""
    exp = lattice((120, 130))
    p = Registrar(exp, vertical_bias=0.0).register(np.full((61, 51), 3.0))
    assert isinstance(p, Placement) and p.d_trans == 0 and p.patch.shape == (61, 51)


def test_small_simulations_skip_downsampling() -> None:
    exp = lattice((90, 90))
    sim = exp[30:45, 11:24].copy()  # smaller than 4 x the factor: coarse stage at native resolution
    p = Registrar(exp, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.d_trans) == (30, 11, 0)
