"""The experimental image every reader returns: a finite 2-D float64 array and its calibration.

Kept free of heavy imports (numpy only) so that plugin readers can import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class ExperimentImage:
    """An experimental image as read from a file (and, later, preprocessed).

    ``data`` is a finite, non-empty 2-D float64 array (rows = y, columns = x);
    ``pixel_size`` is the calibrated pixel edge in Å, or ``None`` when the file does not
    say; ``metadata`` holds the source metadata (JSON-friendly where possible);
    ``source`` is the file read; ``notices`` lists everything worth telling the user
    (conversions, choices made, preprocessing steps applied).
    """

    data: np.ndarray
    pixel_size: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    notices: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        where = f"{self.source}: " if self.source is not None else ""
        a = np.asarray(self.data)
        if a.dtype.names is not None or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise ValueError(f"{where}image data must be numeric, got dtype {a.dtype}")
        if np.iscomplexobj(a):
            raise ValueError(f"{where}image data is complex; choose its magnitude or real part first")
        a = np.array(a, dtype=np.float64, copy=True)
        if a.ndim != 2 or min(a.shape) < 1:
            raise ValueError(f"{where}an experimental image must be a non-empty 2-D array, got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            bad = int(np.count_nonzero(~np.isfinite(a)))
            raise ValueError(f"{where}the image holds {bad} NaN/inf value(s); an experimental image must be finite")
        self.data = a
        if self.pixel_size is not None:
            p = float(self.pixel_size)
            if not (np.isfinite(p) and p > 0):
                raise ValueError(f"{where}pixel size must be a positive number of Å, got {self.pixel_size!r}")
            self.pixel_size = p
        if self.source is not None:
            self.source = Path(self.source)
        self.metadata = dict(self.metadata)
        self.notices = list(self.notices)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (int(self.data.shape[0]), int(self.data.shape[1]))

    def derive(self, data: np.ndarray, *, pixel_size: float | None | str = "same", notice: str | None = None,
               **metadata: Any) -> ExperimentImage:
        """A new image with ``data`` (and optionally a new pixel size), the notice appended."""
        md = dict(self.metadata)
        md.update(metadata)
        notices = list(self.notices) + ([notice] if notice else [])
        ps = self.pixel_size if isinstance(pixel_size, str) else pixel_size
        return replace(self, data=data, pixel_size=ps, metadata=md, notices=notices)

    def describe(self) -> str:
        """One line: shape and pixel size."""
        px = f"{self.pixel_size:.6g} Å" if self.pixel_size is not None else "unknown"
        return f"{self.shape[0]} x {self.shape[1]} px, pixel {px}"
