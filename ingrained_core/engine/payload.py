"""A :class:`RunConfig` as a plain JSON-able mapping and back: the one form in which a
config travels to a worker process or a dask worker (a start, a screening candidate).

``base_dir`` (where relative paths in the config are resolved) is not a config field, so
it rides along in the payload under the same name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.engine.config import RunConfig, validate_config


def config_to_payload(cfg: RunConfig) -> dict[str, Any]:
    """``cfg`` as a JSON-able mapping (its fields plus ``base_dir``)."""
    data = cfg.model_dump(mode="json")
    data["base_dir"] = str(cfg.base_dir) if cfg.base_dir else None
    return data


def config_from_payload(data: dict[str, Any], *, source: str | None = None) -> RunConfig:
    """The config a payload describes (validated again, relative paths against ``base_dir``)."""
    base = Path(data.get("base_dir") or ".")
    if source is None:
        return validate_config(data, base)
    return validate_config(data, base, source=source)
