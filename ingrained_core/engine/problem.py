"""A fusion problem, built once from a run config: experiment, model, parameter space,
registration, similarity and FOM weights; and the evaluation of one parameter set.

Evaluation = simulate -> register (coarse then fine placement) -> d_sim on the matched
patch -> FOM = alpha * d_trans + beta * d_sim. It is deterministic, which is what resume
relies on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingrained_core.engine.config import RunConfig
from ingrained_core.plugin.errors import ConfigError, IngrainedError, ParameterError
from ingrained_core.plugin.validation import validate_section
from ingrained_core.plugin.params import ParameterSpace, ParamSpec, nearest_odd
from ingrained_core.engine.crop_floor import crop_shortfall
from ingrained_core.engine.screen_options import split_screen_options
from ingrained_core.engine.start_from import apply_start_from, check_start_structure

#: A proposal the model refuses (e.g. an STM iso-value outside the density) is logged with
#: this FOM, d_trans = -1 and d_sim = nan, and reported; it is never the best.
INFEASIBLE_FOM = 1000.0


@dataclass
class Evaluation:
    """One evaluated parameter set, as simulated (crop sizes as actually used)."""

    values: dict[str, float]
    d_trans: int
    d_sim: float
    fom: float
    placement: Any = None
    simulation: np.ndarray | None = None
    error: str = ""

    @property
    def feasible(self) -> bool:
        return not self.error

    def patch_dict(self) -> dict[str, int]:
        p = self.placement
        return {"row": int(p.row), "col": int(p.col), "height": int(p.height), "width": int(p.width)}


@dataclass
class Problem:
    """Everything a run needs that does not change between evaluations."""

    config: RunConfig
    experiment: Any  # ExperimentImage
    model: Any
    space: ParameterSpace
    registrar: Any
    similarity: Any
    structure: Any = None
    structure_report: dict[str, Any] = field(default_factory=dict)
    autostart: dict[str, Any] = field(default_factory=dict)  # start = "auto": estimate, candidates (start.json)

    @property
    def alpha(self) -> float:
        return self.config.fom.alpha

    @property
    def beta(self) -> float:
        return self.config.fom.beta

    def evaluate(self, values: dict[str, float]) -> Evaluation:
        """Simulate, register and score one parameter set."""
        params = self.model.Params(**values)
        from ingrained_core.engine.plugin_calls import call_plugin, check_simulation

        what = f"forward model {self.config.forward_model.name!r}"
        try:
            sim = check_simulation(what, call_plugin(what, self.model.simulate, params))
        except ParameterError as exc:
            return Evaluation(dict(values), -1, math.nan, INFEASIBLE_FOM, error=str(exc))
        used = sim.params_used(params)
        if (short := crop_shortfall(self.space, used)) is not None:
            return Evaluation(used, -1, math.nan, INFEASIBLE_FOM, error=short)
        placement = self.registrar.register(sim.array)
        d_sim = float(self.similarity.distance(sim.array, placement.patch))
        fom = self.alpha * float(placement.d_trans) + self.beta * d_sim
        return Evaluation(used, int(placement.d_trans), d_sim, fom, placement, sim.array)


def _cap_crop_bounds(cfg: RunConfig, params_cls: Any, shape: tuple[int, int]) -> dict[str, ParamSpec]:
    """Default crop bounds never exceed the experiment; a crop start that cannot fit is an error."""
    specs = dict(cfg.forward_model.params)
    described = params_cls.describe()
    for key, limit in (("crop_height", shape[0]), ("crop_width", shape[1])):
        if key not in described:
            continue
        top = limit if limit % 2 == 1 else limit - 1
        spec = specs.get(key, ParamSpec())
        start = described[key]["default"] if spec.start is None else spec.start
        if nearest_odd(start) > limit:
            raise ConfigError(
                f"the experimental image ({shape[0]} x {shape[1]} px after preprocessing) is smaller than the "
                f"simulation: forward_model.params.{key} starts at {nearest_odd(start)} px"
            )
        if spec.max is None or spec.max > top:
            hi = min(top, described[key]["max"])
            lo = spec.min if spec.min is not None else described[key]["min"]
            specs[key] = spec.model_copy(update={"max": float(max(hi, lo))})
    return specs


def build_model(cfg: RunConfig, experiment_shape: tuple[int, int] | None = None) -> tuple[Any, ParameterSpace]:
    """The forward model (with its structure or input file) and the run's parameter space."""
    model, _structure, _report = _build_model(cfg)
    _cfg, space, _taken = _parameter_space(cfg, model.Params, experiment_shape)
    return model, space


def _parameter_space(cfg: RunConfig, params_cls: Any, experiment_shape: tuple[int, int] | None
                     ) -> tuple[RunConfig, ParameterSpace, list[str]]:
    """The run's parameter space: ``forward_model.start_from`` applied, crop bounds capped to
    the experiment; returns the config with the start values filled in, the space and the
    names of the parameters whose start came from ``start_from``."""
    cfg, taken = apply_start_from(cfg, params_cls)
    specs = _cap_crop_bounds(cfg, params_cls, experiment_shape) if experiment_shape else cfg.forward_model.params
    try:
        return cfg, ParameterSpace(params_cls, specs), taken
    except ParameterError as exc:
        if not taken:
            raise
        src = cfg.provenance["start_from"]["path"]
        raise ParameterError(f"{exc} (start values from forward_model.start_from = {src}: "
                             "widen that parameter's bounds or fix it at a value in the config)") from None


def _build_model(cfg: RunConfig) -> tuple[Any, Any, dict[str, Any]]:
    from ingrained_core.engine.registry import get_registry

    registry = get_registry()
    model_cls = registry.get("forward_model", cfg.forward_model.name)
    structure, report = None, {}
    options = model_options(model_cls, cfg.forward_model.name, cfg.forward_model.options)
    kind = getattr(model_cls, "input_kind", "structure")
    if kind == "structure":
        if cfg.structure is None:
            raise ConfigError(
                f"forward model {cfg.forward_model.name!r} simulates a structure: add a [structure] section "
                "(e.g. builder = \"file\", path = \"structure.cif\")"
            )
        builder = registry.get("structure_builder", cfg.structure.builder)()
        bcfg = _validate_builder_config(builder, cfg)
        result = builder.build(bcfg)
        structure, report = result.structure, dict(result.report)
        if structure is not None and hasattr(structure, "__len__"):
            from ingrained_core.builtins.limits import check_atoms

            check_atoms(len(structure), f"[structure] (builder {cfg.structure.builder!r})")
        model = model_cls(structure, **options)
    elif kind == "none":
        model = model_cls(**options)
    else:
        if cfg.forward_model.input is None:
            raise ConfigError(
                f"forward model {cfg.forward_model.name!r} reads an input file: set forward_model.input"
            )
        model = model_cls(cfg.forward_model.input, **options)
    return model, structure, report


def model_options(model_cls: Any, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments a forward model is built with: ``options=`` its validated ``Options``.

    ``[forward_model.options]`` is validated once, here, against the model's ``Options``
    (docs/plugin-contract.md, "Options"); a model without ``Options`` (a plugin written
    before 0.2) gets the raw table as keywords, as it did then.
    """
    options_cls = getattr(model_cls, "Options", None)
    if options_cls is None:
        return dict(options)
    return {"options": validate_section(options_cls, options, f"forward_model.options for {name!r}")}


def _validate_builder_config(builder: Any, cfg: RunConfig) -> Any:
    """The builder's own config from ``[structure]``; errors name the section and the closest key."""
    assert cfg.structure is not None
    fields = split_screen_options(cfg.structure.builder_fields())[1]  # the core takes the screen keys
    return validate_section(builder.Config, fields,
                            f"[structure] (builder {cfg.structure.builder!r})", prefix="structure.", context={"base_dir": cfg.base_dir})


def build_problem(cfg: RunConfig) -> Problem:
    """Load the experiment, build the structure and the model, and set up registration."""
    from ingrained_core.engine.experiment import load_experiment
    from ingrained_core.engine.registration import Registrar
    from ingrained_core.engine.registry import get_registry

    registry = get_registry()
    registry.get("forward_model", cfg.forward_model.name)  # unknown names fail before any loading
    if cfg.structure is not None:
        registry.get("structure_builder", cfg.structure.builder)  # listed with the available ones
    similarity = registry.get("similarity", cfg.fom.similarity)()
    validate_optimizer(cfg)
    experiment = load_experiment(cfg.experiment)
    model, structure, report = _build_model(cfg)
    from ingrained_core.engine.autostart.resolve import global_stage, resolve_automatic_start

    def space_of(c: RunConfig) -> ParameterSpace:
        return _parameter_space(c, model.Params, experiment.data.shape)[1]

    cfg, autostart = resolve_automatic_start(cfg, model, experiment, space_of)
    cfg, space, taken = _parameter_space(cfg, model.Params, experiment.data.shape)
    check_start_structure(cfg, model)  # a start from a run of another structure is refused
    _check_start_values(cfg, space)
    if taken:
        report = {**report, "start_from": cfg.provenance["start_from"]}
    reg = cfg.registration
    registrar = Registrar(
        experiment.data,
        vertical_bias=reg.vertical_bias,
        horizontal_bias=reg.horizontal_bias,
        roi=reg.roi,
        method=reg.method,
    )
    problem = Problem(cfg, experiment, model, space, registrar, similarity, structure, report, autostart)
    return global_stage(problem, autostart, space_of) if "_candidates" in autostart else problem


def _check_start_values(cfg: RunConfig, space: ParameterSpace) -> None:
    """``optimizer.start_values`` name only parameters of the model, with numbers."""
    known = set(space.names)
    for i, values in enumerate(cfg.optimizer.start_values):
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"optimizer.start_values[{i}]: unknown parameter(s) {', '.join(unknown)} of forward "
                              f"model {cfg.forward_model.name!r} (known: {', '.join(space.names)})")
        bad = [k for k, v in values.items() if not np.isfinite(float(v))]
        if bad:
            raise ConfigError(f"optimizer.start_values[{i}]: {', '.join(bad)} must be finite numbers")


def validate_optimizer(cfg: RunConfig) -> tuple[Any, Any]:
    """The optimizer class and its validated options; errors name ``optimizer.options``."""
    from ingrained_core.engine.registry import get_registry

    opt_cls = get_registry().get("optimizer", cfg.optimizer.name)
    options = validate_section(opt_cls.Options, cfg.optimizer.options, f"optimizer.options for {cfg.optimizer.name!r}")
    return opt_cls, options


def check_evaluation(problem: Problem) -> Evaluation:
    """Evaluate the start point once so configuration errors surface before the run starts."""
    ev = problem.evaluate(problem.space.values(problem.space.x0))
    if not ev.feasible:
        raise IngrainedError(f"the start point is refused by the forward model: {ev.error}")
    return ev
