"""The benchmark's modes: how each case's config is changed before it runs.

Three orthogonal axes, one flag each on ``ingrained benchmark``:

- ``--structure``: where the structure comes from. ``published`` = the published structure
  file of the example (unchanged config); ``recipe`` = rebuilt from the example's recipe.
- ``--start``: where the optimizer starts. ``published`` = the paper's start point (the
  example's config); ``auto`` = an automatic start.
- ``--refine``: a refinement after the fit. ``none``; ``multislice`` = refined with the
  multislice model.

Each axis is a table :data:`MODES` ``[axis][name]`` of functions ``(case, data) -> data``
that take the case's raw config mapping (as read from its ``fuse.toml``, with the crop
fixed and the time limit set) and return the mapping to run; a mode that is not built yet
is an :func:`unavailable` entry, which stops with a clear message before any case runs.
A later module plugs its mode in with :func:`register_mode` (or by assigning into the
table), e.g. ``register_mode("start", "auto", auto_start)``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ingrained_core.plugin.errors import ConfigError

#: ``(case, config mapping) -> config mapping``; ``case`` is an apps.benchmark.Case
ModeFunction = Callable[[Any, dict[str, Any]], dict[str, Any]]

#: the axes in the order they are applied and named in a record
AXES: tuple[str, ...] = ("structure", "start", "refine")

#: the default mode of each axis: the like-for-like comparison with the paper
DEFAULTS: dict[str, str] = {"structure": "published", "start": "published", "refine": "none"}


def unchanged(case: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The case's config as the example ships it (the published choice on this axis)."""
    return data


def unavailable(axis: str, name: str, what: str) -> ModeFunction:
    """A mode this version does not implement: calling it raises a clear ConfigError."""

    def mode(case: Any, data: dict[str, Any]) -> dict[str, Any]:
        raise ConfigError(f"benchmark --{axis} {name} ({what}) is not available in this version; "
                          f"available: {', '.join(available(axis))}")

    mode.unavailable = True  # type: ignore[attr-defined]
    mode.__doc__ = f"--{axis} {name}: {what} (not available in this version)"
    return mode


MODES: dict[str, dict[str, ModeFunction]] = {
    "structure": {
        "published": unchanged,
        "recipe": unavailable("structure", "recipe", "the structure rebuilt from the example's bicrystal recipe"),
    },
    "start": {
        "published": unchanged,
        "auto": unavailable("start", "auto", "an automatic start point instead of the paper's"),
    },
    "refine": {
        "none": unchanged,
        # the config is the convolution fit's; run_case refines its best (apps/bench_refine.py)
        "multislice": unchanged,
    },
}


def register_mode(axis: str, name: str, function: ModeFunction) -> None:
    """Plug ``function`` in as mode ``name`` of ``axis`` (replacing an unavailable entry)."""
    if axis not in MODES:
        raise ValueError(f"unknown benchmark mode axis {axis!r}; axes: {', '.join(AXES)}")
    MODES[axis][name] = function


def available(axis: str) -> list[str]:
    """The modes of ``axis`` that this version implements."""
    return [n for n, f in MODES[axis].items() if not getattr(f, "unavailable", False)]


def parse_modes(axis: str, text: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"published,recipe"`` -> the listed modes of ``axis``, each checked (known and available)."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise ConfigError(f"benchmark --{axis}: no mode given; known: {', '.join(MODES[axis])}")
    for name in names:
        if name not in MODES[axis]:
            raise ConfigError(f"benchmark --{axis} {name}: unknown mode; known: {', '.join(MODES[axis])}")
        if getattr(MODES[axis][name], "unavailable", False):
            MODES[axis][name](None, {})  # raises the mode's own message
    return list(dict.fromkeys(names))


def combinations(selected: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the selected modes (one record per case and combination)."""
    combos: list[dict[str, str]] = [{}]
    for axis in AXES:
        combos = [{**c, axis: name} for c in combos for name in selected.get(axis, [DEFAULTS[axis]])]
    return combos


def mode_label(modes: dict[str, str]) -> str:
    """``structure=published,start=published,refine=none`` (the key of a record)."""
    return ",".join(f"{axis}={modes[axis]}" for axis in AXES)


def apply_modes(case: Any, data: dict[str, Any], modes: dict[str, str]) -> dict[str, Any]:
    """The case's config mapping with each axis' mode applied in :data:`AXES` order (on a copy)."""
    out = copy.deepcopy(data)
    for axis in AXES:
        out = MODES[axis][modes[axis]](case, out)
    return out


def _recipe(case: Any, data: dict[str, Any]) -> dict[str, Any]:
    """--structure recipe: the case rebuilt from its bicrystal recipe and screened (apps/bench_recipe.py)."""
    from ingrained_core.apps.bench_recipe import recipe_case

    from ingrained_core.apps.benchmark import examples_dir

    return recipe_case(data, (examples_dir() / case.config).parent)


register_mode("structure", "recipe", _recipe)


#: the paper's own bounds where an example narrows them for its published start (Cu2O: the
#: example starts at 0.2-0.4 Å; the paper's 0.05-0.4 Å holds the √3 alias at 0.157 Å, which
#: an automatic start must see and reject)
PAPER_BOUNDS: dict[str, dict[str, tuple[float, float]]] = {"cu2o": {"pixel_size": (0.05, 0.4)}}


def _auto_start(case: Any, data: dict[str, Any]) -> dict[str, Any]:
    """--start auto: every geometric start removed and set to "auto", the paper's bounds kept."""
    from ingrained_core.engine.autostart.resolve import auto_start_case

    out = auto_start_case(data)
    params = out["forward_model"]["params"]
    for name, (lo, hi) in PAPER_BOUNDS.get(case.name, {}).items():
        if isinstance(params.get(name), dict):
            params[name] = {**params[name], "min": lo, "max": hi}
    return out


register_mode("start", "auto", _auto_start)
