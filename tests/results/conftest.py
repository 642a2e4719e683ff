"""A finished run of the example plugin (fast, known answer), shared by the results tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ..conftest import lattice_image, lattice_plugin, plugin_importable, write_config

__all__ = ["lattice_plugin", "finished_run"]


@pytest.fixture(scope="module")
def finished_run(example_plugin_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``fuse`` of the lattice case (24 evaluations), run once per module; the run directory."""
    from ingrained_core.apps.api import fuse

    base = tmp_path_factory.mktemp("results-run")
    with plugin_importable(example_plugin_site):
        np.save(base / "experiment.npy", lattice_image())
        config = write_config(base, "experiment.npy", max_evals=24)
        config.write_text('name = "lattice test run"\n' + config.read_text())  # a top-level key: first
        result = fuse(config, base / "run")
    yield result.run_dir
