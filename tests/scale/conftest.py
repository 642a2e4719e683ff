"""Fixtures of the scale tests: a real ``distributed.LocalCluster`` (2 worker processes on
the loopback, no dashboard), the example-plugin case of tests/run, and a small HAADF
screening case (a synthetic experiment rendered from a known perovskite cell).

The example plugin is installed in a private directory and put on ``sys.path`` of this
process; tasks carry the submitter's ``sys.path`` to the workers (ingrained_core.engine.parallel).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ..plugins.conftest import example_plugin_site  # noqa: F401 - re-exported fixture

#: the screening case's truth: pixel 0.2 Å, source 1.0 Å, crop 71 x 71 in a 121 x 121 image
TRUTH = {"pixel_size": 0.2, "source_size": 1.0}

SCREEN_CONFIG = """
[experiment]
path = "experiment.npy"

[structure]
builder = "file"
path = "{structure}"

[forward_model]
name = "haadf"

[forward_model.params]
pixel_size = {{ start = 0.206, min = 0.15, max = 0.3 }}
source_size = {{ start = 1.1, min = 0.5, max = 1.75 }}
interface_width = {{ start = 0.0, fixed = true }}
shear_x = {{ start = 0.0, fixed = true }}
shear_y = {{ start = 0.0, fixed = true }}
stretch_x = {{ start = 0.0, fixed = true }}
stretch_y = {{ start = 0.0, fixed = true }}
crop_height = {{ start = 71, fixed = true }}
crop_width = {{ start = 71, fixed = true }}

[registration]
vertical_bias = 0.0

[optimizer]
name = "powell"
max_evals = 25
"""


@pytest.fixture(scope="session")
def dask_cluster():
    """A real LocalCluster: 2 single-threaded worker processes, loopback, dashboard off.

    One per session (per pytest-xdist worker), shared by the multi-start and screening
    tests: starting a cluster costs seconds, the tests only submit work to it."""
    distributed = pytest.importorskip("distributed")
    from ingrained_core.engine.parallel import local_cluster

    # distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
    # dashboard_address=None), without dask's MALLOC_TRIM_THRESHOLD_ worker environment
    cluster = local_cluster(2)
    assert isinstance(cluster, distributed.LocalCluster) and len(cluster.workers) == 2
    yield cluster
    cluster.close()


def perovskite(a: float):
    """A cubic ABO3-like cell (Sr, Ti, O) of lattice constant ``a``, 1 x 3 x 8 cells (beam along a)."""
    from pymatgen.core import Lattice, Structure

    unit = Structure(Lattice.cubic(a), ["Sr", "Ti", "O", "O", "O"],
                     [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    return unit * (1, 3, 8)


@pytest.fixture(scope="session")
def screen_case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder with experiment.npy (rendered from the a = 3.905 Å cell, plus seeded noise),
    candidate structures (the right one, one without its Ti columns, a corrupt file) and the
    config; returns the paths."""
    pytest.importorskip("ingrained_stem")
    from ingrained_stem.model import HaadfConvolution

    d = tmp_path_factory.mktemp("screen-case")
    right = perovskite(3.905)
    wrong = perovskite(3.905)
    wrong.remove_species(["Ti"])  # another motif: no lattice constant or pixel size can mimic it
    right.to(filename=str(d / "right.cif"))
    wrong.to(filename=str(d / "wrong.cif"))
    (d / "corrupt.cif").write_text("data_broken\n_cell_length_a 3.9\nthis is not a CIF loop\n")
    model = HaadfConvolution(right)
    img = model.simulate(model.Params(**TRUTH, crop_height=121, crop_width=121)).array
    img = img + np.random.default_rng(3).normal(0, 0.03 * float(img.std()), img.shape)
    np.save(d / "experiment.npy", img)
    cfg = d / "screen.toml"
    cfg.write_text(SCREEN_CONFIG.format(structure="right.cif"))
    return {"config": cfg, "right": d / "right.cif", "wrong": d / "wrong.cif", "corrupt": d / "corrupt.cif", "dir": d}
