"""Config paths: relative paths are relative to the config file's directory.

Every config model (the run config, the experiment, structure builders, plugin options)
resolves its path fields with :func:`resolve_path` as a pydantic ``mode="before"`` field
validator; the directory comes from the validation context's ``base_dir``, which the
engine sets to the config file's directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationInfo


def resolve_path(value: Any, info: ValidationInfo) -> Any:
    """Resolve a relative path against the config file's directory (validation context).

    ``None`` and ``""`` give ``None``; without a ``base_dir`` in the context a relative path
    stays relative.
    """
    if value is None or value == "":
        return None
    p = Path(str(value)).expanduser()
    base = (info.context or {}).get("base_dir") if info.context else None
    if not p.is_absolute() and base is not None:
        p = Path(base) / p
    return p.resolve() if (p.is_absolute() or base is not None) else p


def resolve_required_path(value: Any, info: ValidationInfo) -> Any:
    """As :func:`resolve_path`, but an empty value is an error (the field is required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("a file path is required")
    return resolve_path(value, info)
