"""One format for every invalid config section: the field, what is wrong, the closest key.

The run config, each structure builder's ``Config`` and each contribution's ``Options``
are validated by :func:`validate_section`, so a misspelt key anywhere reads the same::

    forward_model.options (haadf): invalid HaadfOptions: tilse: Extra inputs are not
    permitted (got 2) (unknown key 'forward_model.options.tilse': did you mean 'tiles'?)
"""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ingrained_core.plugin.errors import ConfigError, format_user_error

M = TypeVar("M", bound=BaseModel)


def validate_section(model: type[M], data: Any, where: str, *, prefix: str | None = None,
                     context: dict[str, Any] | None = None) -> M:
    """``data`` validated as ``model``; an instance of it is returned unchanged.

    ``where`` names the section as a config spells it (``"forward_model.options"``); an
    invalid one raises :class:`ConfigError` naming ``where``, the field and the closest key
    (spelt from ``prefix``, by default the first word of ``where`` and a dot).
    """
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(dict(data or {}), context=context)
    except ValidationError as exc:
        if prefix is None:
            prefix = where.split(" ")[0] + "."
        raise ConfigError(f"{where}: {format_user_error(exc)}" + closest_key_hint(exc, model, prefix)
                          + _known_keys(exc, model)) from None


def _known_keys(exc: ValidationError, model: type[BaseModel]) -> str:
    """``"; not a key: 'x'; it takes: a, b"`` when unknown keys sit at the section's top level."""
    unknown = [str(e["loc"][0]) for e in exc.errors() if e.get("type") == "extra_forbidden" and len(e["loc"]) == 1]
    if not unknown:
        return ""
    return f"; not a key: {', '.join(map(repr, unknown))}; it takes: {', '.join(model.model_fields) or '(none)'}"


def suggest_keys(exc: ValidationError, root: Any, prefix: str = "") -> str:
    """Closest known keys for unknown ones (extra_forbidden errors), also in nested sections.

    The error location is walked through the models from ``root``: through dict values (``forward_model.params.<name>``), list items
    (``experiment.preprocess.<i>``) and tagged unions (the step's ``op``), so that an unknown
    key anywhere gets the closest key of the model it belongs to.
    """
    hints = []
    for err in exc.errors():
        if err.get("type") != "extra_forbidden":
            continue
        loc = err["loc"]
        model = _model_at(root, list(loc[:-1]))
        if model is not None:
            close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
            if close:
                hints.append(f"unknown key {prefix + '.'.join(map(str, loc))!r}: did you mean {close[0]!r}?")
    return "; ".join(hints)


def _model_at(annotation: Any, parts: list[Any], depth: int = 0) -> Any:
    """The pydantic model that ``parts`` (a validation-error location) leads to, or None."""
    import types
    import typing

    if depth > 20:
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _model_at(args[0], parts, depth + 1)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not parts:
            return annotation
        field = annotation.model_fields.get(str(parts[0]))
        return _model_at(field.annotation, parts[1:], depth + 1) if field is not None else None
    if not parts:
        return None
    if origin in (dict, typing.Mapping) or (isinstance(origin, type) and issubclass(origin, dict)):
        return _model_at(args[1], parts[1:], depth + 1) if len(args) == 2 else None
    if origin in (list, tuple, set, frozenset) and isinstance(parts[0], int):
        return _model_at(args[0], parts[1:], depth + 1) if args else None
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        for m in members:  # a tagged union puts the tag into the location
            if isinstance(parts[0], str) and _has_tag(m, parts[0]):
                return _model_at(m, parts[1:], depth + 1)
        for m in members:
            found = _model_at(m, parts, depth + 1)
            if found is not None:
                return found
    return None


def _has_tag(annotation: Any, tag: str) -> bool:
    """Whether a model has a ``Literal`` field (a union discriminator) allowing ``tag``."""
    import typing

    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return False
    if annotation.__name__ == tag:
        return True
    return any(typing.get_origin(f.annotation) is typing.Literal and tag in typing.get_args(f.annotation)
               for f in annotation.model_fields.values())


def closest_key_hint(exc: ValidationError, model: Any, prefix: str = "") -> str:
    """``" (unknown key 'x.y': did you mean 'z'?)"`` for a validation error of ``model``, or ``""``."""
    hint = suggest_keys(exc, model, prefix)
    return f" ({hint})" if hint else ""


