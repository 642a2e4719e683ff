"""NumPy ``.npy`` arrays (never pickles); no calibration unless given in the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.plugin.reader import ImageReader, finish
from ingrained_core.plugin.image import ExperimentImage


class NpyReader(ImageReader):
    """A 2-D (or, with ``frame``, 3-D) numeric array saved by ``numpy.save``."""

    name = "npy"
    description = "NumPy .npy (no pickles)"
    extensions = (".npy",)
    options = ("frame",)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return head.startswith(b"\x93NUMPY")

    def read(self, path: Path, *, frame: Any = None) -> ExperimentImage:
        """Read the array with ``numpy.load(..., allow_pickle=False)``."""
        import numpy as np

        from ingrained_core.plugin.errors import InputFileError

        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
                raise InputFileError(
                    f"{path}: holds Python objects (a pickle), which are never loaded; save a plain numeric array"
                ) from None
            raise
        if arr.dtype.names is not None or arr.dtype.kind not in "biuf":
            raise InputFileError(f"{path}: holds an array of type {arr.dtype}; expected a real numeric image")
        return finish(path, arr, pixel_size=None, metadata={"format": "npy", "dtype": str(arr.dtype)},
                      notices=["no calibration in .npy files; pixel size unknown unless experiment.pixel_size is set"],
                      frame=frame)
