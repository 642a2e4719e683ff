"""The global-then-local optimizer (scan-powell): it escapes a local minimum Powell stops in."""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.builtins.optimizers import Powell, PowellOptions, ScanPowell, ScanPowellOptions, StopOptimization


def _two_basins(x: np.ndarray) -> float:
    """A shallow basin at the start (0.3, 0.3) and a deeper, narrow one at (0.75, 0.3)."""
    x = np.clip(x, 0.0, 1.0)
    near = 0.5 + 5.0 * np.sum((x - [0.3, 0.3]) ** 2)
    far = 0.1 + 40.0 * np.sum((x - [0.75, 0.3]) ** 2)
    return float(min(near, far, 2.0))


def test_scan_powell_finds_the_deeper_basin_powell_misses() -> None:
    x0 = np.array([0.32, 0.28])
    local = Powell().minimize(_two_basins, x0, PowellOptions())
    assert local.fun > 0.45  # Powell stays in the start's basin
    res = ScanPowell().minimize(_two_basins, x0, ScanPowellOptions(scan_radius=0.5))
    assert res.fun < 0.1001 and np.allclose(res.x, [0.75, 0.3], atol=1e-2)
    assert "scan rounds" in res.message


def test_scan_powell_stops_with_the_budget() -> None:
    calls = []

    def budgeted(x: np.ndarray) -> float:
        if len(calls) >= 40:
            raise StopOptimization("max_evals")
        calls.append(x)
        return _two_basins(x)

    with pytest.raises(StopOptimization, match="max_evals"):
        ScanPowell().minimize(budgeted, np.array([0.32, 0.28]), ScanPowellOptions())
    assert len(calls) == 40


def test_scan_first_scans_before_any_line_search() -> None:
    """scan_first: the start, then one parameter at a time on the scan grid, then Powell."""
    calls: list[np.ndarray] = []

    def logged(x: np.ndarray) -> float:
        calls.append(np.array(x, dtype=float))
        return _two_basins(x)

    x0 = np.array([0.32, 0.28])
    opts = ScanPowellOptions(scan_radius=0.5, scan_first=True, scan_points=5)
    res = ScanPowell().minimize(logged, x0, opts)
    assert np.array_equal(calls[0], x0)
    scan = calls[1:1 + 6]  # 3 new points along x (-0.18 is out of bounds, 0.32 the centre), then along y
    assert all(np.isclose(c[1], x0[1]) for c in scan[:3]) and np.allclose([c[0] for c in scan[:3]], [0.07, 0.57, 0.82])
    assert res.fun < 0.1001 and np.allclose(res.x, [0.75, 0.3], atol=1e-2)


def test_scan_first_reaches_the_far_basin_within_a_short_budget() -> None:
    """Powell first spends a short budget in the start's basin; a scan first does not."""

    def budgeted(limit: int, first: bool) -> float:
        best = [np.inf]

        def f(x: np.ndarray) -> float:
            if f.n >= limit:  # type: ignore[attr-defined]
                raise StopOptimization("max_evals")
            f.n += 1  # type: ignore[attr-defined]
            best[0] = min(best[0], _two_basins(x))
            return _two_basins(x)

        f.n = 0  # type: ignore[attr-defined]
        with pytest.raises(StopOptimization):
            ScanPowell().minimize(f, np.array([0.32, 0.28]), ScanPowellOptions(scan_radius=0.5, scan_first=first))
        return best[0]

    assert budgeted(30, first=False) > 0.45
    assert budgeted(30, first=True) < 0.2


def _rough(x: np.ndarray) -> float:
    """A bowl with ripples: Powell stops at a ripple, so the scan rounds run their course."""
    x = np.clip(x, 0.0, 1.0)
    return float(np.sum((x - [0.61, 0.43, 0.52]) ** 2) + 0.01 * np.sum(np.sin(37.0 * x) ** 2))


class _Rerunning(ScanPowell):
    rerun_barren_powell = True


def _logged_run(optimizer: ScanPowell, opts: ScanPowellOptions) -> tuple[list[tuple[float, ...]], object]:
    calls: list[tuple[float, ...]] = []

    def f(x: np.ndarray) -> float:
        calls.append(tuple(float(v) for v in np.clip(x, 0.0, 1.0)))
        return _rough(x)

    return calls, optimizer.minimize(f, np.array([0.2, 0.8, 0.35]), opts)


@pytest.mark.parametrize("scan_first", [False, True])
def test_a_powell_that_would_repeat_itself_is_not_run_again(scan_first: bool) -> None:
    """After a Powell that found nothing better and a scan that found nothing either, Powell
    would start from the same point with the same options: the same evaluations again.
    Skipping it leaves the result and every other evaluation as they were, in order."""
    opts = ScanPowellOptions(scan_points=7, scan_first=scan_first)
    old, old_res = _logged_run(_Rerunning(), opts)
    new, new_res = _logged_run(ScanPowell(), opts)
    assert new_res.fun == old_res.fun and np.array_equal(new_res.x, old_res.x)
    assert len(new) < len(old) and new_res.evaluations == len(new)
    assert "Powell runs not repeated" in new_res.message and "not repeated" not in old_res.message
    # the new sequence is the old one with whole blocks left out, each a repeat of a block run before
    i = 0
    removed: list[tuple[int, int]] = []  # (start, length) in the old sequence
    for call in new:
        j = old.index(call, i)
        if j > i:
            removed.append((i, j - i))
        i = j + 1
    removed += [(i, len(old) - i)] if i < len(old) else []
    assert removed
    for at, n in removed:
        assert any(old[p:p + n] == old[at:at + n] for p in range(at - n + 1)), f"block at {at} is no repeat"
