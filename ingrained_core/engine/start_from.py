"""Start a run from a previous run's solution (``forward_model.start_from = "best.json"``).

The typical use: fit with the fast convolution model, then refine with another model
(multislice) from that solution. The previous run's parameter values replace the start
values of every parameter the new model shares with it (naming a solution to start from
is the more specific request), except a parameter the config fixes at a value (``defocus
= 0`` or ``{ start = 0, fixed = true }``), which keeps it; bounds and ``fixed`` flags are
kept. The values are written
into the run's ``config.toml`` (and the file's path into its provenance), so a run
directory never depends on the previous run still being there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ingrained_core.engine.config import RunConfig
from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.params import ParamSpec


def read_best_params(path: Path) -> dict[str, float]:
    """The ``params`` table of a ``best.json`` (or of a run directory holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "best.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"forward_model.start_from: {p} does not exist (expected a run's best.json)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"forward_model.start_from: {p} is not a readable best.json ({exc})") from None
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(params, dict) or not params:
        raise ConfigError(f"forward_model.start_from: {p} has no 'params' table (expected a run's best.json)")
    out: dict[str, float] = {}
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"forward_model.start_from: {p}: params.{key} = {value!r} is not a finite number")
        out[str(key)] = float(value)
    return out


def apply_start_from(cfg: RunConfig, params_cls: Any) -> tuple[RunConfig, list[str]]:
    """``cfg`` with the start values of ``forward_model.start_from`` filled in.

    Returns the new config (``start_from`` cleared, its path kept in ``provenance``) and
    the names of the parameters whose start was taken from the file.
    """
    fm = cfg.forward_model
    if fm.start_from is None:
        return cfg, []
    values = read_best_params(fm.start_from)
    known = set(params_cls.model_fields)
    specs: dict[str, ParamSpec] = dict(fm.params)
    taken: list[str] = []
    for name, value in values.items():
        if name not in known:
            continue  # a parameter of the previous model that this one does not have
        spec = specs.get(name, ParamSpec())
        if spec.fixed and spec.start is not None:
            continue  # fixed at a value by the config
        specs[name] = spec.model_copy(update={"start": value})
        taken.append(name)
    new_fm = fm.model_copy(update={"params": specs, "start_from": None})
    provenance = dict(cfg.provenance)
    provenance["start_from"] = {"path": str(fm.start_from), "params": taken}
    return cfg.model_copy(update={"forward_model": new_fm, "provenance": provenance}), taken
