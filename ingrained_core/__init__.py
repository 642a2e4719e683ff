"""ingrained: fuse atomic-resolution image simulations into experimental images.

The core holds the protocols, the plugin registry, registration, the figure of merit,
optimizers, run orchestration, I/O and the CLI. Forward models live in plugins.
Heavy modules are imported lazily so that ``import ingrained_core`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "fuse": "ingrained_core.api",
    "resume": "ingrained_core.api",
    "simulate": "ingrained_core.api",
    "RunConfig": "ingrained_core.config",
    "load_config": "ingrained_core.config",
    "get_registry": "ingrained_core.registry",
    "SimulatedImage": "ingrained_core.protocols",
    "ModelParams": "ingrained_core.params",
    "param_field": "ingrained_core.params",
    "ParamSpec": "ingrained_core.params",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingrained_core' has no attribute {name!r}")
