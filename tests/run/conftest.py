"""Fixtures for end-to-end runs with the example plugin on a synthetic experiment.

The experiment is rendered by the example plugin's own model at known parameters (plus
seeded noise), so a run has a known answer. The plugin is installed in a private
directory (tests/plugins/conftest.py) and put on sys.path only for these tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.registry import reset_registry

from ..plugins.conftest import example_plugin_site  # noqa: F401 - re-exported fixture

TRUTH = {"pixel_size": 0.2, "spacing": 3.0, "sigma": 0.45, "rotation": 12.0}

CONFIG = """
[experiment]
path = "experiment.npy"

[forward_model]
name = "gaussian-lattice"

[forward_model.params]
pixel_size = {{ start = 0.215, min = 0.15, max = 0.3 }}
sigma = {{ start = 0.6, min = 0.2, max = 1.0 }}
rotation = {{ start = 9.0, min = -20, max = 30 }}
crop_height = 61
crop_width = 71

[registration]
vertical_bias = 0.0

[optimizer]
name = "{optimizer}"
max_evals = {max_evals}
"""


@pytest.fixture()
def lattice_plugin(example_plugin_site: Path):  # noqa: F811
    """The example plugin importable in this process (removed again afterwards)."""
    sys.path.insert(0, str(example_plugin_site))
    reset_registry()
    yield example_plugin_site
    sys.path.remove(str(example_plugin_site))
    for name in [m for m in sys.modules if m.startswith("ingrained_gaussian_lattice")]:
        del sys.modules[name]
    reset_registry()


@pytest.fixture()
def lattice_case(tmp_path: Path, lattice_plugin: Path) -> Path:
    """A directory with experiment.npy (141 x 151) and fuse.toml; returns the config path."""
    from ingrained_gaussian_lattice.model import GaussianLattice

    model = GaussianLattice()
    img = model.simulate(model.Params(**TRUTH, crop_height=141, crop_width=151)).array
    rng = np.random.default_rng(7)
    img = img + rng.normal(0, 0.05, img.shape)
    np.save(tmp_path / "experiment.npy", img)
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(CONFIG.format(optimizer="powell", max_evals=120))
    return cfg
