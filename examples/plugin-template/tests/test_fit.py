"""The example config fits the sample image: the truth it was made with comes back.

Needs the plugin installed (``pip install -e .``), as ingrained finds models through
entry points.
"""

from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "example"


def test_fuse_recovers_the_sample_truth(tmp_path):
    from ingrained_core import fuse

    result = fuse(EXAMPLE / "fuse.toml", out=tmp_path / "run")
    p = result.params
    assert p["pixel_size"] == pytest.approx(0.22, rel=0.01)
    assert p["rotation"] == pytest.approx(12.0, abs=0.5)
    assert result.fom < 0.08
    assert (tmp_path / "run" / "progress.csv").exists()
