"""The plugin template is complete: its own tests (conformance kit, example fit) pass as an author runs them.

The template is pip-installed into a private directory (as an author's ``pip install -e .``
would make it discoverable) and its tests run against that installation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO

TEMPLATE = REPO / "examples" / "plugin-template"


@pytest.mark.slow
def test_template_tests_pass(example_plugin_site: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(example_plugin_site), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TEMPLATE / "tests")],
                          capture_output=True, text=True, env=env, cwd=TEMPLATE, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout, proc.stdout[-2000:]


def test_template_ships_a_small_sample_image() -> None:
    import numpy as np

    sample = TEMPLATE / "example" / "lattice.npy"
    assert sample.stat().st_size < 64 * 1024
    data = np.load(sample, allow_pickle=False)
    assert data.ndim == 2 and np.isfinite(data).all()
