"""Plain-text STM z-plane exports: ``#`` header lines (Width, Height, Value units), then rows.

The format of ``examples/cu2o_111``::

    # Channel: Detail XX
    # Width: 15 nm
    # Height: 15 nm
    # Value units: m
    -1.4807e-07<TAB>-1.4807e-07<TAB>...

Heights keep their values (metres here; the unit is recorded in the metadata); the pixel
size is Width / columns (and Height / rows), in Å.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ingrained_core.plugin.reader import ImageReader, angstrom_per, finish, pixel_size_from_scales
from ingrained_core.plugin.image import ExperimentImage

_HEADER = re.compile(rb"^\s*#\s*(Channel|Width|Height|Value units)\s*:", re.IGNORECASE | re.MULTILINE)
_LENGTH = re.compile(r"^\s*([-+0-9.eE]+)\s*([^\s]*)\s*$")


def _length(value: str) -> tuple[float, str] | None:
    m = _LENGTH.match(value)
    if not m:
        return None
    try:
        return float(m.group(1)), m.group(2)
    except ValueError:
        return None


class StmTextReader(ImageReader):
    """A z-plane text export: ``# key: value`` header lines, then tab- or space-separated rows."""

    name = "stm-text"
    description = "plain-text STM z-plane export (# header, tab-separated rows)"
    extensions = (".txt", ".asc", ".dat")
    options = ()

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return head.lstrip().startswith(b"#") and len(_HEADER.findall(head)) >= 2

    def read(self, path: Path) -> ExperimentImage:
        """Parse the header and the rows; a ragged or non-numeric row is an error naming its line."""
        import numpy as np

        from ingrained_core.plugin.errors import InputFileError

        header: dict[str, str] = {}
        rows: list[list[float]] = []
        with open(path, encoding="utf-8", errors="strict") as fh:
            for lineno, line in enumerate(fh, start=1):
                text = line.strip()
                if not text:
                    continue
                if text.startswith("#"):
                    key, sep, value = text.lstrip("#").partition(":")
                    if sep:
                        header[key.strip().lower()] = value.strip()
                    continue
                fields = text.replace(",", " ").split()
                try:
                    row = [float(x) for x in fields]
                except ValueError:
                    raise InputFileError(
                        f"{path}: line {lineno} is not a row of numbers ({text[:60]!r}...)"
                    ) from None
                if rows and len(row) != len(rows[0]):
                    raise InputFileError(
                        f"{path}: line {lineno} has {len(row)} values, the rows before it {len(rows[0])} "
                        "(truncated or corrupt file?)"
                    )
                rows.append(row)
        if not rows:
            raise InputFileError(f"{path}: no data rows after the '#' header")
        arr = np.asarray(rows, dtype=float)
        notices: list[str] = []
        pixel = None
        width, height = _length(header.get("width", "")), _length(header.get("height", ""))
        if width and height and angstrom_per(width[1]) is not None and angstrom_per(height[1]) is not None:
            pixel = pixel_size_from_scales(
                [(height[0] / arr.shape[0], height[1]), (width[0] / arr.shape[1], width[1])],
                notices, "Width/Height header",
            )
        else:
            notices.append("no Width/Height with a length unit in the header; pixel size unknown")
        meta: dict[str, Any] = {"format": "STM text", "header": header,
                                "value_units": header.get("value units", "")}
        return finish(path, arr, pixel_size=pixel, metadata=meta, notices=notices)
