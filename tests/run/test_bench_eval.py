"""benchmarks/bench_eval.py's "until the optimizer stops": from the launch of the fuse to its
search's last evaluation, set-up included and the run files written afterwards not."""

from __future__ import annotations

import pytest

from ..conftest import benchmark_module


@pytest.fixture(scope="module")
def bench_eval():  # noqa: ANN201 - a module
    return benchmark_module("bench_eval")


def test_a_single_run_stops_at_its_start_plus_its_search(bench_eval) -> None:
    best = {"started_at": 1003.5, "elapsed_s": 18.25,
            "segments": [{"started_at": 1003.5, "elapsed_s": 0.0, "evaluations": 0}]}
    assert bench_eval.seconds_to_stop(best, launched=1000.0) == pytest.approx(21.75)


def test_a_resumed_run_stops_at_its_last_segment_plus_what_that_segment_ran(bench_eval) -> None:
    """A start run twice (a race, a resume): elapsed_s counts both runs' search time; the
    last run began at its own started_at with the first run's 30 s already logged."""
    best = {"started_at": 1100.0, "elapsed_s": 42.0,
            "segments": [{"started_at": 1002.0, "elapsed_s": 0.0, "evaluations": 0},
                         {"started_at": 1100.0, "elapsed_s": 30.0, "evaluations": 500}]}
    assert bench_eval.seconds_to_stop(best, launched=1000.0) == pytest.approx(112.0)


def test_a_record_without_wall_clock_gives_no_figure(bench_eval) -> None:
    assert bench_eval.seconds_to_stop({"fom": 0.2}, launched=1000.0) is None
    assert bench_eval.seconds_to_stop({"started_at": 1001.0, "elapsed_s": 5.0}, launched=1000.0) == pytest.approx(6.0)
