"""ExperimentConfig validation (TOML-friendly, paths relative to the config) and load_experiment."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.engine.experiment import (
    ExperimentConfig,
    load_experiment,
    prepare_experiment,
)

TWIN_TOML = """
[experiment]
path = "HAADF26.dm3"

[[experiment.preprocess]]
op = "rotate"
angle = 66
remove_collar = true

[[experiment.preprocess]]
op = "centre-crop"
size = 328

[[experiment.preprocess]]
op = "trim"
bottom = 26
right = 26

[[experiment.preprocess]]
op = "flip"
axis = "lr"
"""


def test_twin_config_from_toml(twin_dm3):
    table = tomllib.loads(TWIN_TOML)["experiment"]
    cfg = ExperimentConfig.model_validate(table, context={"base_dir": twin_dm3.parent})
    assert cfg.path == twin_dm3.resolve()
    im = load_experiment(cfg)
    assert im.shape == (302, 302)
    assert im.pixel_size == pytest.approx(0.20216817, abs=5e-9)


def test_relative_path_resolved_against_base_dir(tmp_path):
    cfg = ExperimentConfig.model_validate({"path": "sub/a.npy"}, context={"base_dir": tmp_path})
    assert cfg.path == (tmp_path / "sub" / "a.npy").resolve()
    assert ExperimentConfig.model_validate({"path": "a.npy"}).path == Path("a.npy")


def test_unknown_keys_and_bad_region():
    with pytest.raises(ValidationError, match="crop"):
        ExperimentConfig.model_validate({"path": "a.npy", "crop": {"rows": [1, 2]}})
    with pytest.raises(ValidationError, match="row0 < row1"):
        ExperimentConfig.model_validate({"path": "a.npy", "region": [10, 5, 0, 4]})
    with pytest.raises(ValidationError, match=">= 0"):
        ExperimentConfig.model_validate({"path": "a.npy", "region": [-1, 5, 0, 4]})
    with pytest.raises(ValidationError, match="greater than 0"):
        ExperimentConfig.model_validate({"path": "a.npy", "pixel_size": 0})
    with pytest.raises(ValidationError, match="path"):
        ExperimentConfig.model_validate({"path": ""})


def test_region_outside_image(tmp_path):
    np.save(tmp_path / "a.npy", np.random.default_rng(0).random((30, 40)))
    cfg = ExperimentConfig(path=tmp_path / "a.npy", region=(0, 31, 0, 10))
    with pytest.raises(ConfigError, match=r"experiment.region \[0, 31, 0, 10\] does not fit .* 30 x 40"):
        load_experiment(cfg)


def test_pixel_size_override_and_reader_options(tmp_path):
    stack = np.random.default_rng(1).random((2, 30, 40))
    np.save(tmp_path / "s.npy", stack)
    cfg = ExperimentConfig(path=tmp_path / "s.npy", reader="npy", reader_options={"frame": 1}, pixel_size=0.125,
                           preprocess=[{"op": "rescale", "factor": 0.5}])
    stages = prepare_experiment(cfg)
    assert stages.raw.pixel_size == 0.125
    np.testing.assert_array_equal(stages.raw.data, stack[1])
    assert stages.final.pixel_size == pytest.approx(0.25)
    assert any("experiment.pixel_size" in n for n in stages.final.notices)


def test_run_config_embeds_experiment(tmp_path):
    """The lead's RunConfig validates [experiment] through this model."""
    from ingrained_core.engine.config import RunConfig

    data = tomllib.loads(TWIN_TOML + '\n[forward_model]\nname = "haadf"\n')
    cfg = RunConfig.model_validate(data, context={"base_dir": tmp_path})
    assert cfg.experiment.path == (tmp_path / "HAADF26.dm3").resolve()
    assert len(cfg.experiment.preprocess) == 4
    dumped = cfg.experiment.model_dump(mode="json")
    again = ExperimentConfig.model_validate(dumped)
    assert again == cfg.experiment


def test_docs_examples_give_the_published_shapes(twin_dm3, ni_tif, stm_txt):
    """The three [experiment] examples of docs/inputs.md, on the real files."""
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "inputs.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.DOTALL)
    assert len(blocks) == 3
    shapes = []
    for block, real in zip(blocks, (twin_dm3, ni_tif, stm_txt)):
        cfg = ExperimentConfig.model_validate(tomllib.loads(block)["experiment"], context={"base_dir": real.parent})
        shapes.append(load_experiment(cfg).shape)
    assert shapes == [(302, 302), (383, 383), (150, 150)]
