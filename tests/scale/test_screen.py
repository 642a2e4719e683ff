"""Candidate screening on a real dask LocalCluster: ranking, outputs, a failing candidate."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingrained_core.apps.screen import screen


def test_screen_ranks_candidates_and_reports_the_corrupt_one(screen_case: dict[str, Path], tmp_path: Path,
                                                             dask_cluster) -> None:
    cands = [screen_case["wrong"], screen_case["corrupt"], screen_case["right"]]
    dask = screen(screen_case["config"], cands, tmp_path / "dask", scheduler=dask_cluster.scheduler_address)
    # the structure the image was rendered from wins; the one missing its Ti columns is worse
    ok = [r for r in dask.rows if r["status"] == "finished"]
    assert [Path(r["candidate"]).name for r in ok] == ["right.cif", "wrong.cif"]
    assert ok[0]["fom"] < 0.05 and ok[1]["fom"] > ok[0]["fom"] + 0.05
    # the corrupt file is reported (with the file named) and did not stop the others
    assert [Path(r["candidate"]).name for r in dask.failed] == ["corrupt.cif"]
    assert "corrupt.cif" in dask.failed[0]["error"]
    # outputs
    with open(tmp_path / "dask" / "ranking.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["rank"], Path(r["candidate"]).name, r["status"]) for r in rows] == [
        ("1", "right.cif", "finished"), ("2", "wrong.cif", "finished"), ("", "corrupt.cif", "failed")]
    md = (tmp_path / "dask" / "ranking.md").read_text()
    assert "| 1 | right.cif |" in md and "failed" in md
    from PIL import Image

    with Image.open(tmp_path / "dask" / "contact_sheet.png") as im:
        assert im.format == "PNG" and im.size[0] >= 400
    for r in ok:  # each candidate: its run files and the light outputs of a start
        assert (Path(r["run_dir"]) / "best.json").is_file() and (Path(r["run_dir"]) / "fused.png").is_file()
        assert not (Path(r["run_dir"]) / "fused.pdf").exists() and not (Path(r["run_dir"]) / "report.html").exists()
    from ingrained_core.apps.outputs import finish_run

    winner = Path(ok[0]["run_dir"])  # what `ingrained report --outputs` does for the one a user opens
    finish_run(winner, report=True, strict=True, full=True)
    assert all((winner / name).is_file() for name in ("fused.pdf", "fused.svg", "report.html", "fused.tif"))

    # the same screening run serially gives the same figures
    serial = screen(screen_case["config"], cands, tmp_path / "serial", executor="serial")
    assert [(r["candidate"], r["fom"], r["evaluations"], r["status"]) for r in serial.rows] == [
        (r["candidate"], r["fom"], r["evaluations"], r["status"]) for r in dask.rows]


def test_screen_refuses_missing_candidates_and_models_without_inputs(screen_case: dict[str, Path], tmp_path: Path,
                                                                     lattice_case: Path) -> None:
    from ingrained_core.plugin.errors import ConfigError

    with pytest.raises(ConfigError, match="not found"):
        screen(screen_case["config"], [screen_case["dir"] / "absent.cif"], tmp_path / "a", executor="serial")
    with pytest.raises(ConfigError, match="nothing for screening candidates to replace"):
        screen(lattice_case, [screen_case["right"]], tmp_path / "b", executor="serial")
