"""FEI/Thermo TIA ``.ser`` (with its ``.emi``) images, read with rosettasciio's TIA reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.plugin.reader import ImageReader, finish, pixel_size_from_scales
from ingrained_core.plugin.image import ExperimentImage


class SerReader(ImageReader):
    """A TIA image series (``frame`` selects one image of a series); calibration from the file."""

    name = "ser"
    description = "TIA SER/EMI"
    extensions = (".ser",)  # rosettasciio picks up the .emi beside it for metadata
    options = ("frame", "dataset")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        # ByteOrder 0x4949 ("II"), SeriesID 0x0197, SeriesVersion 0x0210 or 0x0220
        return len(head) >= 6 and head[:4] == b"II\x97\x01" and head[4:6] in (b"\x10\x02", b"\x20\x02")

    def read(self, path: Path, *, frame: Any = None, dataset: int = 0) -> ExperimentImage:
        """Read the ``.ser`` with ``rsciio.tia`` (metadata from the ``.emi`` beside it, if any)."""
        from rsciio.tia import file_reader

        from ingrained_core.plugin.errors import InputFileError

        signals = file_reader(str(path))
        if not signals:
            raise InputFileError(f"{path}: the TIA file holds no data set")
        if not 0 <= int(dataset) < len(signals):
            raise InputFileError(f"{path}: dataset must be 0..{len(signals) - 1}, got {dataset!r}")
        sig = signals[int(dataset)]
        notices: list[str] = []
        spatial = [ax for ax in sig["axes"] if not ax.get("navigate", False)]
        scales = [(ax.get("scale"), ax.get("units")) for ax in spatial[-2:]]
        pixel = pixel_size_from_scales(scales, notices, "TIA calibration") if len(scales) == 2 else None
        meta = {"format": "TIA SER", "axes": sig["axes"], "metadata": sig.get("metadata", {}),
                "original_metadata": sig.get("original_metadata", {})}
        return finish(path, sig["data"], pixel_size=pixel, metadata=meta, notices=notices, frame=frame)
