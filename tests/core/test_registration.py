"""Coarse-to-fine registration: exact placements, lock test, bias, d_trans semantics, errors."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.registration import phase_cross_correlation

from ingrained_core.errors import ConfigError
from ingrained_core.registration import Registrar, residual_shift, residual_shift_exact
from ingrained_core.similarity import PaperSSIM


def lattice(shape: tuple[int, int], period: float = 9.3, sigma: float = 1.6, seed: int | None = None) -> np.ndarray:
    """A distorted 2-D lattice of Gaussian spots with a defect row (so placements are unique)."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    u = x + 0.21 * y
    v = y - 0.05 * x
    img = np.exp(-(((u % period) - period / 2) ** 2 + ((v % period) - period / 2) ** 2) / (2 * sigma**2))
    img += 0.6 * np.exp(-((y - 0.55 * shape[0]) ** 2) / 40.0)  # an "interface" band
    img += 0.3 * np.exp(-((x - 0.3 * shape[1]) ** 2) / 300.0)
    if seed is not None:
        img += np.random.default_rng(seed).normal(0, 0.15, shape)
    return img


@pytest.fixture(scope="module")
def twin_experiment(shared_data) -> np.ndarray:  # type: ignore[no-untyped-def]
    from ingrained_core.experiment import ExperimentConfig, load_experiment

    cfg = ExperimentConfig.model_validate(
        {"path": str(shared_data / "stem/cdte_twin/HAADF26.dm3"),
         "preprocess": [{"op": "rotate", "angle": 66, "remove_collar": True},
                        {"op": "centre-crop", "size": 328},
                        {"op": "trim", "bottom": 26, "right": 26},
                        {"op": "flip", "axis": "lr"}]})
    return load_experiment(cfg).data


@pytest.mark.parametrize("row,col", [(0, 0), (17, 41), (60, 83), (33, 5)])
def test_recovers_a_cut_patch_exactly_synthetic(row: int, col: int) -> None:
    exp = lattice((181, 201))
    sim = exp[row : row + 121, col : col + 117].copy()
    p = Registrar(exp, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.d_trans, p.shift) == (row, col, 0, (0, 0))
    assert PaperSSIM().distance(sim, p.patch) == 0.0


@pytest.mark.parametrize("row,col", [(10, 20), (48, 100), (95, 130), (51, 67)])
def test_recovers_a_cut_patch_exactly_real(twin_experiment: np.ndarray, row: int, col: int) -> None:
    sim = twin_experiment[row : row + 201, col : col + 167].copy()
    p = Registrar(twin_experiment, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.height, p.width, p.d_trans) == (row, col, 201, 167, 0)


def test_finds_a_noisy_shifted_copy(twin_experiment: np.ndarray) -> None:
    rng = np.random.default_rng(11)
    sim = twin_experiment[40:235, 70:223] + rng.normal(0, 0.5 * twin_experiment.std(), (195, 153))
    p = Registrar(twin_experiment, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.d_trans) == (40, 70, 0)


def test_synthetic_simulation_in_noisy_experiment() -> None:
    exp = lattice((200, 220), seed=5)
    sim = lattice((200, 220))[37:37 + 99, 51:51 + 101]
    p = Registrar(exp, vertical_bias=0.0).register(sim)
    assert (p.row, p.col, p.d_trans) == (37, 51, 0)


def test_vertical_bias_excludes_the_outer_rows() -> None:
    exp = lattice((200, 150))
    sim = exp[5 : 5 + 101, 20 : 20 + 71].copy()  # the true place lies in the excluded band
    free = 200 - 101
    p = Registrar(exp, vertical_bias=0.15).register(sim)
    assert int(0.15 * free) <= p.row <= free - int(0.15 * free)
    assert p.row != 5
    assert Registrar(exp, vertical_bias=0.0).register(sim).row == 5


def test_roi_limits_the_search() -> None:
    exp = lattice((200, 220))
    sim = exp[60:141, 90:171].copy()
    p = Registrar(exp, vertical_bias=0.0, roi=(40, 180, 70, 200)).register(sim)
    assert (p.row, p.col, p.d_trans) == (60, 90, 0)


def test_chi2_ranking_finds_the_same_placement(twin_experiment: np.ndarray) -> None:
    sim = twin_experiment[48:249, 100:267].copy()
    a = Registrar(twin_experiment, vertical_bias=0.0, method="ncc").register(sim)
    b = Registrar(twin_experiment, vertical_bias=0.0, method="chi2").register(sim)
    assert (a.row, a.col) == (b.row, b.col) == (48, 100)


def test_residual_shift_equals_scikit_image_unnormalised(twin_experiment: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(35, 140, 2))
        r, c = int(rng.integers(0, 302 - h)), int(rng.integers(0, 302 - w))
        dr, dc = (int(v) for v in rng.integers(-6, 7, 2))
        r2, c2 = min(max(r + dr, 0), 302 - h), min(max(c + dc, 0), 302 - w)
        sim = twin_experiment[r : r + h, c : c + w]
        patch = twin_experiment[r2 : r2 + h, c2 : c2 + w]
        ref, _, _ = phase_cross_correlation(patch, sim, normalization=None)
        assert residual_shift(sim, patch) == tuple(int(v) for v in ref) == residual_shift_exact(sim, patch)


def test_d_trans_is_taxicab_of_the_residual_shift() -> None:
    exp = lattice((160, 160))
    reg = Registrar(exp, vertical_bias=0.0)
    # a simulation that matches nothing exactly: its lock is imperfect, d_trans = |dy| + |dx|
    sim = np.roll(exp[30:130, 30:130], 3, axis=1) * np.linspace(1, 0.2, 100)[None, :]
    p = reg.register(sim)
    assert p.d_trans == abs(p.shift[0]) + abs(p.shift[1])


def test_deterministic() -> None:
    exp = lattice((180, 180), seed=1)
    sim = lattice((180, 180))[20:121, 30:121]
    a = Registrar(exp).register(sim)
    b = Registrar(exp).register(sim)
    assert (a.row, a.col, a.d_trans, a.score) == (b.row, b.col, b.d_trans, b.score)


@pytest.mark.parametrize(
    "exp,fragment",
    [
        (np.zeros((100, 100)), "constant"),
        (np.full((100, 100), np.nan), "NaN"),
        (np.zeros(100), "2-D"),
    ],
)
def test_bad_experiments(exp: np.ndarray, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Registrar(exp)


def test_simulation_larger_than_experiment() -> None:
    with pytest.raises(ConfigError, match=r"experimental image \(80 x 90 px\) is smaller than the simulation \(101 x 51 px\)"):
        Registrar(lattice((80, 90))).register(np.ones((101, 51)))
