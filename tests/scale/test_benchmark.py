"""The paper benchmark's bookkeeping, and (slow) one short real case."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingrained_core.apps.benchmark import CASES, case_overrides, markdown_table, run_case, trace_figures

from ..conftest import real_file



def test_trace_figures_reads_time_and_evaluations_to_the_target() -> None:
    rows = [{"eval": i + 1, "elapsed_s": t, "fom": f} for i, (t, f) in enumerate(
        [(1.0, 0.9), (30.0, 0.5), (59.0, 0.3), (61.0, 0.2), (200.0, 0.25), (299.0, 0.15), (301.0, 0.1)])]
    out = trace_figures(rows, 0.2, (60.0, 300.0))
    assert out["reached_paper_fom"] and out["evals_to_paper_fom"] == 4 and out["seconds_to_paper_fom"] == 61.0
    assert out["fom_at_60s"] == 0.3 and out["fom_at_300s"] == 0.15
    assert trace_figures(rows, 0.05)["reached_paper_fom"] is False


def test_crop_is_fixed_at_the_papers_best_size() -> None:
    assert (CASES["twin"].crop, CASES["ni"].crop, CASES["cu2o"].crop) == ((195, 153), (283, 169), (79, 79))
    o = case_overrides(CASES["ni"], 300)
    assert "forward_model.params.crop_height={ start = 283, fixed = true }" in o
    assert "forward_model.params.crop_width={ start = 169, fixed = true }" in o
    assert "optimizer.time_limit=300.0" in o


@pytest.mark.slow
def test_one_short_twin_case(tmp_path: Path) -> None:
    real_file("cdte_twin/HAADF26.dm3")
    rec = run_case(CASES["twin"], time_limit=3.0, runs_dir=tmp_path, samples=8, overrides=[])
    assert rec["crop"] == [195, 153] and rec["stop_reason"] in ("time_limit", "converged")
    best = (tmp_path / "twin" / "best.json").read_text()
    assert '"crop_height": 195' in best and '"crop_width": 153' in best
    assert rec["best_fom"] == pytest.approx(rec["best_d_sim"] + 0.1 * rec["best_d_trans"])
    assert rec["eval_median_ms"] > 0 and rec["reference_workload_s"] > 0 and "cumulative" in rec["profile"]
    table = markdown_table({"cases": [rec], "time_limit_s": 3.0})
    assert "| best FOM (d_trans, d_sim) |" in table and "195 x 153" in table
