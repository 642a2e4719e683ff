"""The paper benchmark's bookkeeping, and (slow) one short real case."""

from __future__ import annotations

import json
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


DEFAULTS_ = {"structure": "published", "start": "published", "refine": "none"}


def test_mode_table_defaults_and_unavailable_modes() -> None:
    from ingrained_core.apps import benchmark_modes as bm
    from ingrained_core.plugin.errors import ConfigError

    assert bm.combinations({}) == [bm.DEFAULTS]
    assert bm.mode_label(bm.DEFAULTS) == "structure=published,start=published,refine=none"
    assert bm.available("structure") == ["published", "recipe"] and bm.available("start") == ["published", "auto"]
    missing = bm.unavailable("refine", "nothing", "a mode not built")
    with pytest.raises(ConfigError, match="--refine nothing .*not available in this version"):
        missing(None, {})
    with pytest.raises(ConfigError, match="unknown mode; known: published, recipe"):
        bm.parse_modes("structure", "nonsense")
    data = {"optimizer": {"name": "powell"}}
    assert bm.apply_modes(CASES["twin"], data, bm.DEFAULTS) == data


def test_a_plugged_in_mode_transforms_the_case_config(monkeypatch) -> None:
    """A later module's mode function is called with the case and its config mapping."""
    from ingrained_core.apps import benchmark_modes as bm
    from ingrained_core.apps.benchmark import case_config

    def auto(case, data):
        data["forward_model"]["params"]["pixel_size"]["start"] = 0.21
        return data

    monkeypatch.setitem(bm.MODES["start"], "auto", auto)
    assert bm.parse_modes("start", "published,auto") == ["published", "auto"]
    combos = bm.combinations({"start": ["published", "auto"]})
    assert [c["start"] for c in combos] == ["published", "auto"]
    cfg, path = case_config(CASES["twin"], time_limit=5, overrides=[], modes=combos[1])
    assert path.name == "fuse.toml" and cfg.forward_model.params["pixel_size"].start == 0.21
    assert cfg.optimizer.time_limit == 5.0


def test_default_output_is_a_new_folder_never_an_existing_one(tmp_path: Path, monkeypatch) -> None:
    from ingrained_core.apps.benchmark import output_folder

    monkeypatch.chdir(tmp_path)
    first = output_folder(None, "20261201-101010")
    second = output_folder(None, "20261201-101010")
    assert first.name == "ingrained-benchmark-20261201-101010" and second.name == "ingrained-benchmark-20261201-101010-2"
    assert output_folder(tmp_path / "given", "x") == tmp_path / "given"


def test_each_record_is_written_and_a_failing_case_does_not_lose_the_others(tmp_path: Path) -> None:
    """A case that fails is recorded with its error; the record file exists from the start
    and names --out and --runs; a second benchmark into the same folder writes new files."""
    from ingrained_core.apps.benchmark import run_benchmark

    kwargs = dict(time_limit=1.0, out=tmp_path / "out", runs_dir=tmp_path / "runs", samples=2,
                  overrides=["optimizer.name=no-such-optimizer"])
    result = run_benchmark(["twin", "ni"], **kwargs)
    assert result["failed"] == ["twin", "ni"]
    record = json.loads(Path(result["paths"][0]).read_text())
    assert record["out"] == str((tmp_path / "out").resolve()) and record["runs"] == str((tmp_path / "runs").resolve())
    assert record["runs_given"] and record["out_given"] and record["complete"]
    assert [c["case"] for c in record["cases"]] == ["twin", "ni"]
    assert all("no-such-optimizer" in c["error"] for c in record["cases"])
    again = run_benchmark(["twin"], **kwargs)
    assert set(again["paths"]).isdisjoint(result["paths"]) and all(Path(p).is_file() for p in result["paths"])


def test_cu2o_density_is_made_once_into_the_cache(tmp_path: Path, monkeypatch) -> None:
    from ingrained_core.apps.benchmark import cache_dir, cu2o_density

    monkeypatch.setenv("INGRAINED_CACHE_DIR", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    examples = tmp_path / "examples"
    (examples / "cu2o_111").mkdir(parents=True)
    made = cu2o_density(examples, spacing=0.4)
    assert made.parent == tmp_path / "cache" / "cu2o_111" and made.stat().st_size > 0
    stamp = made.stat().st_mtime_ns
    assert cu2o_density(examples, spacing=0.4) == made and made.stat().st_mtime_ns == stamp  # reused
    local = examples / "cu2o_111" / "Cu2O_111.PARCHG"
    local.write_bytes(made.read_bytes())
    assert cu2o_density(examples, spacing=0.4) == local  # the example's own file first
    assert not list((tmp_path / "cache" / "cu2o_111").glob(".*"))  # no temporary file left


def test_the_recipe_and_auto_modes_change_what_the_issue_says() -> None:
    """--structure recipe: the published file gone, the recipe's builder; --start auto:
    every geometric start "auto", bounds kept (Cu2O back at the paper's 0.05-0.4 Å)."""
    from ingrained_core.apps.benchmark import case_config

    cfg, _ = case_config(CASES["twin"], time_limit=5, overrides=[], modes={**DEFAULTS_, "structure": "recipe"})
    fields = cfg.structure.builder_fields()
    assert cfg.structure.builder == "bicrystal" and "structure_file" not in fields
    cfg, _ = case_config(CASES["ni"], time_limit=5, overrides=[], modes={**DEFAULTS_, "start": "auto"})
    spec = cfg.forward_model.params["pixel_size"]
    assert spec.auto and spec.start is None and (spec.min, spec.max) == (0.05, 0.4)
    cfg, _ = case_config(CASES["cu2o"], time_limit=5, overrides=[], modes={**DEFAULTS_, "start": "auto"})
    spec = cfg.forward_model.params["pixel_size"]
    assert spec.auto and (spec.min, spec.max) == (0.05, 0.4)  # the example narrows them to 0.2-0.4


def test_fewer_samples_than_timing_blocks_still_time_every_block(lattice_case: Path) -> None:
    """``--samples 3`` used to end in a StatisticsError (an empty block of the four)."""
    from ingrained_core.apps.benchmark import time_evaluations
    from ingrained_core.engine.config import load_config
    from ingrained_core.engine.problem import build_problem

    problem = build_problem(load_config(lattice_case))
    out = time_evaluations(problem, 3)
    assert out["samples"] == 3 and len(out["block_ratios"]) == 3 and len(out["references_s"]) == 4
    assert all(r > 0 for r in out["block_ratios"])


def test_samples_below_one_is_a_clear_cli_error() -> None:
    from ..conftest import run_cli

    proc = run_cli(["benchmark", "--cases", "twin", "--samples", "0"])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--samples" in proc.stderr and "0" in proc.stderr


def test_time_to_final_fom_counts_from_the_start_of_fuse() -> None:
    """A start that began 6 s after fuse was called and reached its final FOM after 4 s of its
    own: 10 s from the start of fuse; without started_at the set-up stands in for the offset."""
    from ingrained_core.apps.benchmark import seconds_to_final_from_fuse

    figures = {"seconds_to_final_fom": 4.0}
    assert seconds_to_final_from_fuse({"started_at": 1006.0}, figures, 1000.0, 1.5) == 10.0
    assert seconds_to_final_from_fuse({}, figures, 1000.0, 1.5) == 5.5
    assert seconds_to_final_from_fuse({"started_at": 1006.0}, {"seconds_to_final_fom": None}, 1000.0, 1.5) is None
