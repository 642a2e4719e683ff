"""BLAS threads are limited while a start evaluates (optimizer.blas_threads) and restored after."""

from __future__ import annotations

from threadpoolctl import threadpool_info

from ingrained_core.engine.run import _blas_limit


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_blas_limit_sets_and_restores() -> None:
    import numpy  # noqa: F401 - loads OpenBLAS

    before = _blas_threads()
    assert before, "numpy's BLAS is visible to threadpoolctl"
    limit = _blas_limit(1)
    assert _blas_threads() == [1] * len(before)
    limit.restore_original_limits()
    assert _blas_threads() == before


def test_no_limit_leaves_blas_alone() -> None:
    assert _blas_limit(None) is None
