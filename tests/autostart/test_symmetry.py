"""Rotation and shear trade (STM): the lattice's symmetry images and the undistorted start.

A hexagonal surface under the STM model: every map A·g (g a 60° step) explains the same
peaks, the ones the rotation bounds reach are candidates, and the local search can start
from the estimate's undistorted similarity (same scale and orientation, no shear/stretch).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ingrained_core.engine.autostart.estimate import estimate_from_lattice, similarity_start
from ingrained_core.engine.autostart.peaks import LatticePeaks
from ingrained_core.engine.autostart.reference import lattice_symmetry, model_matrix, reference_lattice

NAMES = ["pixel_size", "shear_x", "shear_y", "stretch_x", "stretch_y", "rotation"]
BOUNDS = {"pixel_size": (0.15, 0.45), **{n: (-0.3, 0.3) for n in NAMES[1:5]}, "rotation": (50.0, 170.0)}
SHAPE = (121, 121)


def _pattern(vectors: list[tuple[float, float]], orders: int = 2) -> LatticePeaks:
    """Peaks of the lattice spanned by ``vectors`` (cycles/px) up to ``orders``, half plane."""
    a, b = (np.array(v) for v in vectors)
    ks, ss = [], []
    for i in range(-orders, orders + 1):
        for j in range(-orders, orders + 1):
            k = i * a + j * b
            if k[1] > 1e-12 or (abs(k[1]) <= 1e-12 and k[0] > 0):
                ks.append(k)
                ss.append(10.0 - float(np.linalg.norm(k)) * 40.0)
    return LatticePeaks(np.array(ks), np.array(ss), (200, 200))


def test_lattice_symmetry_of_hexagonal_square_and_oblique_patterns():
    t = math.radians(60.0)
    hexagonal = _pattern([(0.05, 0.0), (0.05 * math.cos(t), 0.05 * math.sin(t))])
    square = _pattern([(0.05, 0.0), (0.0, 0.05)])
    oblique = _pattern([(0.05, 0.0), (0.013, 0.071)])
    assert lattice_symmetry(hexagonal) == (0.0, 60.0, 120.0, 180.0, 240.0, 300.0)
    assert lattice_symmetry(square) == (0.0, 90.0, 180.0, 270.0)
    assert lattice_symmetry(oblique) == (0.0, 180.0)


@pytest.fixture(scope="module")
def hex_model():
    from pymatgen.core import Lattice, Structure

    from ingrained_stm.model import TersoffHamannSTM
    from ingrained_stm.synthetic import model_density

    a = 6.0
    cell = np.array([[a, 0.0, 0.0], [a / 2, a * math.sqrt(3) / 2, 0.0], [0.0, 0.0, 16.0]])
    # two atoms per cell at different heights: a motif that is three-fold, not six-fold
    structure = Structure(Lattice(cell), ["Cu", "Cu"], [[0.0, 0.0, 0.5], [1 / 3, 1 / 3, 0.45]])
    return TersoffHamannSTM(model_density(structure, weights={"Cu": 1.0}, spacing=0.3))


def _base(model) -> dict[str, float]:
    from ingrained_stm.start import suggest_r_val

    v = model.Params().model_dump()
    v.update(crop_height=SHAPE[0], crop_width=SHAPE[1], r_val=suggest_r_val(model)["start"], sigma=0.0)
    return v


def test_equivalent_rotations_are_candidates_and_the_similarity_start_is_undistorted(hex_model):
    """The truth (rotation 75°, a small shear) is reproduced by the best candidate's map;
    the same lattice at rotation + 60° (a different image of the motif) is its equivalent;
    the similarity start has no shear or stretch and keeps the lattice's scale and orientation."""
    base = _base(hex_model)
    truth = {"pixel_size": 0.3, "shear_x": 0.03, "shear_y": -0.02, "stretch_x": 0.0, "stretch_y": 0.0,
             "rotation": 75.0}
    img = np.asarray(hex_model.simulate(hex_model.Params(**{**base, **truth})).array, dtype=float)
    ref = reference_lattice(hex_model, base, 0.3, SHAPE)
    assert 60.0 in ref.symmetry and 120.0 in ref.symmetry
    est = estimate_from_lattice(img, hex_model, base, NAMES, BOUNDS, p0=0.3, reference=ref)
    best = est.candidates[0]

    def lattice_map(v: dict[str, float]) -> np.ndarray:
        return model_matrix(hex_model, {**base, **v}) / v["pixel_size"]

    want = lattice_map(truth)
    # the same lattice: M/p equal up to a symmetry rotation of the structure (60° steps)
    def same_lattice(v: dict[str, float]) -> bool:
        got = lattice_map(v)
        return any(np.linalg.norm(got @ _rot(g) - want) <= 0.02 * np.linalg.norm(want)
                   for g in range(0, 360, 60))

    assert same_lattice(best.values), best.values
    eq = [c for c in est.candidates if c.equivalent_of == 0]
    assert eq, [c.as_dict() for c in est.candidates]
    assert same_lattice(eq[0].values)
    turn = (eq[0].values["rotation"] - best.values["rotation"]) % 60.0
    assert min(turn, 60.0 - turn) < 1.0
    assert all(BOUNDS["rotation"][0] <= c.values["rotation"] <= BOUNDS["rotation"][1] for c in est.candidates)

    sim = similarity_start(best.values, hex_model, base, NAMES, BOUNDS)
    assert all(sim[n] == 0.0 for n in NAMES[1:5])
    m_sim, m_best = lattice_map(sim), lattice_map(best.values)
    assert abs(np.linalg.det(m_sim)) == pytest.approx(abs(np.linalg.det(m_best)), rel=1e-6)
    # the polar rotation: the similarity is the rotation nearest the estimate's map
    u_best = _polar_unitary(m_best)
    assert np.allclose(_polar_unitary(m_sim), u_best, atol=1e-3)


def _rot(degrees: float) -> np.ndarray:
    t = math.radians(degrees)
    return np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])


def _polar_unitary(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    return u @ vt


def test_decompositions_made_ahead_on_two_processes_give_the_same_estimate(hex_model, monkeypatch):
    """A hexagonal lattice with rotation free: enough maps to go to the workers, and every
    candidate (values, mismatch, equivalents) is what the serial estimate gives."""
    from ingrained_core.engine.autostart import estimate as est_mod

    base = _base(hex_model)
    truth = {"pixel_size": 0.3, "shear_x": 0.03, "shear_y": -0.02, "stretch_x": 0.0, "stretch_y": 0.0,
             "rotation": 75.0}
    img = np.asarray(hex_model.simulate(hex_model.Params(**{**base, **truth})).array, dtype=float)
    ref = reference_lattice(hex_model, base, 0.3, SHAPE)
    made: list[int] = []
    real = est_mod.decompose_ahead

    def counted(maps, *args):  # noqa: ANN001, ANN202 - records how many maps were made ahead
        out = real(maps, *args)
        made.append(len(out))
        return out

    monkeypatch.setattr(est_mod, "decompose_ahead", counted)
    serial = estimate_from_lattice(img, hex_model, base, NAMES, BOUNDS, p0=0.3, reference=ref, workers=1)
    ahead = estimate_from_lattice(img, hex_model, base, NAMES, BOUNDS, p0=0.3, reference=ref, workers=2)
    assert made[0] == 0 and made[1] >= est_mod.MIN_PARALLEL_MAPS  # serial: none ahead; two workers: all
    assert [c.as_dict() for c in ahead.candidates] == [c.as_dict() for c in serial.candidates]
    assert ahead.rejected == serial.rejected


def _ahead_in_this_process(queue) -> None:  # noqa: ANN001 - a multiprocessing queue
    from ingrained_core.engine.autostart.estimate import MIN_PARALLEL_MAPS, decompose_ahead

    maps = [(k, np.eye(2)) for k in range(MIN_PARALLEL_MAPS + 1)]
    queue.put(len(decompose_ahead(maps, None, [], {}, 2)))


def test_a_daemonic_process_makes_no_pool_and_leaves_every_fit_for_later() -> None:
    """Inside a dask worker (a daemonic process) a pool cannot start: nothing is made ahead,
    and the estimate makes each fit when it needs it."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_ahead_in_this_process, args=(queue,), daemon=True)
    proc.start()
    got = queue.get(timeout=60)
    proc.join(timeout=60)
    assert got == 0 and proc.exitcode == 0
