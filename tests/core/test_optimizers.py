"""The scipy optimizers on the unit box: they minimise, respect the box and stop on request."""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.builtins.optimizers import Cobyla, NelderMead, Powell, StopOptimization


@pytest.mark.parametrize("cls", [Powell, NelderMead, Cobyla])
def test_minimises_a_quadratic_inside_the_box(cls: type) -> None:
    seen: list[np.ndarray] = []

    def f(x: np.ndarray) -> float:
        seen.append(np.array(x))
        return float(np.sum((np.asarray(x) - [0.3, 0.7]) ** 2))

    out = cls().minimize(f, np.array([0.5, 0.5]), cls.Options())
    assert out.x == pytest.approx([0.3, 0.7], abs=2e-3)
    assert out.fun < 1e-5


@pytest.mark.parametrize("cls", [Powell, NelderMead, Cobyla])
def test_optimum_on_the_boundary(cls: type) -> None:
    out = cls().minimize(lambda x: float(np.sum((np.asarray(x) - 1.4) ** 2)), np.array([0.5]), cls.Options())
    assert out.x[0] == pytest.approx(1.0, abs=1e-2)


def test_stop_propagates() -> None:
    calls = []

    def f(x: np.ndarray) -> float:
        calls.append(1)
        if len(calls) == 5:
            raise StopOptimization("max_evals")
        return float(np.sum(np.asarray(x) ** 2))

    with pytest.raises(StopOptimization):
        Powell().minimize(f, np.array([0.5, 0.5]), Powell.Options())
    assert len(calls) == 5


def test_options_are_validated() -> None:
    with pytest.raises(Exception, match="xtol"):
        Powell.Options(xtol=-1)
    with pytest.raises(Exception):
        Powell.Options(unknown=1)
