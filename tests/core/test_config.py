"""The run config: loading, overrides, path resolution, clear errors, and its documentation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingrained_core.engine.config import (FomConfig, ForwardModelConfig, OptimizerConfig, RegistrationConfig,
                                   StructureConfig, apply_overrides, dump_config, load_config, parse_override,
                                   validate_config)
from ingrained_core.plugin.errors import ConfigError
from ingrained_core.engine.experiment import ExperimentConfig

MINIMAL = {"experiment": {"path": "img.npy"}, "forward_model": {"name": "haadf"}}


def test_every_field_is_documented(repo_root: Path) -> None:
    doc = (repo_root / "docs" / "configuration.md").read_text()
    for model in (ExperimentConfig, StructureConfig, ForwardModelConfig, FomConfig, RegistrationConfig,
                  OptimizerConfig):
        for name in model.model_fields:
            assert f"`{name}`" in doc, f"{model.__name__}.{name} is missing from docs/configuration.md"


def test_paths_resolve_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    cfg_path = tmp_path / "sub" / "run.toml"
    cfg_path.write_text('[experiment]\npath = "img.npy"\n[forward_model]\nname = "stm"\ninput = "../d/PARCHG"\n')
    cfg = load_config(cfg_path)
    assert cfg.experiment.path == (tmp_path / "sub" / "img.npy").resolve()
    assert cfg.forward_model.input == (tmp_path / "d" / "PARCHG").resolve()


def test_json_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "run.json"
    p.write_text(json.dumps(MINIMAL))
    assert load_config(p).forward_model.name == "haadf"


@pytest.mark.parametrize(
    "item,keys,value",
    [
        ("optimizer.name=nelder-mead", ["optimizer", "name"], "nelder-mead"),
        ("optimizer.max_evals=20", ["optimizer", "max_evals"], 20),
        ("forward_model.params.pixel_size={ start = 0.2, min = 0.1 }", ["forward_model", "params", "pixel_size"],
         {"start": 0.2, "min": 0.1}),
        ("registration.roi=[1, 2, 3, 4]", ["registration", "roi"], [1, 2, 3, 4]),
    ],
)
def test_overrides_are_read_as_toml(item: str, keys: list[str], value: object) -> None:
    assert parse_override(item) == (keys, value)


def test_overrides_are_validated_like_the_file(tmp_path: Path) -> None:
    data = apply_overrides(json.loads(json.dumps(MINIMAL)), ["optimizer.starts=0"])
    with pytest.raises(ConfigError, match="optimizer.starts"):
        validate_config(data, tmp_path)
    with pytest.raises(ConfigError, match="dotted.key=value"):
        parse_override("optimizer")


@pytest.mark.parametrize(
    "data,fragment",
    [
        ({**MINIMAL, "optimiser": {}}, "did you mean 'optimizer'"),
        ({**MINIMAL, "fom": {"alpah": 0.2}}, "did you mean 'alpha'"),
        ({**MINIMAL, "fom": {"alpha": "x"}}, "fom.alpha"),
        ({**MINIMAL, "fom": {"beta": -1}}, "fom.beta"),
        ({**MINIMAL, "registration": {"method": "sift"}}, "registration.method"),
        ({**MINIMAL, "forward_model": {"name": "haadf", "params": {"pixel_size": {"min": 2, "max": 1}}}},
         "greater than max"),
        ({"forward_model": {"name": "haadf"}}, "experiment"),
    ],
)
def test_errors_name_the_field(tmp_path: Path, data: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        validate_config(data, tmp_path, source="run.toml")
    assert fragment in str(exc.value) and "run.toml" in str(exc.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[experiment\npath=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    cfg = validate_config(dict(MINIMAL), tmp_path)
    text = dump_config(cfg, {"versions": {"ingrained": "0"}})
    out = tmp_path / "config.toml"
    out.write_text(text)
    again = load_config(out)
    assert again.experiment.path == cfg.experiment.path and again.optimizer == cfg.optimizer
