"""MRC/CCP4 images and stacks read with the ``mrcfile`` package (voxel size in Å)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.plugin.reader import ImageReader, finish
from ingrained_core.plugin.image import ExperimentImage


class MrcReader(ImageReader):
    """An MRC image (or a frame of a stack); the pixel size is the header's voxel size."""

    name = "mrc"
    description = "MRC/CCP4 (mrcfile)"
    extensions = (".mrc", ".mrcs", ".rec", ".st", ".ali", ".map")
    options = ("frame",)
    signature = False  # MRC files before MRC2000 have no "MAP " stamp

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return len(head) >= 212 and head[208:212] == b"MAP "

    def read(self, path: Path, *, frame: Any = None) -> ExperimentImage:
        """Read the data with ``mrcfile.open(permissive=False)`` (header validated)."""
        try:
            import mrcfile
        except ImportError as exc:  # pragma: no cover - mrcfile is a dependency
            from ingrained_core.plugin.errors import InputFileError

            raise InputFileError(f"{path}: reading MRC files needs the mrcfile package (pip install mrcfile)") from exc
        notices: list[str] = []
        with mrcfile.open(path, mode="r", permissive=False) as mrc:
            arr = mrc.data.copy()
            vs = mrc.voxel_size
            vx, vy = float(vs.x), float(vs.y)
            header = {name: mrc.header[name] for name in mrc.header.dtype.names if name not in ("label",)}
            labels = [str(lab).strip() for lab in mrc.get_labels()]
        if vx > 0 and vy > 0:
            from ingrained_core.plugin.reader import pixel_size_from_scales

            pixel = pixel_size_from_scales([(vy, "A"), (vx, "A")], notices, "MRC voxel size")
        else:
            pixel = None
            notices.append("the MRC header has no voxel size (0); pixel size unknown")
        meta = {"format": "MRC", "header": header, "labels": labels}
        return finish(path, arr, pixel_size=pixel, metadata=meta, notices=notices, frame=frame)
