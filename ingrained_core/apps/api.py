"""The Python API, mirroring the CLI, for notebooks and scripts.

>>> from ingrained_core import fuse
>>> result = fuse("examples/cdte_twin/fuse.toml", out="runs/twin", max_evals=200)
>>> result.fom, result.params
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.engine.config import RunConfig, load_config
from ingrained_core.engine.rundir import FuseResult


def write_outputs(out_dir: Path, problem: Any, reporter: Any, best: dict[str, Any]) -> None:
    """A run finisher: the figure, calibrated files and report of a finished run directory
    (:func:`ingrained_core.apps.outputs.finish_run`; one start of a multi-start run gets only
    its 100-dpi ``fused.png``)."""
    from ingrained_core.apps.outputs import finish_run

    finish_run(Path(out_dir), problem=problem, reporter=reporter)


def write_light_outputs(out_dir: Path, problem: Any, reporter: Any, best: dict[str, Any]) -> None:
    """A run finisher for many small runs (screening candidates): a 100-dpi ``fused.png`` and
    the units table only (``ingrained report --outputs RUN`` writes the rest later)."""
    from ingrained_core.apps.outputs import finish_run

    finish_run(Path(out_dir), problem=problem, reporter=reporter, full=False)


#: what every run started from the apps layer leaves besides the engine's run files
FINISHERS = (write_outputs,)
#: the same for each candidate of a screen
LIGHT_FINISHERS = (write_light_outputs,)


def _as_config(config: RunConfig | str | Path, overrides: list[str] | None) -> RunConfig:
    if isinstance(config, RunConfig):
        if overrides:
            from ingrained_core.engine.config import apply_overrides, validate_config

            data = apply_overrides(config.model_dump(mode="json"), overrides)
            return validate_config(data, config.base_dir or Path.cwd())
        return config
    return load_config(config, overrides)


def shortcut_overrides(
    max_evals: int | None = None,
    time_limit: float | None = None,
    starts: int | None = None,
    seed: int | None = None,
    target_fom: float | None = None,
) -> list[str]:
    """``--max-evals`` and friends as ``--set`` overrides."""
    out = []
    for key, value in (("max_evals", max_evals), ("time_limit", time_limit), ("starts", starts),
                       ("seed", seed), ("target_fom", target_fom)):
        if value is not None:
            out.append(f"optimizer.{key}={value}")
    return out


def fuse(
    config: RunConfig | str | Path,
    out: str | Path,
    *,
    overrides: list[str] | None = None,
    force: bool = False,
    reporter: Any = None,
    **shortcuts: Any,
) -> FuseResult:
    """Fit the forward model into the experiment and write the run directory ``out``."""
    from ingrained_core.engine.run import fuse as _fuse

    cfg = _as_config(config, list(overrides or []) + shortcut_overrides(**shortcuts))
    from ingrained_core.apps.recipe_screen import fuse_screened, plan_screen

    if (plan := plan_screen(cfg)) is not None:  # a bicrystal recipe: screen its structure candidates
        return fuse_screened(cfg, out, plan, force=force, reporter=reporter)
    return _fuse(cfg, out, force=force, reporter=reporter, finishers=FINISHERS)


def resume(run_dir: str | Path, *, overrides: list[str] | None = None, reporter: Any = None, **shortcuts: Any) -> FuseResult:
    """Continue an interrupted run from its directory."""
    from ingrained_core.apps.recipe_screen import is_screen_dir, resume_screened
    from ingrained_core.engine.run import resume as _resume

    if is_screen_dir(run_dir):
        return resume_screened(run_dir, reporter=reporter)
    return _resume(run_dir, overrides=list(overrides or []) + shortcut_overrides(**shortcuts), reporter=reporter,
                   finishers=FINISHERS)


def simulate(
    config: RunConfig | str | Path | None = None,
    *,
    params: dict[str, float] | str | Path | None = None,
    from_run: str | Path | None = None,
) -> tuple[np.ndarray, float, dict[str, float]]:
    """One simulated image: ``(array, pixel_size, params used)``.

    ``params`` is a mapping or a ``best.json`` path; without it the config's start point
    is used. ``from_run`` takes the config and best parameters from a run directory and
    reproduces its ``simulation.npy`` exactly.
    """
    import json

    from ingrained_core.engine.problem import build_model
    from ingrained_core.engine.run import load_run_config

    if from_run is not None:
        cfg = load_run_config(from_run)
        if params is None:
            import warnings

            from ingrained_core.engine.rundir import StaleBestWarning, best_params

            params, note = best_params(from_run)
            if note:
                warnings.warn(note, StaleBestWarning, stacklevel=2)
    elif config is not None:
        cfg = _as_config(config, None)
    else:
        raise ValueError("give a config or from_run")
    model, space = build_model(cfg)
    if params is None:
        values = space.values(space.x0)
    elif isinstance(params, (str, Path)):
        from ingrained_core.plugin.errors import InputFileError

        try:
            values = json.loads(Path(params).read_text())["params"]
            if not isinstance(values, dict):
                raise TypeError(f"'params' is a {type(values).__name__}, not a table")
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise InputFileError(f"{params}: expected a best.json with a 'params' table ({exc})") from exc
    else:
        values = dict(params)
    p = model.Params(**{**space.values(space.x0), **values})
    sim = model.simulate(p)
    return sim.array, sim.pixel_size, sim.params_used(p)
