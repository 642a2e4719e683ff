"""Multi-start on a real dask LocalCluster equals the serial run with the same seeds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ingrained_core.apps.api import fuse


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in csv.DictReader(fh)]


def test_dask_multistart_equals_serial(lattice_case: Path, tmp_path: Path, dask_cluster) -> None:
    common = dict(starts=3, seed=5, max_evals=30)
    serial = fuse(lattice_case, tmp_path / "serial", overrides=['optimizer.executor="serial"'], **common)
    dask = fuse(lattice_case, tmp_path / "dask",
                overrides=['optimizer.executor="dask"', f'optimizer.scheduler="{dask_cluster.scheduler_address}"'],
                **common)
    assert len(dask.starts) == 3 and all(r.get("status") == "finished" for r in dask.starts)
    by_start = {r["start"]: r for r in dask.starts}
    for r in serial.starts:
        d = by_start[r["start"]]
        assert (d["fom"], d["evaluation"], d["evaluations"], d["params"]) == (
            r["fom"], r["evaluation"], r["evaluations"], r["params"])
        # each start has its own run subdirectory, with the same evaluations in the same order
        assert _rows(tmp_path / "dask" / "starts" / f"{r['start']:02d}" / "progress.csv") == _rows(
            tmp_path / "serial" / "starts" / f"{r['start']:02d}" / "progress.csv")
    assert dask.fom == serial.fom and dask.best["start"] == serial.best["start"]
    best = json.loads((tmp_path / "dask" / "best.json").read_text())
    assert [s["start"] for s in best["starts"]] == [0, 1, 2]
    assert best["evaluations_all_starts"] == sum(r["evaluations"] for r in serial.starts)
    assert (tmp_path / "dask" / "fused.png").is_file()


def test_dask_executor_starts_its_own_local_cluster(lattice_case: Path, tmp_path: Path) -> None:
    """Without a scheduler address a local cluster sized to the machine is started and closed."""
    result = fuse(lattice_case, tmp_path / "local", overrides=['optimizer.executor="dask"', "optimizer.workers=2"],
                  starts=2, seed=1, max_evals=12)
    assert sorted(r["start"] for r in result.starts) == [0, 1]
    assert all((tmp_path / "local" / "starts" / f"{i:02d}" / "best.json").is_file() for i in (0, 1))


def test_dask_map_reports_a_failed_task_and_finishes_the_others(dask_cluster) -> None:
    from ingrained_core.engine.parallel import dask_map

    tasks = [(1.0, "a", 0), (0.0, "b", 1), (4.0, "c", 2)]
    out = {k: (res, err) for k, res, err in
           dask_map(_inverse, tasks, scheduler=dask_cluster.scheduler_address, key_index=2)}
    assert out[0] == (1.0, None) and out[2] == (0.25, None)
    assert out[1][0] is None and isinstance(out[1][1], ZeroDivisionError)


def test_tasks_run_in_their_own_temporary_directory(dask_cluster) -> None:
    from ingrained_core.engine.parallel import dask_map

    cwds = [res for _, res, err in dask_map(_cwd, [(i, i) for i in range(4)], scheduler=dask_cluster.scheduler_address,
                                            key_index=0)]
    assert len(set(cwds)) == 4 and all(Path(c).name.startswith("ingrained-task-") for c in cwds)
    assert not any(Path(c).exists() for c in cwds)  # removed afterwards


def _inverse(x: float, label: str, key: int) -> float:
    return 1.0 / x


def _cwd(key: int, _: int) -> str:
    import os

    return os.getcwd()


def test_cli_scheduler_option_runs_the_starts_on_that_scheduler(lattice_case: Path, tmp_path: Path, dask_cluster,
                                                                 lattice_plugin: Path) -> None:
    """``ingrained fuse --scheduler ADDRESS`` sends the starts to an existing scheduler."""
    from ..conftest import run_cli

    proc = run_cli(["fuse", str(lattice_case), "--out", str(tmp_path / "cli"), "--starts", "2", "--max-evals", "8",
                    "--scheduler", dask_cluster.scheduler_address, "--quiet"],
                   env={"PYTHONPATH": str(lattice_plugin)})
    assert proc.returncode == 0, proc.stderr
    import tomllib

    cfg = tomllib.loads((tmp_path / "cli" / "config.toml").read_text())
    assert cfg["optimizer"]["executor"] == "dask"
    assert cfg["optimizer"]["scheduler"] == dask_cluster.scheduler_address
    best = json.loads((tmp_path / "cli" / "best.json").read_text())
    assert [s["status"] for s in best["starts"]] == ["finished", "finished"]
