"""``ingrained preview`` end to end, and a third-party reader plugged in through the registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ingrained_core.engine.reading import read_image
from ingrained_core.engine.registry import get_registry, reset_registry

from ..conftest import run_cli


def _stm_config(tmp_path: Path, stm_txt: Path) -> Path:
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(
        f'[experiment]\npath = "{stm_txt}"\nregion = [220, 370, 140, 290]\n\n'
        '[[experiment.preprocess]]\nop = "plane"\n\n'
        '[forward_model]\nname = "stm"\n[optimizer]\nname = "powell"\n'
    )
    return cfg


def test_preview_writes_png(tmp_path, stm_txt):
    from ingrained_core.cli.preview_cmd import preview

    out = tmp_path / "figs" / "preview.png"
    res = CliRunner().invoke(preview, [str(_stm_config(tmp_path, stm_txt)), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "150 x 150 px" in res.output and "background plane subtracted" in res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import imageio.v3 as iio

    png = iio.imread(out)
    assert png.ndim == 3 and png.shape[0] > 300 and png.shape[1] > 600
    assert not list(out.parent.glob(".*.tmp"))  # atomic write left no temp file


def test_preview_json_config_relative_path(tmp_path):
    np.save(tmp_path / "img.npy", np.random.default_rng(0).random((40, 50)))
    (tmp_path / "run.json").write_text('{"experiment": {"path": "img.npy", "pixel_size": 0.3}, "other": 1}')
    from ingrained_core.cli.preview_cmd import preview

    res = CliRunner().invoke(preview, [str(tmp_path / "run.json"), "--out", str(tmp_path / "p.png")])
    assert res.exit_code == 0, res.output
    assert "40 x 50 px, pixel 0.3 Å" in res.output


def test_preview_bad_file_is_one_line_error(tmp_path):
    (tmp_path / "bad.dm3").write_text("not an image")
    (tmp_path / "c.toml").write_text('[experiment]\npath = "bad.dm3"\n')
    proc = run_cli(["preview", str(tmp_path / "c.toml"), "--out", str(tmp_path / "p.png")], timeout=120)
    assert proc.returncode == 2
    assert "bad.dm3" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "p.png").exists()


def test_preview_bad_experiment_table(tmp_path):
    (tmp_path / "c.toml").write_text('[experiment]\npath = "a.npy"\nregion = [5, 1, 0, 3]\n')
    proc = run_cli(["preview", str(tmp_path / "c.toml")], cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "region" in proc.stderr and "Traceback" not in proc.stderr


class _PlusReader:
    """A third-party reader: '+PLUS' text files holding whitespace-separated rows."""

    name = "plus"
    description = "test format"
    extensions = (".plus",)
    options = ()

    @classmethod
    def sniff(cls, path, head):
        return head.startswith(b"+PLUS")

    def read(self, path):
        from ingrained_core.plugin.reader import finish

        rows = [list(map(float, line.split())) for line in Path(path).read_text().splitlines()[1:]]
        return finish(Path(path), np.array(rows), pixel_size=1.5, metadata={"format": "plus"})


class _PlusPlugin:
    from ingrained_core.plugin.hookspecs import hookimpl as _hookimpl

    @_hookimpl
    def ingrained_image_readers(self):
        from ingrained_core.plugin.contribution import Contribution

        return [Contribution("plus", f"{__name__}:_PlusReader", "test format")]


@pytest.fixture()
def plus_registry():
    reset_registry()
    get_registry().register(_PlusPlugin(), name="plus-plugin", distribution="test", version="0")
    yield
    reset_registry()


def test_third_party_reader_by_content(tmp_path, plus_registry):
    p = tmp_path / "img.dat"  # extension says nothing; content says '+PLUS'
    p.write_text("+PLUS\n1 2 3\n4 5 6\n")
    im = read_image(p)
    assert im.metadata["reader"] == "plus"
    assert im.pixel_size == 1.5
    np.testing.assert_array_equal(im.data, [[1, 2, 3], [4, 5, 6]])
