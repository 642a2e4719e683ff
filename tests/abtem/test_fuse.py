"""``ingrained fuse`` with the multislice model on the CdTe twin example (needs abTEM).

The documented workflow at coarse settings: a few evaluations of the convolution model,
then the multislice refinement config started from that run's best.json. One abTEM
simulation (0.15 Å sampling with a 40-55 mrad detector, one cell period, PRISM (4, 8),
~35-60 s on 2 cores); the other evaluations change image-side parameters only.
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

from ..conftest import real_file
from .conftest import TWIN_DIR

pytestmark = pytest.mark.abtem

COARSE = [
    "forward_model.options.sampling=0.15",
    "forward_model.options.prism_interpolation=[4, 8]",
    "forward_model.options.scan_sampling=0.3",
    "forward_model.params.detector_inner=40.0",
    "forward_model.params.detector_outer=55.0",
    "forward_model.params.thickness=9.0",
    "forward_model.params.defocus=0.0",
]


@pytest.fixture()
def example(need_abtem):
    config = TWIN_DIR / "refine-multislice.toml"
    real_file("cdte_twin/HAADF26.dm3")
    return config


def test_refinement_from_a_convolution_run_writes_a_valid_run_directory(example, tmp_path):
    from ingrained_core.apps.api import fuse

    first = fuse(TWIN_DIR / "fuse.toml", tmp_path / "conv", max_evals=3)
    run = tmp_path / "multislice"
    result = fuse(example, run, max_evals=4,
                  overrides=[*COARSE, f'forward_model.start_from="{tmp_path / "conv" / "best.json"}"'])
    best = json.loads((run / "best.json").read_text())
    assert best["forward_model"] == "haadf-multislice"
    assert best["evaluations"] == 4 and np.isfinite(best["fom"]) and best["fom"] < 2.0
    # the start point is the convolution fit (interface width fixed at its value)
    assert best["params"]["interface_width"] == pytest.approx(first.params["interface_width"])
    assert best["params"]["thickness"] == 9.0 and best["params"]["detector_outer"] == 55.0
    cfg = tomllib.loads((run / "config.toml").read_text())
    assert cfg["forward_model"]["name"] == "haadf-multislice"
    assert cfg["provenance"]["start_from"]["path"].endswith("best.json")
    sim = np.load(run / "simulation.npy")
    assert sim.shape == (best["patch"]["height"], best["patch"]["width"]) and np.isfinite(sim).all()
    rows = (run / "progress.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 4
    for name in ("fused.png", "structure.cif", "experiment.npy"):
        assert (run / name).stat().st_size > 0, name
    assert result.fom == pytest.approx(best["fom"])
