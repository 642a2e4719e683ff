"""Start a run from a previous run's solution (``forward_model.start_from = "best.json"``).

The typical use: fit with the fast convolution model, then refine with another model
(multislice) from that solution. The previous run's parameter values replace the start
values of every parameter the new model shares with it (naming a solution to start from
is the more specific request), except a parameter the config fixes at a value (``defocus
= 0`` or ``{ start = 0, fixed = true }``), which keeps it; bounds and ``fixed`` flags are
kept. The values are written
into the run's ``config.toml`` (and the file's path into its provenance), so a run
directory never depends on the previous run still being there.

A solution only means something for the structure it was fitted to: ``best.json``
records ``structure_hash`` (:func:`simulated_structure_hash`: the composition and a
SHA-256 of the structure as simulated at the best parameters), and a run started from it
is refused when its own structure, simulated at those parameters, hashes differently
(:func:`check_start_structure`), or when the two models share no parameter name at all
(:func:`apply_start_from`); both messages name the two sides.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ingrained_core.engine.config import RunConfig
from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.params import ParamSpec

#: Decimals kept of fractional coordinates and lattice lengths/angles when hashing a structure.
HASH_DECIMALS = 4


def structure_hash(structure: Any) -> str:
    """``"<formula>:<16 hex digits>"``: the composition and a SHA-256 of a pymatgen Structure.

    Site order does not matter (sites are sorted); coordinates are wrapped into the cell
    and rounded to 10⁻⁴ (fractional), lattice lengths (Å) and angles (°) to 10⁻⁴.
    """
    import hashlib

    import numpy as np

    lattice = structure.lattice
    frac = np.mod(np.round(np.asarray(structure.frac_coords, dtype=float), HASH_DECIMALS), 1.0)
    frac = np.round(np.where(frac > 1.0 - 10.0**-HASH_DECIMALS / 2, 0.0, frac), HASH_DECIMALS)
    species = [str(site.species) for site in structure]
    sites = sorted(f"{sp}@{x:.4f},{y:.4f},{z:.4f}" for sp, (x, y, z) in zip(species, frac))
    cell = ",".join(f"{v:.4f}" for v in (*lattice.abc, *lattice.angles))
    digest = hashlib.sha256(("|".join([cell, *sites])).encode()).hexdigest()[:16]
    return f"{structure.composition.formula.replace(' ', '')}:{digest}"


def simulated_structure_hash(model: Any, values: dict[str, float]) -> str | None:
    """:func:`structure_hash` of ``model.structure_at(values)``; None for a model without a structure."""
    structure_at = getattr(model, "structure_at", None)
    if not callable(structure_at):
        return None
    try:
        return structure_hash(structure_at(model.Params(**values)))
    except Exception:  # noqa: BLE001 - a model that cannot say; the run goes on without the hash
        return None


def read_best(path: Path) -> tuple[Path, dict[str, Any]]:
    """The path and contents of a ``best.json`` (or of a run directory holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "best.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"forward_model.start_from: {p} does not exist (expected a run's best.json)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"forward_model.start_from: {p} is not a readable best.json ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"forward_model.start_from: {p} is not a run's best.json (expected a JSON table)")
    return p, data


def read_best_params(path: Path) -> dict[str, float]:
    """The ``params`` table of a ``best.json`` (or of a run directory holding one)."""
    p, data = read_best(path)
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
    if not set(values) & known:
        _path, data = read_best(fm.start_from)
        raise ConfigError(
            f"forward_model.start_from: {fm.start_from} is a solution of forward model "
            f"{data.get('forward_model', '?')!r} (parameters {', '.join(sorted(values))}), which shares no "
            f"parameter name with this run's model {fm.name!r} ({', '.join(sorted(known))}); start from a run "
            "of a model with the same image-side parameters"
        )
    new_fm = fm.model_copy(update={"params": specs, "start_from": None})
    provenance = dict(cfg.provenance)
    provenance["start_from"] = {"path": str(fm.start_from), "params": taken}
    return cfg.model_copy(update={"forward_model": new_fm, "provenance": provenance}), taken


def check_start_structure(cfg: RunConfig, model: Any) -> None:
    """Refuse a start from a run of another structure (``structure_hash`` of best.json differs).

    This run's structure is simulated at the previous run's best parameters (so a config
    that fixes, say, the interface width differently still compares the same input
    structure); a best.json without a hash (older runs) or a model without a structure
    is not checked.
    """
    source = cfg.provenance.get("start_from") if isinstance(cfg.provenance, dict) else None
    if not source:
        return
    path, data = read_best(Path(source["path"]))
    recorded = data.get("structure_hash")
    if not recorded:
        return
    values = {k: v for k, v in data.get("params", {}).items() if k in model.Params.model_fields}
    try:
        base = model.Params(**values)
    except Exception:  # noqa: BLE001 - out of this model's bounds: compare at its defaults instead
        base = model.Params()
    ours = simulated_structure_hash(model, base.model_dump())
    if ours is None or ours == recorded:
        return
    raise ConfigError(
        f"forward_model.start_from: {path} is a run of another structure ({recorded}, forward model "
        f"{data.get('forward_model', '?')!r}) than this run's [structure] ({ours}, forward model "
        f"{cfg.forward_model.name!r}), compared as simulated at that run's best parameters; start from a run of "
        "the same structure, or drop start_from"
    )
