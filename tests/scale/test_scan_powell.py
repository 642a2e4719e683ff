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
