"""PNG/JPEG/BMP images read with imageio: 8/16-bit greyscale or RGB(A), no calibration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.plugin.reader import ImageReader, finish
from ingrained_core.plugin.image import ExperimentImage


class RasterReader(ImageReader):
    """A raster picture; RGB with equal channels becomes greyscale (else choose ``channel``)."""

    name = "raster"
    description = "PNG/JPEG/BMP (no calibration)"
    extensions = (".png", ".jpg", ".jpeg", ".bmp")
    options = ("channel", "frame")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM"))

    def read(self, path: Path, *, channel: Any = None, frame: Any = None) -> ExperimentImage:
        """Read the picture with ``imageio.v3.imread``."""
        import imageio.v3 as iio

        arr = iio.imread(path)
        notices = ["no calibration in raster pictures; pixel size unknown unless experiment.pixel_size is set"]
        if arr.dtype.kind == "u" and arr.dtype.itemsize == 1:
            notices.append("8-bit picture: intensities are quantised to 256 levels")
        if path.suffix.lower() in (".jpg", ".jpeg"):
            notices.append("JPEG is lossy: compression artefacts may bias the fit")
        meta = {"format": "raster", "dtype": str(arr.dtype), "shape": list(arr.shape)}
        return finish(path, arr, pixel_size=None, metadata=meta, notices=notices, frame=frame, channel=channel,
                      rgb_last_axis=True)
