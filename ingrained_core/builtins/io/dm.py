"""Gatan DigitalMicrograph DM3/DM4 images, read with rosettasciio (calibration from the tags)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.plugin.reader import ImageReader, finish, pixel_size_from_scales
from ingrained_core.plugin.image import ExperimentImage


class DMReader(ImageReader):
    """DM3/DM4: the image and its spatial calibration (``scale`` x ``units`` of the x/y axes)."""

    name = "dm"
    description = "Gatan DigitalMicrograph DM3/DM4"
    extensions = (".dm3", ".dm4")
    options = ("frame", "dataset")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        # big-endian int32 version 3 or 4 at offset 0, then the root tag group
        return len(head) >= 4 and head[:4] in (b"\x00\x00\x00\x03", b"\x00\x00\x00\x04")

    def read(self, path: Path, *, frame: Any = None, dataset: int = 0) -> ExperimentImage:
        """Read image ``dataset`` (default the first) of a DM3/DM4 file."""
        from rsciio.digitalmicrograph import file_reader

        from ingrained_core.plugin.errors import InputFileError

        signals = file_reader(str(path))
        if not signals:
            raise InputFileError(f"{path}: the DM file holds no image")
        if not 0 <= int(dataset) < len(signals):
            raise InputFileError(f"{path}: dataset must be 0..{len(signals) - 1}, got {dataset!r}")
        sig = signals[int(dataset)]
        notices: list[str] = []
        if len(signals) > 1:
            notices.append(f"dataset {dataset} of {len(signals)} in the file")
        spatial = [ax for ax in sig["axes"] if not ax.get("navigate", False)]
        # the signal axes of a 2-D image are y then x; keep (scale, unit) pairs
        scales = [(ax.get("scale"), ax.get("units")) for ax in spatial[-2:]]
        pixel = pixel_size_from_scales(scales, notices, what="DM calibration") if len(scales) == 2 else None
        metadata = {
            "format": "DM",
            "axes": sig["axes"],
            "metadata": sig.get("metadata", {}),
            "original_metadata": sig.get("original_metadata", {}),
        }
        return finish(path, sig["data"], pixel_size=pixel, metadata=metadata, notices=notices, frame=frame)
