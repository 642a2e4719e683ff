"""Reading an experimental image: :func:`read_image` picks a reader by content, then extension.

Readers are plugins (hook ``ingrained_image_readers``, kind ``image_reader``), so a
third-party package can add a format; the built-in ones live in
:mod:`ingrained_core.builtins.io`, one module per format (see docs/inputs.md). This module
is the dispatcher, in the engine layer because it asks the registry for the readers. Every
failure is an :class:`~ingrained_core.plugin.errors.InputFileError` naming the file and
what was expected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingrained_core.engine.registry import get_registry
from ingrained_core.plugin.errors import ConfigError, IngrainedError, InputFileError
from ingrained_core.plugin.image import ExperimentImage
from ingrained_core.plugin.validation import validate_section

__all__ = ["HEAD_BYTES", "available_readers", "choose_reader", "read_image"]

#: how many leading bytes readers' ``sniff`` sees
HEAD_BYTES = 4096

_KIND = "image_reader"


def _registry() -> Any:
    return get_registry()


def available_readers() -> dict[str, Any]:
    """Name -> reader class (or object) of every usable registered reader."""
    reg = _registry()
    return {name: reg.get(_KIND, name) for name in reg.names(_KIND)}


def _check_file(path: Path) -> bytes:
    """The file's first bytes; clear errors for missing, directory, empty or unreadable files."""
    if not path.exists():
        raise InputFileError(f"image file not found: {path}")
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory; expected an image file (DM3/DM4, TIFF, MRC, EMD, ...)")
    try:
        size = path.stat().st_size
        if size == 0:
            raise InputFileError(f"{path}: is empty (0 bytes); expected an image file")
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except PermissionError:
        raise InputFileError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _describe(name: str, reader: Any) -> str:
    desc = getattr(reader, "description", "") or name
    return f"{desc} (reader {name!r})"


def _sniffs(reader: Any, path: Path, head: bytes) -> bool:
    sniff = getattr(reader, "sniff", None)
    if sniff is None:
        return False
    try:
        return bool(sniff(path, head))
    except Exception:  # noqa: BLE001 - a broken third-party sniff must not break detection
        return False


def choose_reader(path: Path, head: bytes) -> tuple[str, Any, list[str]]:
    """(name, reader, notices) for a file: content first, extension second.

    A file whose extension belongs to a format with a reliable signature but whose content
    matches no reader is refused ("wrong content for the extension").
    """
    readers = available_readers()
    suffix = path.suffix.lower()
    by_content = [n for n, r in readers.items() if _sniffs(r, path, head)]
    by_ext = [n for n, r in readers.items() if suffix in tuple(e.lower() for e in getattr(r, "extensions", ()))]
    if by_content:
        both = [n for n in by_content if n in by_ext]
        name = both[0] if both else by_content[0]
        notices = []
        if not both and by_ext:
            notices.append(
                f"the content is {_describe(name, readers[name])} although the extension {suffix} suggests "
                f"{_describe(by_ext[0], readers[by_ext[0]])}; read by content"
            )
        return name, readers[name], notices
    if by_ext:
        loose = [n for n in by_ext if not getattr(readers[n], "signature", True)]
        if loose:
            return loose[0], readers[loose[0]], []
        expected = " or ".join(_describe(n, readers[n]) for n in by_ext)
        raise InputFileError(
            f"{path}: the extension {suffix} says {expected}, but the content does not match that format "
            f"(first bytes {head[:16]!r}); the file is not an image of that kind, or it is corrupt"
        )
    known = sorted({e for r in readers.values() for e in getattr(r, "extensions", ())})
    raise InputFileError(
        f"{path}: unrecognised image format (extension {suffix or '(none)'!r}, first bytes {head[:16]!r}); "
        f"known extensions: {', '.join(known)}; or name a reader with experiment.reader "
        f"({', '.join(sorted(readers))})"
    )


@contextmanager
def _capture_library_logs(messages: list[str]) -> Iterator[None]:
    """Collect what reader libraries (tifffile, rosettasciio, ...) log while a file is read.

    Without this, their log records reach stderr through logging's last-resort handler,
    beside the one clear error message; here they become notices or part of that message.
    """
    import logging

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                messages.append(record.getMessage().strip()[:200])
            except Exception:  # noqa: BLE001, S110 - a malformed record must not break reading
                pass

    handler = _Collect(level=logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def read_image(path: str | Path, *, reader: str | None = None, **options: Any) -> ExperimentImage:
    """Read an experimental image: a finite 2-D float64 array, its pixel size in Å (or None), metadata.

    ``reader`` forces a registered reader by name (``ingrained plugins list``); otherwise it
    is chosen by the file's content, then its extension. ``options`` go to the reader
    (e.g. ``frame`` for stacks, ``channel`` for RGB or SXM, ``direction`` for SXM); options
    set to ``None`` are ignored, unknown ones are an error.
    """
    p = Path(path).expanduser()
    head = _check_file(p)
    notices: list[str] = []
    if reader is not None:
        name, impl = reader, _registry().get(_KIND, reader)  # PluginError lists the available readers
    else:
        name, impl, notices = choose_reader(p, head)
    opts = {k: v for k, v in options.items() if v is not None}
    accepted = getattr(impl, "options", None)
    options_cls = getattr(impl, "Options", None)
    if options_cls is not None:  # one validation, one error format (the key, the closest one, the known ones)
        checked = validate_section(options_cls, opts, f"experiment.reader_options for {name!r}",
                                   prefix="experiment.reader_options.")
        opts = {k: v for k, v in checked.model_dump(exclude_unset=True).items() if v is not None}
    elif accepted is not None:
        unknown = sorted(set(opts) - set(accepted))
        if unknown:
            raise ConfigError(
                f"reader {name!r} does not take the option(s) {', '.join(map(repr, unknown))}; "
                f"it takes: {', '.join(accepted) or '(none)'}"
            )
    instance = impl() if isinstance(impl, type) else impl
    logged: list[str] = []
    try:
        with _capture_library_logs(logged):
            image = instance.read(p, **opts)
    except IngrainedError:
        raise
    except MemoryError:
        raise InputFileError(f"{p}: too large to read into memory") from None
    except Exception as exc:
        msg = str(exc).strip() or type(exc).__name__
        said = f"; the reader library said: {'; '.join(logged[:3])}" if logged else ""
        raise InputFileError(
            f"{p}: cannot be read as {_describe(name, impl)}: {msg}{said} (the file may be truncated or corrupt)"
        ) from exc
    notices.extend(f"reader library: {m}" for m in logged[:5])
    if not isinstance(image, ExperimentImage):
        raise InputFileError(
            f"{p}: reader {name!r} returned {type(image).__name__}, expected an ExperimentImage"
        )
    image.metadata.setdefault("reader", name)
    image.notices[:0] = notices
    if image.source is None:
        image.source = p
    return image
