"""A conformance kit for plugin authors, as scikit-learn's ``check_estimator`` is for estimators.

:func:`check_forward_model` runs every check the core relies on against a forward model
and raises one :class:`ConformanceError` listing each check that failed::

    from ingrained_core.testing import check_forward_model

    def test_my_model_keeps_the_contract():
        check_forward_model(MyModel, params={"crop_height": 41, "crop_width": 51})

The checks (docs/plugin-contract.md, "Parameter names"):

- **contract**: ``name``, ``input_kind``, a ``ModelParams`` ``Params``, ``simulate`` and
  ``structure_at``; ``Options`` (if any) a pydantic model;
- **output**: ``simulate`` returns a ``SimulatedImage`` holding a 2-D float64, finite array
  whose shape is the crop asked for (or the crop the metadata says was used);
- **pixel size**: ``SimulatedImage.pixel_size`` equals the ``pixel_size`` parameter;
- **determinism**: the same parameters give the same image bit for bit — twice in a row,
  after other parameters were simulated in between, and (when given a class) from a
  second instance;
- **domain**: parameter sets outside the model's domain raise ``ParameterError``, no
  other exception (``invalid``; by default values beyond each of a few declared bounds);
- **structure_at**: returns None or a structure (something with a ``lattice``), and the
  same one twice; a model with ``input_kind = "structure"`` returns a structure.

This module imports only the toolkit (:mod:`ingrained_core.plugin`) and numpy.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ingrained_core.plugin.errors import ParameterError
from ingrained_core.plugin.params import ModelParams, field_bounds
from ingrained_core.plugin.protocols import SimulatedImage

__all__ = ["ConformanceError", "check_forward_model"]


class ConformanceError(AssertionError):
    """A forward model fails one or more conformance checks (each one listed)."""

    def __init__(self, model: str, failures: list[tuple[str, str]]) -> None:
        self.model = model
        self.failures = failures
        lines = "\n".join(f"  - {check}: {why}" for check, why in failures)
        super().__init__(f"{model} fails {len(failures)} conformance check(s):\n{lines}")

    @property
    def checks(self) -> list[str]:
        """The names of the failed checks (``"determinism"``, ``"pixel size"`` ...)."""
        return [check for check, _ in self.failures]


def _label(model: Any) -> str:
    cls = model if isinstance(model, type) else type(model)
    return f"forward model {getattr(cls, 'name', cls.__name__)!r} ({cls.__module__}.{cls.__qualname__})"


def _contract(cls: type) -> list[str]:
    from pydantic import BaseModel

    problems = []
    for attr in ("name", "input_kind", "Params"):
        if not hasattr(cls, attr):
            problems.append(f"no {attr}")
    params = getattr(cls, "Params", None)
    if params is not None and not (isinstance(params, type) and issubclass(params, ModelParams)):
        problems.append(f"Params is {params!r}, expected a ModelParams subclass")
    if getattr(cls, "input_kind", None) not in (None, "structure", "file", "none"):
        problems.append(f"input_kind is {cls.input_kind!r}, expected 'structure', 'file' or 'none'")
    options = getattr(cls, "Options", None)
    if options is not None and not (isinstance(options, type) and issubclass(options, BaseModel)):
        problems.append(f"Options is {options!r}, expected a pydantic model")
    for method in ("simulate", "structure_at"):
        if not callable(getattr(cls, method, None)):
            problems.append(f"no method {method}()")
    return problems


def _build(cls: type, input: Any, options: Mapping[str, Any]) -> Any:
    kind = getattr(cls, "input_kind", "none")
    if kind == "none":
        return cls(**options)
    if input is None:
        raise TypeError(f"{_label(cls)} takes a {kind} as input: pass check_forward_model(..., input=...)")
    return cls(input, **options)


def _default_invalid(params_cls: type[ModelParams], base: dict[str, Any]) -> list[dict[str, Any]]:
    """Values just beyond a declared bound, for up to three parameters (pixel size and crop first)."""
    names = [n for n in ("pixel_size", "crop_height") if n in params_cls.model_fields]
    names += [n for n in params_cls.model_fields if n not in names]
    out = []
    for name in names:
        lo, hi = field_bounds(params_cls, name)
        if math.isfinite(hi):
            out.append({name: hi + max(1.0, abs(hi))})
        elif math.isfinite(lo):
            out.append({name: lo - max(1.0, abs(lo))})
        if len(out) == 3:
            break
    return out


def _other_values(params_cls: type[ModelParams], base: dict[str, Any]) -> dict[str, Any]:
    """A nearby, different valid parameter set (to detect state carried between calls)."""
    described = params_cls.describe()
    other = dict(base)
    for name, d in described.items():
        if d["kind"] != "float" or not d["free"]:
            continue
        lo, hi = d["min"], d["max"]
        v = float(base[name])
        span = (hi - lo) if math.isfinite(hi - lo) else max(1.0, abs(v))
        step = 0.05 * span
        other[name] = v + step if v + step <= hi else v - step
        break
    return other


def _image_checks(sim: Any, params: ModelParams, failures: list[tuple[str, str]]) -> bool:
    if not isinstance(sim, SimulatedImage):
        failures.append(("output", f"simulate returned {type(sim).__name__}, expected a SimulatedImage"))
        return False
    a = sim.array
    if not isinstance(a, np.ndarray) or a.ndim != 2 or min(a.shape) < 1:
        failures.append(("output", f"the image must be a non-empty 2-D array, got {getattr(a, 'shape', a)!r}"))
        return False
    if a.dtype != np.float64:
        failures.append(("dtype", f"the image is {a.dtype}, expected float64"))
    if not np.all(np.isfinite(a)):
        failures.append(("finite", f"the image holds {int(np.count_nonzero(~np.isfinite(a)))} NaN/inf value(s)"))
    md = sim.metadata if isinstance(sim.metadata, dict) else {}
    for axis, key in ((0, "crop_height"), (1, "crop_width")):
        asked = getattr(params, key, None)
        if asked is None:
            continue
        used = md.get(key, asked)
        if a.shape[axis] != used:
            failures.append(("shape", f"the image has {a.shape[axis]} {'rows' if axis == 0 else 'columns'}, "
                                      f"but {key} = {asked} was asked" +
                                      (f" and the metadata says {used} was used" if key in md else "")))
        elif used > asked:
            failures.append(("shape", f"metadata {key} = {used} exceeds the {asked} asked for"))
    pixel = getattr(params, "pixel_size", None)
    if pixel is not None and sim.pixel_size != float(pixel):
        failures.append(("pixel size", f"SimulatedImage.pixel_size is {sim.pixel_size!r}, "
                                       f"but the pixel_size parameter is {pixel!r}"))
    return True


def _same_bits(a: SimulatedImage, b: SimulatedImage) -> bool:
    x, y = np.asarray(a.array), np.asarray(b.array)
    return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes() and a.pixel_size == b.pixel_size


def check_forward_model(
    model: Any,
    params: Mapping[str, Any] | ModelParams | None = None,
    *,
    input: Any = None,
    options: Mapping[str, Any] | None = None,
    invalid: Sequence[Mapping[str, Any]] | None = None,
    factory: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Check a forward model (a class, or an instance) against the contract the core relies on.

    ``params``: the parameter values to simulate (a mapping of some fields, the rest at
    their defaults, or a ``Params`` instance); keep them small (a crop of a few tens of
    pixels) so that the check is fast. ``input`` and ``options`` build the model from a
    class (its structure or input file and its options). ``invalid``: parameter values
    (merged onto ``params``) outside the model's domain, each of which ``simulate`` must
    refuse with ``ParameterError`` when given them as a mapping; by default values beyond
    each of a few declared bounds. ``factory``: builds a second, fresh instance for the
    cross-instance determinism check when ``model`` is an instance.

    Returns a summary (the checks run, the image shape); raises :class:`ConformanceError`
    listing every failed check.
    """
    label = _label(model)
    cls = model if isinstance(model, type) else type(model)
    problems = _contract(cls)
    if problems:
        raise ConformanceError(label, [("contract", p) for p in problems])
    options = dict(options or {})
    instance = _build(cls, input, options) if isinstance(model, type) else model
    params_cls: type[ModelParams] = cls.Params
    if isinstance(params, ModelParams):
        p = params_cls.coerce(params)
    else:
        p = params_cls(**dict(params or {}))
    base = p.model_dump()
    failures: list[tuple[str, str]] = []
    checks = ["contract", "output", "dtype", "finite", "shape", "pixel size", "determinism", "domain", "structure_at"]

    try:
        first = instance.simulate(p)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        raise ConformanceError(label, [("output", f"simulate raised {type(exc).__name__}: {exc}")]) from exc
    if not _image_checks(first, p, failures):
        raise ConformanceError(label, failures)

    # determinism: again, after another parameter set, and from a fresh instance
    again = instance.simulate(p)
    if not _same_bits(first, again):
        failures.append(("determinism", "two calls with the same parameters gave different images"))
    other = params_cls(**_other_values(params_cls, base))
    try:
        instance.simulate(other)
    except ParameterError:
        pass
    after = instance.simulate(p)
    if not _same_bits(first, after):
        failures.append(("determinism", "the image changed after other parameters were simulated (state carried "
                                        "between calls)"))
    fresh_factory = factory or ((lambda: _build(cls, input, options)) if isinstance(model, type) else None)
    if fresh_factory is not None:
        fresh = fresh_factory().simulate(p)
        if not _same_bits(first, fresh):
            failures.append(("determinism", "a second instance built alike gave a different image"))

    # the domain
    for bad in (invalid if invalid is not None else _default_invalid(params_cls, base)):
        values = {**base, **dict(bad)}
        shown = ", ".join(f"{k}={v!r}" for k, v in dict(bad).items())
        try:
            instance.simulate(values)
        except ParameterError:
            continue
        except Exception as exc:  # noqa: BLE001
            failures.append(("domain", f"{shown}: raised {type(exc).__name__} ({exc}), expected ParameterError"))
            continue
        failures.append(("domain", f"{shown}: simulated without a ParameterError (outside the model's domain)"))

    # structure_at
    try:
        s1 = instance.structure_at(p)
        s2 = instance.structure_at(p)
    except Exception as exc:  # noqa: BLE001
        failures.append(("structure_at", f"raised {type(exc).__name__}: {exc}"))
    else:
        if s1 is None:
            if getattr(cls, "input_kind", None) == "structure":
                failures.append(("structure_at", "returned None for a model that simulates a structure"))
        elif not hasattr(s1, "lattice"):
            failures.append(("structure_at", f"returned {type(s1).__name__}, expected None or a pymatgen Structure"))
        elif s2 is None or len(s1) != len(s2) or str(s1) != str(s2):
            failures.append(("structure_at", "two calls with the same parameters gave different structures"))

    if failures:
        raise ConformanceError(label, failures)
    return {"model": label, "checks": checks, "shape": tuple(first.array.shape), "pixel_size": first.pixel_size}
