"""The optional extras (pyproject.toml: mp, movie, emd): a feature whose extra is missing
stops with one message that names the extra to install."""

from __future__ import annotations

import sys

import h5py
import numpy as np
import pytest

from ingrained_core.plugin.errors import ConfigError, IngrainedError


def _hide(monkeypatch, *modules: str) -> None:
    """Make ``modules`` unimportable in this test (a None entry: Python's "import blocked")."""
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in modules):
            monkeypatch.delitem(sys.modules, name)
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)


def test_materials_project_without_mp_api_names_the_extra(monkeypatch) -> None:
    from ingrained_core.builtins.structures import materials_project as mp

    _hide(monkeypatch, "mp_api")
    with pytest.raises(IngrainedError, match=r"pip install 'ingrained\[mp\]'"):
        mp.query("CdTe", "F-43m", api_key="x")


def test_the_registry_hint_names_the_extra() -> None:
    from ingrained_core.builtins import ingrained_structure_builders

    (row,) = [c for c in ingrained_structure_builders() if c.name == "materials-project"]
    assert row.install_hint == "pip install 'ingrained[mp]'"


def test_movie_without_ffmpeg_names_the_extra(monkeypatch) -> None:
    from ingrained_core.apps import frames

    monkeypatch.setattr(frames.shutil, "which", lambda name: None)
    _hide(monkeypatch, "imageio_ffmpeg")
    with pytest.raises(ConfigError, match=r"pip install 'ingrained\[movie\]'"):
        frames.ffmpeg_executable()


def test_berkeley_emd_without_ncempy_names_the_extra(monkeypatch, tmp_path) -> None:
    from ingrained_core.builtins.io.emd import EmdReader

    path = tmp_path / "image.emd"
    with h5py.File(path, "w") as f:  # the Berkeley layout: a group tagged emd_group_type = 1
        f.attrs["version_major"] = 0
        f.attrs["version_minor"] = 2
        group = f.create_group("data/image")
        group.attrs["emd_group_type"] = 1
        group.create_dataset("data", data=np.ones((8, 8)))
        group.create_dataset("dim1", data=np.arange(8.0))
        group.create_dataset("dim2", data=np.arange(8.0))
    _hide(monkeypatch, "ncempy")
    with pytest.raises(IngrainedError, match=r"pip install 'ingrained\[emd\]'"):
        EmdReader().read(path)
