"""Crash-safe file writes: write to a temporary file in the same directory, then rename.

A kill -9 or a full disk at any moment leaves either the previous file or the new one,
never a torn file. Errors name the file.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ingrained_core.plugin.errors import RunDirectoryError


def _file_mode() -> int:
    """0666 minus the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def atomic_write(path: str | Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Call ``write(fh)`` on a temporary file next to ``path`` and atomically replace ``path``."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise RunDirectoryError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _FILE_MODE)  # mkstemp makes 0600; run files are as readable as any other
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise RunDirectoryError(f"cannot write {path}: {exc.strerror or exc} (the previous version is kept)") from exc
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def write_npy(path: str | Path, array: np.ndarray) -> None:
    atomic_write(path, lambda fh: np.save(fh, np.asarray(array), allow_pickle=False))


#: zlib level of the PNGs written by :func:`write_figure` (Pillow's default is 6). Measured on
#: the twin's fused figure (noisy image panels): at 100 dpi level 3 is 32 % faster *and* 27 %
#: smaller than 6; at 300 dpi 28 % faster for 13 % more bytes.
PNG_COMPRESS_LEVEL = 3


def write_figure(path: str | Path, fig: Any, **savefig_kwargs: Any) -> None:
    """Save a matplotlib figure atomically (PNG by the file's suffix; zlib level
    :data:`PNG_COMPRESS_LEVEL` unless ``pil_kwargs`` says otherwise)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    if fmt == "png":
        savefig_kwargs["pil_kwargs"] = {"compress_level": PNG_COMPRESS_LEVEL, **(savefig_kwargs.get("pil_kwargs") or {})}
    atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, **savefig_kwargs))
