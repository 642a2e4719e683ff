"""What a run's results depend on, kept in the run directory (``fingerprint.json``) so that
``resume`` refuses a run whose FOM definition or experiment changed since it started.

The fingerprint holds a hash of every field of the resolved config (except those that only
set the budget or where the work runs, :data:`RESUMABLE_FIELDS`) and a hash of the
preprocessed experimental image. A resume whose config differs in any other field, or whose
image differs, would mix evaluations of two objectives in one log; it is refused with the
field named.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.engine.config import RunConfig
from ingrained_core.plugin import files as atomic
from ingrained_core.plugin.errors import ConfigError, RunDirectoryError

FINGERPRINT_NAME = "fingerprint.json"

#: the only fields ``resume --set`` may change (budget and execution, not the objective)
RESUMABLE_FIELDS = (
    "optimizer.max_evals", "optimizer.time_limit", "optimizer.target_fom", "optimizer.workers",
    "optimizer.executor", "optimizer.scheduler", "optimizer.blas_threads",
)
_IGNORED = ("provenance", "base_dir")


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: data}


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def config_hashes(cfg: RunConfig) -> dict[str, str]:
    """A hash per dotted field of the resolved config, the resumable fields left out."""
    data = cfg.model_dump(mode="json")
    flat = _flatten({k: v for k, v in data.items() if k not in _IGNORED})
    from ingrained_core.plugin.redact import is_secret_name

    return {k: _hash(v) for k, v in sorted(flat.items())
            if not any(k == f or k.startswith(f + ".") for f in RESUMABLE_FIELDS)
            and not is_secret_name(k.rsplit(".", 1)[-1])}  # a key is not stored, not even hashed


def image_hash(image: np.ndarray) -> str:
    a = np.ascontiguousarray(image)
    return hashlib.sha256(str((a.dtype.str, a.shape)).encode() + a.tobytes()).hexdigest()[:32]


def fingerprint(cfg: RunConfig, image: np.ndarray) -> dict[str, Any]:
    return {"config": config_hashes(cfg), "experiment": image_hash(image)}


def write_fingerprint(run_dir: Path, cfg: RunConfig, image: np.ndarray) -> None:
    atomic.write_json(run_dir / FINGERPRINT_NAME, fingerprint(cfg, image))


def check_overrides(overrides: list[str]) -> None:
    """``resume --set`` may change only :data:`RESUMABLE_FIELDS`."""
    from ingrained_core.engine.config import parse_override

    for item in overrides:
        keys, _ = parse_override(item)
        key = ".".join(keys)
        if key not in RESUMABLE_FIELDS:
            raise ConfigError(
                f"resume --set {key}: this field cannot change in a running experiment (it would mix two "
                f"objectives in one log); resume may change only {', '.join(RESUMABLE_FIELDS)}. "
                "Start a new run with 'ingrained fuse' instead")


def check_fingerprint(run_dir: Path, cfg: RunConfig, image: np.ndarray) -> bool:
    """Raise :class:`RunDirectoryError` naming the first changed field; False when the run has
    no fingerprint yet (written by an older version)."""
    from ingrained_core.engine.rundir import read_json

    stored = read_json(run_dir / FINGERPRINT_NAME)
    if stored is None or not isinstance(stored.get("config"), dict):
        return False
    now = fingerprint(cfg, image)
    old = stored["config"]
    changed = sorted(k for k in set(old) | set(now["config"]) if old.get(k) != now["config"].get(k))
    if changed:
        raise RunDirectoryError(
            f"{run_dir / 'config.toml'}: {', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''} changed since "
            "the run started; resuming would mix evaluations of two objectives in one log. Undo the edit, or "
            "start a new run with 'ingrained fuse'")
    if stored.get("experiment") != now["experiment"]:
        raise RunDirectoryError(
            f"{run_dir}: the experimental image (experiment.path, after preprocessing) differs from the one the "
            "run started with; resuming would mix FOMs against two images. Restore the image, or start a new "
            "run with 'ingrained fuse'")
    return True
