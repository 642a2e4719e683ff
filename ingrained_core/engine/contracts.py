"""What each role's implementation must have, checked when a contribution is loaded.

:func:`contract_problems` returns a list of what is missing or wrong (empty when the
object keeps its role's contract); the registry turns a non-empty list into a ``load
error`` naming the plugin. The checks are structural (attributes and their types), never
a call of the implementation: ``ingrained_core.testing`` checks behaviour.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ingrained_core.plugin.geometry import geometry_problems
from ingrained_core.plugin.params import ModelParams

#: role -> the callables its implementation must define
METHODS: dict[str, tuple[str, ...]] = {
    "forward_model": ("simulate", "structure_at"),
    "structure_builder": ("build",),
    "similarity": ("distance",),
    "optimizer": ("minimize",),
    "image_reader": ("read", "sniff"),
}

INPUT_KINDS = ("structure", "file", "none")


def _is_model(obj: Any, base: type) -> bool:
    return isinstance(obj, type) and issubclass(obj, base)


def _pydantic_attr(obj: Any, attr: str, problems: list[str], *, required: bool) -> None:
    value = getattr(obj, attr, None)
    if value is None:
        if required:
            problems.append(f"no {attr} (a pydantic model of its options)")
        return
    if not _is_model(value, BaseModel):
        problems.append(f"{attr} is {value!r}, expected a pydantic BaseModel subclass")


def contract_problems(kind: str, obj: Any) -> list[str]:
    """What ``obj`` (a loaded target of role ``kind``) lacks to keep its role's contract."""
    problems: list[str] = []
    if not isinstance(obj, type):
        return [f"the target is a {type(obj).__name__}, expected a class"]
    for method in METHODS.get(kind, ()):
        if not callable(getattr(obj, method, None)):
            problems.append(f"no method {method}()")
    if kind == "forward_model":
        params = getattr(obj, "Params", None)
        if params is None:
            problems.append("no Params (a ModelParams subclass declaring the parameters)")
        elif not _is_model(params, ModelParams):
            problems.append(f"Params is {params!r}, expected a ModelParams subclass (ingrained_core.plugin)")
        else:
            problems += [f"Params: {p} (docs/plugin-contract.md, 'Parameter names')" for p in geometry_problems(params)]
        input_kind = getattr(obj, "input_kind", None)
        if input_kind not in INPUT_KINDS:
            problems.append(f"input_kind is {input_kind!r}, expected one of {', '.join(INPUT_KINDS)}")
        _pydantic_attr(obj, "Options", problems, required=False)
    elif kind == "optimizer":
        _pydantic_attr(obj, "Options", problems, required=True)
    elif kind == "structure_builder":
        _pydantic_attr(obj, "Config", problems, required=True)
    elif kind == "image_reader":
        ext = getattr(obj, "extensions", None)
        if not isinstance(ext, tuple) or not all(isinstance(e, str) for e in ext):
            problems.append(f"extensions is {ext!r}, expected a tuple of strings such as ('.dm3',)")
        _pydantic_attr(obj, "Options", problems, required=False)
    return problems
