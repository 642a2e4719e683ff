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
