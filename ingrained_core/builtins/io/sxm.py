"""Nanonis ``.sxm`` STM/AFM scans, read with ``nanonispy2`` (a maintained fork of nanonispy).

The header's ``SCAN_RANGE`` (metres) over ``SCAN_PIXELS`` gives the pixel size; the user
chooses the ``channel`` (default ``Z``) and ``direction`` (``forward`` or ``backward``).
Orientation follows the Nanonis convention: backward lines are stored in acquisition order
(right to left) and are mirrored back; a scan taken ``up`` stores its bottom line first and
is flipped so that row 0 is the top of the image. Values keep the channel's unit (``m`` for
Z), recorded in the metadata.
"""

from __future__ import annotations

from pathlib import Path

from ingrained_core.plugin.reader import ImageReader, finish, pixel_size_from_scales
from ingrained_core.plugin.image import ExperimentImage


class SxmReader(ImageReader):
    """One channel and direction of a Nanonis scan."""

    name = "sxm"
    description = "Nanonis SXM (choose channel and direction)"
    extensions = (".sxm",)
    options = ("channel", "direction")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return head.lstrip().startswith(b":NANONIS_VERSION:")

    def read(self, path: Path, *, channel: str = "Z", direction: str = "forward") -> ExperimentImage:
        """Read ``channel`` in ``direction`` (``forward``/``backward``)."""
        import numpy as np

        try:
            from nanonispy2.read import Scan
        except ImportError as exc:  # pragma: no cover - nanonispy2 is a dependency
            from ingrained_core.plugin.errors import InputFileError

            raise InputFileError(f"{path}: reading Nanonis .sxm files needs nanonispy2 (pip install nanonispy2)") from exc
        from ingrained_core.plugin.errors import InputFileError

        direction = str(direction).lower()
        if direction not in ("forward", "backward"):
            raise InputFileError(f"{path}: direction must be 'forward' or 'backward', got {direction!r}")
        scan = Scan(str(path))
        header = scan.header
        info = header.get("data_info", {})
        names = [str(n) for n in info.get("Name", [])]
        if channel not in scan.signals:
            raise InputFileError(f"{path}: no channel {channel!r} in the scan; channels: {', '.join(names)}")
        arr = np.asarray(scan.signals[channel][direction], dtype=float)
        notices = [f"channel {channel}, {direction} scan"]
        if direction == "backward":
            arr = arr[:, ::-1]
        scan_dir = str(header.get("scan_dir", "")).strip().lower()
        if scan_dir == "up":
            arr = arr[::-1, :]
            notices.append("scan direction up: flipped so that row 0 is the top of the image")
        unit = ""
        if channel in names and "Unit" in info:
            unit = str(list(info["Unit"])[names.index(channel)])
        rng = np.asarray(header.get("scan_range", []), dtype=float)
        px = np.asarray(header.get("scan_pixels", []), dtype=float)
        pixel = None
        if rng.size == 2 and px.size == 2 and np.all(px > 0):
            # scan_range and scan_pixels are (x, y); rows run along y
            pixel = pixel_size_from_scales([(rng[1] / arr.shape[0], "m"), (rng[0] / arr.shape[1], "m")],
                                           notices, "Nanonis scan range")
        else:
            notices.append("no scan range in the SXM header; pixel size unknown")
        meta = {"format": "Nanonis SXM", "channel": channel, "direction": direction, "value_units": unit,
                "channels": names, "header": header}
        return finish(path, arr, pixel_size=pixel, metadata=meta, notices=notices)
