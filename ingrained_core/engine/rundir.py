"""The run directory contract: which files a run holds, creating and clearing one, reading
its stored config and its ``best.json``, and what ``fuse`` returns about it.

A run directory holds ``config.toml`` (the resolved config), ``progress.csv`` (one row per
evaluation, the source of truth), ``best.json`` + ``simulation.npy`` (the best feasible row,
written atomically, at most :data:`BEST_WRITE_INTERVAL_S` behind the log), ``experiment.npy``,
``fused.png``, the structure files and, for several starts, ``starts/NN/`` with the same
files per start (docs/architecture.md, "Run directory").
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.engine.config import RunConfig, read_config_file, validate_config
from ingrained_core.engine.lock import LOCK_NAME
from ingrained_core.plugin.errors import RunDirectoryError

RUN_FILES = (
    "config.toml", "start.json", "race.json", "progress.csv", "best.json", "experiment.npy", "simulation.npy",
    "fused.png", "structure.cif", "structure.vasp", "strain.json", "fingerprint.json",
)
#: what the apps layer's finishers add to a finished run directory (apps/outputs.py writes
#: them; named here so that ``--force`` clears a previous run's copies too)
OUTPUT_FILES = (
    "fused.svg", "fused.pdf", "experiment.tif", "experiment_patch.tif", "simulation.tif", "fused.tif",
    "results.hspy", "calibration.json", "structure.xyz", "report.html",
)
#: stop reasons after which a start is complete (resume has nothing to add)
FINAL_REASONS = ("converged", "target_fom")
#: best.json/simulation.npy are rewritten at most this often during a run (a later improvement
#: is deferred, never dropped: it is written at the next evaluation after the interval, and on
#: every stop that can be caught)
BEST_WRITE_INTERVAL_S = float(os.environ.get("INGRAINED_BEST_WRITE_INTERVAL_S", "1.0"))


def prepare_run_dir(run_dir: Path, *, force: bool) -> None:
    """Create ``run_dir``; refuse a non-empty one unless ``force`` (which clears run files only)."""
    try:
        if run_dir.is_symlink() and not run_dir.exists():
            raise RunDirectoryError(f"run directory {run_dir} is a broken or looping symbolic link")
        if run_dir.exists() and not run_dir.is_dir():
            raise RunDirectoryError(f"run directory {run_dir} exists and is not a directory")
        if run_dir.exists() and any(p.name != LOCK_NAME for p in run_dir.iterdir()):
            if not force:
                raise RunDirectoryError(
                    f"run directory {run_dir} is not empty; use 'ingrained resume {run_dir}' to continue it, "
                    "--force to start over, or another --out"
                )
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirectoryError(f"cannot create run directory {run_dir}: {exc.strerror or exc}") from exc


def clear_run_files(run_dir: Path) -> None:
    """Remove the run files (and ``starts/``) of ``run_dir``; other files are left alone."""
    for name in (*RUN_FILES, *OUTPUT_FILES):
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / "starts", ignore_errors=True)


def remove_temporaries(run_dir: Path) -> None:
    """Remove the temporary files of atomic writes a kill interrupted (``.NAME.*.tmp``)."""
    for d in [run_dir, *sorted((run_dir / "starts").glob("[0-9][0-9]"))]:
        for p in d.glob(".*.tmp"):
            p.unlink(missing_ok=True)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when it is missing, unreadable, torn or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def load_run_config(run_dir: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """The resolved config stored in a run directory (``config.toml``), with overrides."""
    from ingrained_core.engine.config import apply_overrides

    run_dir = Path(run_dir)
    path = run_dir / "config.toml"
    if not path.exists():
        raise RunDirectoryError(f"{run_dir} is not an ingrained run directory (no config.toml)")
    data = apply_overrides(read_config_file(path), list(overrides or []))
    return validate_config(data, Path(data.get("base_dir") or run_dir), source=str(path))


def log_best_row(run_dir: str | Path, names: list[str] | None = None) -> dict[str, Any] | None:
    """The best feasible row of the run's ``progress.csv`` (lowest FOM, first on ties), or None.

    This is the source of truth: ``best.json`` may lag it by up to
    :data:`BEST_WRITE_INTERVAL_S` after a kill -9. With several starts the rows of every
    ``starts/NN/progress.csv`` are considered (the row gets a ``start`` key).
    """
    from ingrained_core.engine.progress import read_progress

    run_dir = Path(run_dir)
    logs = sorted((run_dir / "starts").glob("[0-9][0-9]/progress.csv")) if (run_dir / "starts").is_dir() else []
    sources = [(int(p.parent.name), p) for p in logs] or [(0, run_dir / "progress.csv")]
    best: dict[str, Any] | None = None
    for start, path in sources:
        try:
            _, rows = read_progress(path)
        except RunDirectoryError:
            continue
        for row in rows:
            fom = row.get("fom")
            if isinstance(fom, (int, float)) and math.isfinite(fom) and (best is None or fom < best["fom"]):
                best = {**row, "start": start}
    return best


@dataclass
class FuseResult:
    """What ``fuse`` returns: the best record (best.json), the run directory, per-start records."""

    best: dict[str, Any]
    run_dir: Path
    starts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fom(self) -> float:
        return float(self.best["fom"])

    @property
    def params(self) -> dict[str, float]:
        return dict(self.best["params"])

    def simulation(self) -> np.ndarray:
        return np.load(self.run_dir / "simulation.npy", allow_pickle=False)

    def experiment(self) -> np.ndarray:
        return np.load(self.run_dir / "experiment.npy", allow_pickle=False)


class StaleBestWarning(UserWarning):
    """best.json of a run lags its progress log (the run was killed within the write interval)."""


def best_params(run_dir: str | Path) -> tuple[dict[str, Any], str | None]:
    """The parameters of a run's best feasible evaluation, for read-only commands.

    The log is the source of truth: when ``best.json`` is missing, unreadable or worse than
    the log's best row (a kill -9 fell within the write interval), the log's row is used and
    a note saying so is returned (else None). ``ingrained resume`` repairs the files.
    """
    from ingrained_core.engine.progress import TAIL

    run_dir = Path(run_dir)
    best = read_json(run_dir / "best.json")
    row = log_best_row(run_dir)
    recorded = best.get("fom") if best else None
    if row is not None and (not isinstance(recorded, (int, float)) or row["fom"] < recorded
                            or not isinstance(best.get("params") if best else None, dict)):
        params = {k: v for k, v in row.items() if k not in ("eval", "elapsed_s", "start", *TAIL)}
        return params, (f"{run_dir / 'best.json'} lags the run's log (FOM {recorded!r}, the log's best is "
                        f"{row['fom']!r} at evaluation {row['eval']}); using the log's best. "
                        f"'ingrained resume {run_dir}' repairs the files")
    if best is None or not isinstance(best.get("params"), dict):
        raise RunDirectoryError(f"{run_dir}: no best.json with a 'params' table and no feasible row in progress.csv")
    return dict(best["params"]), None
