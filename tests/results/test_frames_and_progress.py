"""Frames replace an earlier set and report progress; the live view's honest parts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.engine.reporting import QuietReporter, clean_message, eta_seconds


def test_frames_replace_an_earlier_set_and_report_progress(finished_run: Path, lattice_plugin: Path,
                                                           tmp_path: Path) -> None:
    from PIL import Image

    from ingrained_core.apps.frames import render_frames

    calls: list[tuple[str, int, int]] = []
    first = render_frames(finished_run, select="1-4", progress=lambda *a: calls.append(a))
    assert len(first) == 4
    assert calls[0] == ("frames", 0, 4) and calls[-1] == ("frames", 4, 4)
    sizes = {Image.open(p).size for p in first}
    assert len(sizes) == 1  # one size: they encode into one movie
    assert Image.open(first[0]).info.get("dpi", (100, 100))[0] == pytest.approx(100, abs=1)
    calls.clear()
    second = render_frames(finished_run, select="best", movie=True, progress=lambda *a: calls.append(a))
    frames_dir = finished_run / "frames"
    assert sorted(p.name for p in frames_dir.iterdir()) == ["frame_00000.png", "progress.mp4"]
    assert [p.name for p in second] == ["frame_00000.png", "progress.mp4"]
    assert ("movie", 0, 1) in calls and ("movie", 1, 1) in calls
    assert not (finished_run / "frames.partial").exists()


def test_warnings_have_one_prefix_and_name_their_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert clean_message("Warning - solution has significant translative offset") == \
        "solution has significant translative offset"
    assert clean_message("warning: x") == "x" and clean_message("a warning - b") == "a warning - b"
    QuietReporter("start 03").message("Warning - solution has significant translative offset (d_trans = 12)", "warning")
    QuietReporter().message("something informative")
    err = capsys.readouterr().err
    assert err == "warning: start 03: solution has significant translative offset (d_trans = 12)\n"


def test_eta_is_the_sooner_of_the_budgets() -> None:
    assert eta_seconds(50, 10.0, 200, None) == pytest.approx(30.0)
    assert eta_seconds(50, 10.0, 200, 20.0) == pytest.approx(10.0)
    assert eta_seconds(0, 0.0, 200, None) is None
    assert eta_seconds(10, 5.0, None, None) is None


def test_scan_powell_reports_its_round_and_radius() -> None:
    from ingrained_core.builtins.optimizers import ScanPowell, ScanPowellOptions, set_stage_listener

    stages: list[str] = []
    set_stage_listener(stages.append)
    try:
        ScanPowell().minimize(lambda x: float(np.sum((x - 0.3) ** 2)), np.array([0.5, 0.5]),
                              ScanPowellOptions(scan_points=5, max_rounds=2))
    finally:
        set_stage_listener(None)
    assert stages[0].startswith("Powell from the start")
    assert stages[1] == "round 1: scan radius 0.25 (stops below min_radius 0.02)"
    assert len(stages) == 3


def test_console_summary_counts_setup_and_fit_apart(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from ingrained_core.engine.reporting import ConsoleReporter

    rep = ConsoleReporter()
    time.sleep(0.2)  # "set-up"
    rep.begin("ingrained fuse -> somewhere", ["a"])
    rep.plan({"starts": 1, "max_evals": 10, "time_limit": None})
    rep.evaluation(0, 1, 0.5, 0.5, 0, 0.01, False)
    rep.message("Warning - something odd", "warning")
    rep.end({"fom": 0.5, "d_trans": 0, "d_sim": 0.5, "evaluation": 1, "evaluations": 1, "elapsed_s": 0.01,
             "stop_reason": "max_evals"})
    err = capsys.readouterr().err
    assert "warning: something odd" in err and "Warning -" not in err
    assert "set-up 0." in err and "fit 0.0 s" in err
    setup = float(err.split("set-up ")[-1].split(" s")[0])
    assert setup >= 0.2 - 0.05 and math.isfinite(setup)
