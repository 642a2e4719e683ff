"""Bad input files and names: one clear InputFileError/ConfigError/PluginError naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.plugin.errors import ConfigError, InputFileError, PluginError
from ingrained_core.engine.experiment import ExperimentConfig, load_experiment
from ingrained_core.engine.reading import read_image


def test_truncated_dm3(tmp_path, twin_dm3):
    raw = twin_dm3.read_bytes()
    p = tmp_path / "half.dm3"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputFileError) as err:
        read_image(p)
    msg = str(err.value)
    assert str(p) in msg and "truncated or corrupt" in msg and "DM3/DM4" in msg


def test_zero_byte(tmp_path):
    p = tmp_path / "empty.dm3"
    p.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty \(0 bytes\)"):
        read_image(p)


def test_text_renamed_dm3(tmp_path):
    p = tmp_path / "notes.dm3"
    p.write_text("these are my notes, not an image\n")
    with pytest.raises(InputFileError) as err:
        read_image(p)
    assert "notes.dm3" in str(err.value)
    assert "extension .dm3" in str(err.value) and "does not match" in str(err.value)


def test_directory(tmp_path):
    with pytest.raises(InputFileError, match="is a directory"):
        read_image(tmp_path)


def test_missing(tmp_path):
    with pytest.raises(InputFileError, match="not found.*nothere.tif"):
        read_image(tmp_path / "nothere.tif")


def test_unknown_extension_and_content(tmp_path):
    p = tmp_path / "data.xyz"
    p.write_bytes(b"\x01\x02\x03\x04binary")
    with pytest.raises(InputFileError, match=r"unrecognised image format.*known extensions.*\.dm3"):
        read_image(p)


def test_nan_and_inf(tmp_path):
    a = np.ones((10, 12))
    a[3, 4] = np.nan
    a[5, 5] = np.inf
    np.save(tmp_path / "nan.npy", a)
    with pytest.raises(InputFileError, match=r"2 of 120 pixels are NaN or infinite"):
        read_image(tmp_path / "nan.npy")


def test_nan_in_float_tiff(tmp_path):
    import tifffile

    a = np.ones((10, 12), np.float32)
    a[0, 0] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", a)
    with pytest.raises(InputFileError, match="NaN"):
        read_image(tmp_path / "nan.tif")


def test_one_d(tmp_path):
    np.save(tmp_path / "line.npy", np.arange(100.0))
    with pytest.raises(InputFileError, match="1-D array of 100 values"):
        read_image(tmp_path / "line.npy")


def test_three_d_stack(tmp_path):
    stack = np.arange(3 * 5 * 6, dtype=float).reshape(3, 5, 6)
    np.save(tmp_path / "stack.npy", stack)
    with pytest.raises(InputFileError, match=r"stack of 3 images of 5 x 6 px.*frame = 0\.\.2"):
        read_image(tmp_path / "stack.npy")
    np.testing.assert_array_equal(read_image(tmp_path / "stack.npy", frame=1).data, stack[1])
    with pytest.raises(InputFileError, match="frame must be an integer in 0..2"):
        read_image(tmp_path / "stack.npy", frame=7)


def test_four_d(tmp_path):
    np.save(tmp_path / "4d.npy", np.zeros((2, 3, 4, 5)))
    with pytest.raises(InputFileError, match="4-D array"):
        read_image(tmp_path / "4d.npy")


def test_pickled_npy_is_never_loaded(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(InputFileError, match="pickle"):
        read_image(tmp_path / "obj.npy")


def test_complex_npy(tmp_path):
    np.save(tmp_path / "c.npy", np.ones((4, 4), complex))
    with pytest.raises(InputFileError, match="complex"):
        read_image(tmp_path / "c.npy")


def test_constant_image_read_but_rejected_by_load_experiment(tmp_path):
    np.save(tmp_path / "flat.npy", np.full((20, 20), 3.0))
    assert read_image(tmp_path / "flat.npy").shape == (20, 20)
    with pytest.raises(InputFileError, match=r"constant \(every pixel 3\).*experiment.preprocess"):
        load_experiment(ExperimentConfig(path=tmp_path / "flat.npy"))


def test_constant_after_region(tmp_path):
    a = np.zeros((20, 20))
    a[15:, 15:] = 1.0
    np.save(tmp_path / "a.npy", a)
    cfg = ExperimentConfig(path=tmp_path / "a.npy", region=(0, 10, 0, 10))
    with pytest.raises(InputFileError, match="constant.*region"):
        load_experiment(cfg)


def test_unknown_reader_lists_available(tmp_path):
    np.save(tmp_path / "a.npy", np.eye(4))
    with pytest.raises(PluginError) as err:
        read_image(tmp_path / "a.npy", reader="nopy")
    msg = str(err.value)
    assert "nopy" in msg and "dm" in msg and "npy" in msg and "stm-text" in msg


def test_unknown_reader_option(tmp_path):
    np.save(tmp_path / "a.npy", np.eye(4))
    with pytest.raises(ConfigError, match=r"experiment.reader_options for 'npy'.*channel.*it takes: frame"):
        read_image(tmp_path / "a.npy", channel="R")


def test_ragged_stm_text(tmp_path):
    p = tmp_path / "z.txt"
    p.write_text("# Width: 1 nm\n# Height: 1 nm\n1\t2\t3\n4\t5\n")
    with pytest.raises(InputFileError, match="line 4 has 2 values"):
        read_image(p)


def test_truncated_tiff(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "full.tif", np.random.default_rng(0).random((64, 64)).astype(np.float32))
    raw = (tmp_path / "full.tif").read_bytes()
    p = tmp_path / "cut.tif"
    p.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(InputFileError, match="cut.tif"):
        read_image(p)


def test_corrupt_mrc(tmp_path):
    p = tmp_path / "bad.mrc"
    p.write_bytes(b"\x00" * 300)
    with pytest.raises(InputFileError, match="bad.mrc"):
        read_image(p)


@pytest.mark.parametrize("suffix", [".sxm", ".ser", ".tif", ".png", ".npy", ".emd", ".dm4", ".txt"])
def test_wrong_content_for_extension(tmp_path, suffix):
    """Text saved under an image extension: refused before parsing, naming file and expected format."""
    p = tmp_path / f"notes{suffix}"
    p.write_text("just some words\nand more words\n")
    with pytest.raises(InputFileError) as err:
        read_image(p)
    msg = str(err.value)
    assert p.name in msg and f"extension {suffix}" in msg and "does not match" in msg
