"""ingrained: fuse atomic-resolution image simulations into experimental images.

The core is layered (docs/architecture.md): ``plugin`` (the toolkit plugin authors import),
``builtins`` (the built-in similarities, optimizers, structure builders and image readers),
``engine`` (config, problem, registration, runs), ``apps`` (API, screening, benchmark,
frames, figures) and ``cli``. Forward models live in plugins. Heavy modules are imported
lazily so that ``import ingrained_core`` stays cheap. Module paths of the flat layout before
0.2 still import, as deprecated aliases (:data:`MOVED`).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "fuse": "ingrained_core.apps.api",
    "resume": "ingrained_core.apps.api",
    "simulate": "ingrained_core.apps.api",
    "RunConfig": "ingrained_core.engine.config",
    "load_config": "ingrained_core.engine.config",
    "get_registry": "ingrained_core.engine.registry",
    "SimulatedImage": "ingrained_core.plugin.protocols",
    "ModelParams": "ingrained_core.plugin.params",
    "param_field": "ingrained_core.plugin.params",
    "ParamSpec": "ingrained_core.plugin.params",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingrained_core' has no attribute {name!r}")


#: module paths of the flat layout (before 0.2) -> where they live now; importable for one
#: release as deprecated aliases of the new modules (the same module objects).
MOVED: dict[str, str] = {
    "ingrained_core.errors": "ingrained_core.plugin.errors",
    "ingrained_core.params": "ingrained_core.plugin.params",
    "ingrained_core.protocols": "ingrained_core.plugin.protocols",
    "ingrained_core.hookspecs": "ingrained_core.plugin.hookspecs",
    "ingrained_core.contribution": "ingrained_core.plugin.contribution",
    "ingrained_core.distortion": "ingrained_core.plugin.distortion",
    "ingrained_core.io.image": "ingrained_core.plugin.image",
    "ingrained_core.io.base": "ingrained_core.plugin.reader",
    "ingrained_core.atomic": "ingrained_core.plugin.files",
    "ingrained_core.config": "ingrained_core.engine.config",
    "ingrained_core.experiment": "ingrained_core.engine.experiment",
    "ingrained_core.preprocess": "ingrained_core.engine.preprocess",
    "ingrained_core.problem": "ingrained_core.engine.problem",
    "ingrained_core.registration": "ingrained_core.engine.registration",
    "ingrained_core.registry": "ingrained_core.engine.registry",
    "ingrained_core.start_from": "ingrained_core.engine.start_from",
    "ingrained_core.run": "ingrained_core.engine.run",
    "ingrained_core.lock": "ingrained_core.engine.lock",
    "ingrained_core.progress": "ingrained_core.engine.progress",
    "ingrained_core.memory": "ingrained_core.engine.memory",
    "ingrained_core.scale": "ingrained_core.engine.parallel",
    "ingrained_core.reporting": "ingrained_core.engine.reporting",
    "ingrained_core.io": "ingrained_core.builtins.io",
    "ingrained_core.similarity": "ingrained_core.builtins.similarity",
    "ingrained_core.optimizers": "ingrained_core.builtins.optimizers",
    "ingrained_core.structures": "ingrained_core.builtins.structures",
    "ingrained_core.api": "ingrained_core.apps.api",
    "ingrained_core.screen": "ingrained_core.apps.screen",
    "ingrained_core.benchmark": "ingrained_core.apps.benchmark",
    "ingrained_core.frames": "ingrained_core.apps.frames",
    "ingrained_core.figures": "ingrained_core.apps.figures",
}


def moved_to(name: str) -> str | None:
    """The new path of an old module path (longest matching prefix of :data:`MOVED`), or None."""
    best = max((old for old in MOVED if name == old or name.startswith(old + ".")), key=len, default=None)
    return None if best is None else MOVED[best] + name[len(best):]


class _AliasLoader(importlib.abc.Loader):
    """Loads an old module path as the new module itself, with a DeprecationWarning."""

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: Any) -> Any:
        warnings.warn(
            f"{spec.name} is deprecated: import {self.new} (see docs/plugin-authors.md, 'Migration')",
            DeprecationWarning,
            stacklevel=3,
        )
        return import_module(self.new)

    def exec_module(self, module: Any) -> None:  # the new module is already executed
        return None


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the deprecated flat-layout module paths (and only those)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if not fullname.startswith("ingrained_core."):
            return None
        new = moved_to(fullname)
        if new is None or new == fullname:
            return None
        if importlib.util.find_spec(new) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new), is_package=True)


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())
