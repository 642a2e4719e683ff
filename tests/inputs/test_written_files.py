"""Readers on small files written by the formats' own libraries (tifffile, mrcfile, ncempy, imageio, numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.plugin.errors import InputFileError
from ingrained_core.engine.reading import read_image


@pytest.fixture()
def image() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.random((40, 56)).astype(np.float32)


def test_imagej_tiff_calibration(tmp_path, image):
    import tifffile

    p = tmp_path / "ij.tif"
    tifffile.imwrite(p, image, imagej=True, resolution=(1 / 0.05, 1 / 0.05), metadata={"unit": "nm"})
    im = read_image(p)
    assert im.metadata["reader"] == "tiff"
    assert im.metadata["calibration"] == "ImageJ unit + resolution"
    assert im.pixel_size == pytest.approx(0.5)
    np.testing.assert_array_equal(im.data, image.astype(float))


def test_imagej_tiff_micron_unit(tmp_path, image):
    import tifffile

    p = tmp_path / "ij_um.tif"
    tifffile.imwrite(p, image, imagej=True, resolution=(2000.0, 2000.0), metadata={"unit": "micron"})
    assert read_image(p).pixel_size == pytest.approx(5.0)  # 1/2000 µm = 5 Å


def test_rosettasciio_written_tiff(tmp_path, image):
    """rosettasciio's own TIFF writer (ImageJ and DigitalMicrograph tags)."""
    from rsciio.tiff import file_writer

    axes = [{"name": n, "size": s, "scale": 0.021, "offset": 0.0, "units": "nm", "navigate": False}
            for n, s in zip("yx", image.shape)]
    p = tmp_path / "rs.tif"
    file_writer(str(p), {"data": image, "axes": axes, "metadata": {"General": {"title": "t"}, "Signal": {}},
                         "original_metadata": {}})
    assert read_image(p).pixel_size == pytest.approx(0.21)


def test_dm_tags_tiff(tmp_path, image):
    """A TIFF carrying only DigitalMicrograph's private scale/unit tags (65009/65003)."""
    import tifffile

    p = tmp_path / "dm.tif"
    extratags = [(65003, "s", 0, "nm", False), (65004, "s", 0, "nm", False),
                 (65009, "d", 1, 0.0125, False), (65010, "d", 1, 0.0125, False)]
    tifffile.imwrite(p, image, extratags=extratags)
    im = read_image(p)
    assert im.metadata["calibration"].startswith("DigitalMicrograph")
    assert im.pixel_size == pytest.approx(0.125)


def test_uncalibrated_tiff_print_resolution_ignored(tmp_path, image):
    import tifffile

    p = tmp_path / "dpi.tif"
    tifffile.imwrite(p, image, resolution=(300, 300), resolutionunit="INCH")
    im = read_image(p)
    assert im.pixel_size is None
    assert any("print resolution" in n for n in im.notices)
    im2 = read_image(p, use_resolution_tags=True)
    assert im2.pixel_size == pytest.approx(2.54e8 / 300)


def test_tiff_rgb_unequal_channels_needs_channel(tmp_path):
    import tifffile

    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 10
    rgb[..., 1] = np.arange(30, dtype=np.uint8)
    p = tmp_path / "rgb.tif"
    tifffile.imwrite(p, rgb, photometric="rgb")
    with pytest.raises(InputFileError, match="channel"):
        read_image(p)
    im = read_image(p, channel="G")
    np.testing.assert_array_equal(im.data, rgb[..., 1].astype(float))
    assert any("channel G" in n for n in im.notices)


def test_tiff_stack_needs_frame(tmp_path):
    import tifffile

    stack = np.stack([np.full((8, 9), k, np.float32) + np.eye(8, 9, dtype=np.float32) for k in range(3)])
    p = tmp_path / "stack.tif"
    tifffile.imwrite(p, stack, photometric="minisblack")
    with pytest.raises(InputFileError, match=r"stack of 3 images.*frame"):
        read_image(p)
    im = read_image(p, frame=2)
    np.testing.assert_array_equal(im.data, stack[2].astype(float))


def test_mrc_with_voxel_size(tmp_path, image):
    import mrcfile

    p = tmp_path / "a.mrc"
    with mrcfile.new(p) as m:
        m.set_data(image)
        m.voxel_size = 0.731
    im = read_image(p)
    assert im.metadata["reader"] == "mrc"
    assert im.pixel_size == pytest.approx(0.731, rel=1e-6)
    np.testing.assert_array_equal(im.data, image.astype(float))


def test_mrc_stack_frame(tmp_path, image):
    import mrcfile

    stack = np.stack([image, image * 2, image * 3])
    p = tmp_path / "s.mrcs"
    with mrcfile.new(p) as m:
        m.set_data(stack)
        m.set_image_stack()
    with pytest.raises(InputFileError, match="frame"):
        read_image(p)
    np.testing.assert_allclose(read_image(p, frame=1).data, stack[1])


def test_berkeley_emd_ncempy_writer(tmp_path, image):
    from ncempy.io.emd import fileEMD

    p = tmp_path / "b.emd"
    dims = [(np.arange(image.shape[0]) * 0.04, "y", "[n_m]"), (np.arange(image.shape[1]) * 0.04, "x", "[n_m]")]
    with fileEMD(p, readonly=False) as f:
        f.put_emdgroup("haadf", image, dims)
    im = read_image(p)
    assert im.metadata["reader"] == "emd"
    assert im.metadata["format"] == "Berkeley EMD"
    assert im.shape == image.shape  # no transposition
    assert im.pixel_size == pytest.approx(0.4)
    np.testing.assert_array_equal(im.data, image.astype(float))


def test_hdf5_that_is_not_emd(tmp_path):
    import h5py

    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f["a"] = np.ones((4, 4))
    with pytest.raises(InputFileError, match="neither a Berkeley EMD"):
        read_image(p)


def test_npy(tmp_path, image):
    p = tmp_path / "a.npy"
    np.save(p, image)
    im = read_image(p)
    assert im.pixel_size is None
    np.testing.assert_array_equal(im.data, image.astype(float))


def test_png_grey_rgb_and_16bit(tmp_path):
    import imageio.v3 as iio

    grey = (np.arange(20 * 30).reshape(20, 30) % 256).astype(np.uint8)
    iio.imwrite(tmp_path / "g.png", grey)
    assert np.array_equal(read_image(tmp_path / "g.png").data, grey.astype(float))
    iio.imwrite(tmp_path / "rgb.png", np.dstack([grey] * 3))
    im = read_image(tmp_path / "rgb.png")
    assert np.array_equal(im.data, grey.astype(float))
    assert any("greyscale" in n for n in im.notices)
    g16 = (np.arange(20 * 30).reshape(20, 30) * 97).astype(np.uint16)
    iio.imwrite(tmp_path / "g16.png", g16)
    assert np.array_equal(read_image(tmp_path / "g16.png").data, g16.astype(float))
    unequal = np.dstack([grey, grey[::-1], grey])
    iio.imwrite(tmp_path / "u.png", unequal)
    with pytest.raises(InputFileError, match="channels differ"):
        read_image(tmp_path / "u.png")
    assert np.array_equal(read_image(tmp_path / "u.png", channel=1).data, grey[::-1].astype(float))


def test_jpeg_notice(tmp_path):
    import imageio.v3 as iio

    grey = (np.arange(32 * 32).reshape(32, 32) % 200).astype(np.uint8)
    iio.imwrite(tmp_path / "g.jpg", grey)
    im = read_image(tmp_path / "g.jpg")
    assert im.shape == (32, 32)
    assert any("lossy" in n for n in im.notices)


def test_content_wins_over_extension(tmp_path, image):
    """A TIFF saved as .png is read by content, with a notice."""
    import tifffile

    p = tmp_path / "really_a_tiff.png"
    tifffile.imwrite(tmp_path / "t.tif", image)
    p.write_bytes((tmp_path / "t.tif").read_bytes())
    im = read_image(p)
    assert im.metadata["reader"] == "tiff"
    assert any("read by content" in n for n in im.notices)


def test_forced_reader(tmp_path, stm_txt):
    im = read_image(stm_txt, reader="stm-text")
    assert im.shape == (512, 512)


def test_stm_text_without_calibration(tmp_path):
    p = tmp_path / "z.txt"
    p.write_text("# Channel: Z\n# Value units: m\n1\t2\t3\n4\t5\t6\n")
    im = read_image(p)
    assert im.shape == (2, 3) and im.pixel_size is None
    assert any("pixel size unknown" in n for n in im.notices)
