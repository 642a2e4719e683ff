"""Forward-model parameters: declared bounds and units, and the run-level specification.

A forward model's ``Params`` is a :class:`ModelParams` subclass whose fields are made with
:func:`param_field`, so every parameter carries its bounds (``ge``/``le``), unit and
description. A run config narrows or fixes them with :class:`ParamSpec`; the
:class:`ParameterSpace` then maps the free ones to the unit box the optimizer sees.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingrained_core.plugin.errors import ParameterError

ParamKind = Literal["float", "odd_int"]


def param_field(
    default: float,
    *,
    ge: float,
    le: float,
    unit: str,
    description: str,
    free: bool = True,
    kind: ParamKind = "float",
) -> Any:
    """A parameter field with hard bounds, a unit, and whether it is optimised by default."""
    if not ge <= default <= le:
        raise ValueError(f"default {default} outside [{ge}, {le}]")
    return Field(
        default,
        ge=ge,
        le=le,
        description=description,
        json_schema_extra={"unit": unit, "free": free, "kind": kind},
    )


def nearest_odd(value: float) -> int:
    """The odd integer nearest to ``value`` (ties go up), as crop sizes must be odd."""
    return int(2 * math.floor((float(value) - 1.0) / 2.0 + 0.5) + 1)


class ModelParams(BaseModel):
    """Base class of forward-model parameter sets; invalid values name the field."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _round_odd(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for name, info in cls.model_fields.items():
                extra = info.json_schema_extra or {}
                if extra.get("kind") == "odd_int" and name in data and data[name] is not None:
                    try:
                        data[name] = nearest_odd(float(data[name]))
                    except (TypeError, ValueError):
                        pass  # left for pydantic to report with the field name
        return data

    @classmethod
    def coerce(cls, params: Any) -> ModelParams:
        """``params`` as this class: an instance as is, a mapping or another parameter set
        (e.g. a base model's) re-validated; invalid values raise :class:`ParameterError`."""
        if isinstance(params, cls):
            return params
        try:
            if isinstance(params, dict):
                return cls(**params)
            return cls(**params.model_dump())
        except ValidationError as exc:
            raise ParameterError(str(exc)) from exc
        except AttributeError:
            raise ParameterError(f"expected {cls.__name__} (or a mapping of its fields), "
                                 f"got {type(params).__name__}") from None

    @classmethod
    def describe(cls) -> dict[str, dict[str, Any]]:
        """Name -> {default, min, max, unit, description, free, kind} for every parameter."""
        out: dict[str, dict[str, Any]] = {}
        for name, info in cls.model_fields.items():
            lo, hi = field_bounds(cls, name)
            extra = info.json_schema_extra or {}
            out[name] = {
                "default": info.default,
                "min": lo,
                "max": hi,
                "unit": extra.get("unit", ""),
                "description": info.description or "",
                "free": bool(extra.get("free", True)),
                "kind": extra.get("kind", "float"),
            }
        return out


def field_bounds(params_cls: type[BaseModel], name: str) -> tuple[float, float]:
    """The hard (ge, le) bounds declared on a parameter field."""
    info = params_cls.model_fields[name]
    lo, hi = -math.inf, math.inf
    for meta in info.metadata:
        if hasattr(meta, "ge") and meta.ge is not None:
            lo = float(meta.ge)
        if hasattr(meta, "le") and meta.le is not None:
            hi = float(meta.le)
        if hasattr(meta, "gt") and meta.gt is not None:
            lo = float(meta.gt)
        if hasattr(meta, "lt") and meta.lt is not None:
            hi = float(meta.lt)
    return lo, hi


class ParamSpec(BaseModel):
    """How a run treats one parameter: start value, narrowed bounds, or fixed.

    In a config a bare number means "fixed at this value"; a table may give
    ``start``, ``min``, ``max`` and ``fixed``. ``start = "auto"`` (or ``auto = true``
    beside a numeric start to fall back to) asks the engine to estimate the start (the
    geometric parameters, docs/autostart.md); a bare ``"auto"`` is ``{ start = "auto" }``.
    """

    model_config = ConfigDict(extra="forbid")

    start: float | None = None
    min: float | None = None
    max: float | None = None
    fixed: bool | None = None
    auto: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _scalar_means_fixed(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"start": float(data), "fixed": True}
        if data == "auto":
            return {"auto": True}
        if isinstance(data, dict) and data.get("start") == "auto":
            return {**data, "start": None, "auto": True}
        return data

    @model_validator(mode="after")
    def _check_order(self) -> ParamSpec:
        for label, v in (("start", self.start), ("min", self.min), ("max", self.max)):
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{label} must be a finite number, got {v}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class FreeParameter(BaseModel):
    """One optimised parameter and the box it lives in."""

    name: str
    start: float
    min: float
    max: float
    kind: ParamKind = "float"

    def to_unit(self, value: float) -> float:
        span = self.max - self.min
        return 0.5 if span == 0 else (value - self.min) / span

    def from_unit(self, u: float) -> float:
        return self.min + float(u) * (self.max - self.min)


class ParameterSpace:
    """The free parameters of one run, scaled to [0, 1] each, and the fixed ones.

    Built from a model's ``Params`` class and the run's specs; every spec is validated
    against the model's own bounds, and errors name the parameter.
    """

    def __init__(self, params_cls: type[ModelParams], specs: dict[str, ParamSpec] | None = None):
        self.params_cls = params_cls
        specs = dict(specs or {})
        described = params_cls.describe()
        unknown = sorted(set(specs) - set(described))
        if unknown:
            raise ParameterError(
                f"unknown parameter(s) {', '.join(unknown)} for {params_cls.__name__}; "
                f"known: {', '.join(described)}"
            )
        self.free: list[FreeParameter] = []
        self.fixed: dict[str, float] = {}
        for name, d in described.items():
            spec = specs.get(name, ParamSpec())
            lo = d["min"] if spec.min is None else spec.min
            hi = d["max"] if spec.max is None else spec.max
            start = d["default"] if spec.start is None else spec.start
            if spec.auto and spec.start is None:  # not resolved (no image): the default, inside the bounds
                start = min(max(start, lo), hi)
            if lo < d["min"] or hi > d["max"]:
                raise ParameterError(
                    f"parameter {name}: bounds [{lo}, {hi}] exceed the model's allowed "
                    f"range [{d['min']}, {d['max']}] ({d['unit']})"
                )
            if lo > hi:
                raise ParameterError(f"parameter {name}: min ({lo}) is greater than max ({hi})")
            if not lo <= start <= hi:
                raise ParameterError(
                    f"parameter {name}: start {start} is outside its bounds [{lo}, {hi}] ({d['unit']})"
                )
            is_free = d["free"] if spec.fixed is None else not spec.fixed
            if is_free and hi > lo:
                self.free.append(FreeParameter(name=name, start=start, min=lo, max=hi, kind=d["kind"]))
            else:
                self.fixed[name] = start
        # Validate the start point as a whole (cross-field rules of the model, if any).
        self.to_params(self.x0)

    @property
    def names(self) -> list[str]:
        """Every parameter name, in the model's order."""
        return list(self.params_cls.model_fields)

    @property
    def free_names(self) -> list[str]:
        return [p.name for p in self.free]

    @property
    def x0(self) -> np.ndarray:
        """The start point in unit coordinates."""
        return np.array([p.to_unit(p.start) for p in self.free], dtype=float)

    def values(self, x: np.ndarray) -> dict[str, float]:
        """All parameter values for unit coordinates ``x`` (clipped into the box)."""
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
        vals: dict[str, float] = dict(self.fixed)
        for p, u in zip(self.free, x):
            vals[p.name] = p.from_unit(u)
        return {name: vals[name] for name in self.names}

    def to_params(self, x: np.ndarray) -> ModelParams:
        """A validated ``Params`` instance for unit coordinates ``x``."""
        try:
            return self.params_cls(**self.values(x))
        except ValidationError as exc:  # pragma: no cover - bounds are pre-checked
            raise ParameterError(str(exc)) from exc

    def to_unit(self, values: dict[str, float]) -> np.ndarray:
        """Unit coordinates of the free parameters in ``values``."""
        return np.array([p.to_unit(float(values[p.name])) for p in self.free], dtype=float)
