"""The run-directory contract (engine/rundir.py): creating and clearing a run directory,
reading best.json of any shape, and the log's best row as the source of truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ingrained_core.engine.lock import LOCK_NAME
from ingrained_core.engine.progress import ProgressLog
from ingrained_core.engine.rundir import (
    RUN_FILES,
    best_params,
    clear_run_files,
    log_best_row,
    prepare_run_dir,
    read_json,
    remove_temporaries,
)
from ingrained_core.plugin.errors import RunDirectoryError


def _log(path: Path, foms: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    log = ProgressLog(path, ["a"])
    for i, f in enumerate(foms, 1):
        log.append({"eval": i, "elapsed_s": 0.1 * i, "a": i / 10, "d_trans": 0 if math.isfinite(f) else -1,
                    "d_sim": f, "fom": f})
    log.close()


def test_prepare_refuses_a_non_empty_directory_unless_forced(tmp_path: Path) -> None:
    run = tmp_path / "run"
    prepare_run_dir(run, force=False)
    (run / LOCK_NAME).write_text("{}")
    prepare_run_dir(run, force=False)  # a lock alone does not make it a run
    (run / "best.json").write_text("{}")
    with pytest.raises(RunDirectoryError, match="not empty; use 'ingrained resume"):
        prepare_run_dir(run, force=False)
    prepare_run_dir(run, force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirectoryError, match="not a directory"):
        prepare_run_dir(tmp_path / "file", force=True)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(RunDirectoryError, match="looping symbolic link"):
        prepare_run_dir(tmp_path / "loop", force=False)


def test_clear_removes_run_files_only(tmp_path: Path) -> None:
    for name in RUN_FILES:
        (tmp_path / name).write_text("x")
    (tmp_path / "starts" / "00").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / ".best.json.abc.tmp").write_text("torn")
    clear_run_files(tmp_path)
    remove_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("content", ["[1]", '"x"', "{", "", "\xff\xfe"])
def test_read_json_of_any_shape(tmp_path: Path, content: str) -> None:
    (tmp_path / "best.json").write_text(content, errors="surrogateescape")
    assert read_json(tmp_path / "best.json") is None
    assert read_json(tmp_path / "missing.json") is None


def test_log_best_row_is_the_lowest_feasible_fom_first_on_ties(tmp_path: Path) -> None:
    _log(tmp_path / "progress.csv", [3.0, 1.0, math.inf, 1.0, 2.0])
    row = log_best_row(tmp_path)
    assert row is not None and row["eval"] == 2 and row["fom"] == 1.0
    _log(tmp_path / "starts" / "00" / "progress.csv", [2.0, 0.5])
    _log(tmp_path / "starts" / "01" / "progress.csv", [0.4])
    row = log_best_row(tmp_path)
    assert row is not None and row["start"] == 1 and row["fom"] == 0.4


def test_best_params_prefers_the_log_when_best_json_lags(tmp_path: Path) -> None:
    _log(tmp_path / "progress.csv", [3.0, 1.0, 0.5])
    (tmp_path / "best.json").write_text(json.dumps({"fom": 1.0, "params": {"a": 0.2}}))
    params, note = best_params(tmp_path)
    assert params == {"a": 0.3} and note is not None and "lags the run's log" in note
    (tmp_path / "best.json").write_text(json.dumps({"fom": 0.5, "params": {"a": 0.3}}))
    assert best_params(tmp_path) == ({"a": 0.3}, None)
    (tmp_path / "best.json").write_text("[1]")
    assert best_params(tmp_path)[0] == {"a": 0.3}
