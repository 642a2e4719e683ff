"""A worker's kept problem (engine/problem_cache.py): reused for the same config and files,
rebuilt when either changes, one per thread, and a start run on a reused problem logs the
same evaluations as on a freshly built one."""

from __future__ import annotations

import csv
import os
import threading
from pathlib import Path

import numpy as np

from ingrained_core.engine import problem_cache
from ingrained_core.engine.config import load_config
from ingrained_core.engine.multistart import run_start_task, start_points
from ingrained_core.engine.payload import config_to_payload
from ingrained_core.engine.problem import build_problem
from ingrained_core.engine.start_runner import Budget


def _payload(config: Path) -> dict:
    return config_to_payload(load_config(config))


def test_same_config_reuses_and_a_changed_file_or_field_rebuilds(lattice_case: Path) -> None:
    problem_cache.clear()
    data = _payload(lattice_case)
    first = problem_cache.cached_problem(data)
    assert problem_cache.cached_problem(dict(data)) is first
    image = lattice_case.parent / "experiment.npy"
    st = image.stat()
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # the image was written again
    second = problem_cache.cached_problem(data)
    assert second is not first
    other = {**data, "fom": {**data["fom"], "alpha": 0.2}}
    assert problem_cache.cached_problem(other) is not second
    assert problem_cache.problem_key(data) != problem_cache.problem_key(other)
    seen: list[object] = []
    t = threading.Thread(target=lambda: seen.append(problem_cache.cached_problem(other)))
    t.start()
    t.join()
    assert seen and seen[0] is not problem_cache.cached_problem(other)  # a thread keeps its own
    problem_cache.clear()


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(fh)]


def test_a_start_on_a_reused_problem_equals_one_on_a_fresh_problem(lattice_case: Path, tmp_path: Path) -> None:
    cfg = load_config(lattice_case)
    data = config_to_payload(cfg)
    points = start_points(build_problem(cfg), 2, seed=3)
    budget = Budget(max_evals=25).payload()
    problem_cache.clear()
    run_start_task(data, str(tmp_path / "warm" / "00"), 0, points[0].tolist(), budget)
    kept = problem_cache.cached_problem(data)
    warm = run_start_task(data, str(tmp_path / "warm" / "01"), 1, points[1].tolist(), budget)
    assert problem_cache.cached_problem(data) is kept  # start 1 ran on start 0's problem
    problem_cache.clear()
    fresh = run_start_task(data, str(tmp_path / "fresh" / "01"), 1, points[1].tolist(), budget)
    problem_cache.clear()
    assert (warm["fom"], warm["evaluations"], warm["params"]) == (fresh["fom"], fresh["evaluations"], fresh["params"])
    assert _rows(tmp_path / "warm" / "01" / "progress.csv") == _rows(tmp_path / "fresh" / "01" / "progress.csv")
    assert np.array_equal(np.load(tmp_path / "warm" / "01" / "simulation.npy"),
                          np.load(tmp_path / "fresh" / "01" / "simulation.npy"))
