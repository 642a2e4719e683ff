"""benchmarks/bench_race.py's scoring of a policy from complete searches (FOM exact, time
modelled on the workers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import benchmark_module

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    return benchmark_module("bench_race")


def _search(final: float, at: int, n: int = 10, step: float = 1.0, early: float = 1.0) -> list[tuple[float, float]]:
    """n evaluations one ``step`` s apart: FOM ``final`` from evaluation ``at`` (1-based) on, ``early`` before."""
    return [(early if k + 1 < at else final, step * (k + 1)) for k in range(n)]


def test_no_race_runs_the_searches_in_turns_on_the_workers(bench) -> None:
    runs = [_search(0.9, 1), _search(0.8, 1), _search(0.7, 1), _search(0.5, 1)]
    got = bench.policy(runs, 4, 0, 2, 2, setup_s=2.0)
    # start 3 waits for a worker (10 s), then reaches its end point at its first evaluation
    assert got["winner"] == 3 and got["fom"] == 0.5 and got["seconds_modelled"] == pytest.approx(2.0 + 10.0 + 1.0)


def test_the_race_keeps_the_best_at_the_race_and_times_the_rest_after_it(bench) -> None:
    runs = [_search(0.6, 3), _search(0.9, 1), _search(0.4, 8, early=0.95), _search(0.7, 2)]
    got = bench.policy(runs, 4, 5, 2, 2, setup_s=0.0)
    assert got["go_on"] == [0, 3]  # best after 5: start 0 (0.6), start 3 (0.7); start 2 blooms too late
    assert got["fom"] == 0.6 and got["winner"] == 0
    # the race: 4 searches of 5 s on 2 workers, 10 s; start 0 reached 0.6 at its 3rd evaluation, inside the race
    assert got["seconds_modelled"] == pytest.approx(3.0)
    late = [_search(0.6, 3), _search(0.5, 7, early=0.65), _search(0.9, 1), _search(0.95, 1)]
    got = bench.policy(late, 4, 5, 2, 2, setup_s=0.0)
    assert got["go_on"] == [0, 1]
    # start 1 goes on at 10 s (the race's end) and reaches 0.5 two evaluations after the race
    assert got["winner"] == 1 and got["seconds_modelled"] == pytest.approx(10.0 + 2.0)


def test_as_many_starts_as_go_on_never_race(bench) -> None:
    runs = [_search(0.6, 3), _search(0.5, 9)]
    assert bench.policy(runs, 2, 5, 2, 2, 0.0) == bench.policy(runs, 2, 0, 2, 2, 0.0)
