"""Starting a run from a previous run's solution (``forward_model.start_from``, ``--start-from``)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from ingrained_core.apps.api import fuse
from ingrained_core.plugin.errors import ConfigError, ParameterError

from ..conftest import run_cli


def test_start_from_best_json_sets_the_start_values(lattice_case: Path, tmp_path: Path) -> None:
    first = fuse(lattice_case, tmp_path / "first", max_evals=40)
    second = fuse(lattice_case, tmp_path / "second", max_evals=1,
                  overrides=[f'forward_model.start_from="{tmp_path / "first" / "best.json"}"'])
    # evaluation 1 of the second run is the first run's best point, with its FOM
    assert second.params["pixel_size"] == first.params["pixel_size"]
    assert second.params["rotation"] == first.params["rotation"]
    assert second.fom == pytest.approx(first.fom, abs=1e-12)
    cfg = tomllib.loads((tmp_path / "second" / "config.toml").read_text())
    # the values are written into the run's config; the run does not depend on the file any more
    assert "start_from" not in cfg["forward_model"]
    assert cfg["forward_model"]["params"]["sigma"]["start"] == first.params["sigma"]
    assert cfg["provenance"]["start_from"]["path"].endswith("best.json")
    assert set(cfg["provenance"]["start_from"]["params"]) >= {"pixel_size", "sigma", "rotation"}


def test_a_parameter_fixed_at_a_value_keeps_it(lattice_case: Path, tmp_path: Path) -> None:
    first = fuse(lattice_case, tmp_path / "first", max_evals=30)
    assert first.params["rotation"] != 5.0
    second = fuse(lattice_case, tmp_path / "second", max_evals=1,
                  overrides=[f'forward_model.start_from="{tmp_path / "first"}"',  # a run directory works too
                             "forward_model.params.rotation=5.0"])
    assert second.params["rotation"] == 5.0
    assert second.params["pixel_size"] == first.params["pixel_size"]


def test_cli_start_from_is_relative_to_the_working_directory(lattice_case: Path, tmp_path: Path,
                                                             lattice_plugin: Path) -> None:
    fuse(lattice_case, tmp_path / "first", max_evals=20)
    best = json.loads((tmp_path / "first" / "best.json").read_text())
    proc = run_cli(["fuse", str(lattice_case), "--out", str(tmp_path / "second"), "--start-from", "first",
                    "--max-evals", "1", "--quiet"], cwd=tmp_path, env={"PYTHONPATH": str(lattice_plugin)})
    assert proc.returncode == 0, proc.stderr
    again = json.loads((tmp_path / "second" / "best.json").read_text())
    assert again["params"]["pixel_size"] == best["params"]["pixel_size"]


def test_start_from_errors_name_the_field(lattice_case: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="start_from: .*does not exist"):
        fuse(lattice_case, tmp_path / "r1", overrides=[f'forward_model.start_from="{tmp_path / "nope.json"}"'])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fom": 0.2}))
    with pytest.raises(ConfigError, match="no 'params' table"):
        fuse(lattice_case, tmp_path / "r2", overrides=[f'forward_model.start_from="{bad}"'])
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"params": {"pixel_size": 0.5}}))  # the config's bounds are [0.15, 0.3]
    with pytest.raises(ParameterError, match="pixel_size.*outside.*start_from"):
        fuse(lattice_case, tmp_path / "r3", overrides=[f'forward_model.start_from="{outside}"'])
    assert not (tmp_path / "r3").exists()  # nothing written for a config error
