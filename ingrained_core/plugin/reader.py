"""The image-reader protocol and the helpers every reader shares.

A reader is a class with

- ``name`` (its registry name), ``description``, ``extensions`` (lower-case, with dot);
- ``options``: the keyword options ``read`` accepts; subclasses of :class:`ImageReader` get
  from them ``Options``, the pydantic model (unknown keys refused) the engine validates
  ``[experiment] reader_options`` against, once, before reading (the values are checked by
  ``read`` itself, whose messages name the file); a reader may declare ``Options`` itself;
- ``signature``: ``True`` when the format has a reliable magic number, so that a file
  whose extension names this format but whose content does not match is refused before
  any parsing (``False`` for formats without one, e.g. old MRC);
- ``sniff(path, head) -> bool``: whether the first bytes (``head``, up to 4 KiB) look like
  this format;
- ``read(path, **options) -> ExperimentImage``.

Readers return raw arrays through :func:`finish`, which turns stacks, RGB images and
calibrations into one validated 2-D image, uniformly for every format.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ingrained_core.plugin.errors import InputFileError
from ingrained_core.plugin.image import ExperimentImage

#: unit spelling (lower case, brackets and underscores removed) -> Å per unit
LENGTH_UNITS_A: dict[str, float] = {
    "a": 1.0, "å": 1.0, "angstrom": 1.0, "angstroms": 1.0, "ang": 1.0, "\u212b": 1.0,
    "nm": 10.0, "nanometer": 10.0, "nanometre": 10.0,
    "pm": 0.01,
    "um": 1e4, "µm": 1e4, "μm": 1e4, "micron": 1e4, "microns": 1e4, "micrometer": 1e4, "micrometre": 1e4,
    "mm": 1e7, "cm": 1e8, "m": 1e10,
}


def angstrom_per(unit: Any) -> float | None:
    """Å per one ``unit`` (``'nm'``, ``'[n_m]'``, ``'µm'``, ``'m'`` ...), or None if not a length."""
    if unit is None:
        return None
    if isinstance(unit, bytes):
        unit = unit.decode("latin-1", errors="replace")
    u = str(unit).strip().strip("[]").replace("_", "").replace(" ", "").lower()
    return LENGTH_UNITS_A.get(u)


def pixel_size_from_scales(scales: list[tuple[float | None, Any]], notices: list[str],
                           what: str = "calibration") -> float | None:
    """The pixel size in Å from per-axis (scale, unit) pairs (y first), or None with a notice.

    Non-square pixels (the two scales differing by more than 0.1 %) give the mean with a
    notice, because every forward model assumes square pixels.
    """
    values: list[float] = []
    for scale, unit in scales:
        factor = angstrom_per(unit)
        if scale is None or factor is None:
            notices.append(f"no length {what} in the file (unit {unit!r}); pixel size unknown")
            return None
        s = float(scale)
        if not (math.isfinite(s) and s > 0):
            notices.append(f"the file's {what} is not a positive length ({scale!r} {unit}); pixel size unknown")
            return None
        values.append(s * factor)
    if not values:
        return None
    if max(values) > min(values) * 1.001:
        mean = float(np.mean(values))
        notices.append(
            "non-square pixels in the file (" + " x ".join(f"{v:.6g}" for v in values)
            + f" Å); using their mean {mean:.6g} Å"
        )
        return mean
    return float(values[0])


def _pick_frame(arr: np.ndarray, frame: Any, path: Path, notices: list[str]) -> np.ndarray:
    """A 2-D frame from a 3-D stack; an error unless ``frame`` is given."""
    if arr.ndim == 3:
        n = arr.shape[0]
        if frame is None:
            raise InputFileError(
                f"{path}: holds a stack of {n} images of {arr.shape[1]} x {arr.shape[2]} px; "
                f"choose one with the reader option frame = 0..{n - 1} (experiment.reader_options)"
            )
        if not isinstance(frame, (int, np.integer)) or isinstance(frame, bool) or not -n <= frame < n:
            raise InputFileError(f"{path}: frame must be an integer in 0..{n - 1}, got {frame!r}")
        notices.append(f"frame {int(frame)} of a stack of {n} images")
        return arr[int(frame)]
    if frame is not None and frame not in (0, -1):
        raise InputFileError(f"{path}: the option frame = {frame!r} was given but the file holds a single image")
    return arr


def _pick_channel(arr: np.ndarray, channel: Any, path: Path, notices: list[str]) -> np.ndarray:
    """Greyscale from an RGB(A) image: equal channels -> one of them; else ``channel`` needed."""
    names = "RGBA"
    k = arr.shape[-1]
    colour = arr[..., :3] if k == 4 else arr
    if channel is not None:
        if isinstance(channel, str) and channel.upper() in names[:k]:
            idx = names.index(channel.upper())
        elif isinstance(channel, (int, np.integer)) and not isinstance(channel, bool) and 0 <= channel < k:
            idx = int(channel)
        else:
            raise InputFileError(
                f"{path}: channel must be one of {', '.join(names[:k])} or 0..{k - 1}, got {channel!r}"
            )
        notices.append(f"channel {names[idx]} of a {names[:k]} image")
        return arr[..., idx]
    if all(np.array_equal(colour[..., 0], colour[..., i]) for i in range(1, colour.shape[-1])):
        notices.append(f"{names[:k]} image with equal colour channels converted to greyscale")
        return colour[..., 0]
    raise InputFileError(
        f"{path}: is a colour ({names[:k]}) image whose channels differ; an experimental image must be "
        f"greyscale: choose a channel with the reader option channel = 'R', 'G' or 'B'"
    )


def finish(path: Path, array: Any, *, pixel_size: float | None, metadata: dict[str, Any],
           notices: list[str] | None = None, frame: Any = None, channel: Any = None,
           rgb_last_axis: bool = False) -> ExperimentImage:
    """Validate a raw array into an :class:`ExperimentImage` (stack/RGB handling, finiteness).

    ``rgb_last_axis`` says that a trailing axis of length 3 or 4 holds colour channels
    (raster and TIFF images); structured RGB dtypes are recognised by themselves.
    """
    notices = list(notices or [])
    arr = np.asarray(array)
    if arr.dtype.names is not None:  # structured RGB(A), e.g. rosettasciio
        arr = np.stack([arr[n] for n in arr.dtype.names], axis=-1)
        rgb_last_axis = True
    if arr.ndim == 0 or arr.size == 0:
        raise InputFileError(f"{path}: holds no image data (shape {arr.shape})")
    if arr.ndim == 1:
        raise InputFileError(
            f"{path}: holds a 1-D array of {arr.shape[0]} values (a spectrum or a line profile?); "
            "expected a 2-D image"
        )
    if rgb_last_axis and arr.ndim in (3, 4) and arr.shape[-1] in (3, 4):
        arr = _pick_channel(arr, channel, path, notices)
    elif channel is not None:
        raise InputFileError(f"{path}: the option channel = {channel!r} was given but the image is not RGB")
    squeezed = np.squeeze(arr)
    if squeezed.ndim >= 2:
        arr = squeezed
    arr = _pick_frame(arr, frame, path, notices)
    if arr.ndim != 2:
        raise InputFileError(f"{path}: holds a {arr.ndim}-D array of shape {arr.shape}; expected a 2-D image")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise InputFileError(f"{path}: image data of type {arr.dtype} is not a real-valued image")
    data = arr.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        raise InputFileError(
            f"{path}: {bad} of {data.size} pixels are NaN or infinite; an experimental image must be finite "
            "(fill or crop the bad pixels first)"
        )
    return ExperimentImage(data=data, pixel_size=pixel_size, metadata=jsonable(metadata), source=path,
                           notices=notices)


def jsonable(obj: Any, depth: int = 0) -> Any:
    """A JSON-friendly copy of nested metadata (numpy scalars -> Python, bytes -> str, big arrays summarised)."""
    if depth > 40:
        return repr(obj)
    if isinstance(obj, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, depth + 1) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.size <= 64 and obj.dtype.kind in "biufUS":
            return jsonable(obj.tolist(), depth + 1)
        return f"<array {obj.dtype} {obj.shape}>"
    if isinstance(obj, np.generic):
        return jsonable(obj.item(), depth + 1)
    if isinstance(obj, bytes):
        return obj.decode("latin-1", errors="replace") if len(obj) <= 256 else f"<{len(obj)} bytes>"
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def options_model(name: str, options: tuple[str, ...]) -> type[Any]:
    """A pydantic model taking exactly ``options`` (values of any type), unknown keys refused."""
    from pydantic import ConfigDict, create_model

    fields: dict[str, Any] = {o: (Any, None) for o in options}
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


class ImageReader:
    """Base class of the built-in readers (third-party readers need only the same attributes)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[tuple[str, ...]] = ("frame",)
    signature: ClassVar[bool] = True
    #: the reader's options as a pydantic model; made from ``options`` unless declared
    Options: ClassVar[type[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Options" not in cls.__dict__:
            cls.Options = options_model(f"{cls.__name__}Options", tuple(cls.options))

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """Whether ``head`` (the file's first bytes) looks like this format."""
        return False

    def read(self, path: Path, **options: Any) -> ExperimentImage:  # pragma: no cover - abstract
        raise NotImplementedError
