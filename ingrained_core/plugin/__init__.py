"""The plugin toolkit: the one import of a plugin author.

Everything a plugin needs is a name of this package::

    from ingrained_core.plugin import (
        hookimpl, Contribution, ModelParams, param_field, ImageGeometry, SimulatedImage,
        Distortion, ParameterError, ConfigError,
    )

The contract itself is written in docs/plugin-contract.md ("Parameter names", "Run
directory"); docs/plugin-authors.md walks through a plugin. This layer imports nothing
else of ingrained_core, and every other layer builds on it. Names are imported on first
use, so an entry-point module that imports only ``hookimpl`` and ``Contribution`` stays
cheap (no numpy, scipy or pydantic).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: public name -> module of this package that defines it
_EXPORTS: dict[str, str] = {
    # declaring contributions
    "hookimpl": "hookspecs",
    "Contribution": "contribution",
    "PLUGIN_API_VERSION": "contribution",
    # the roles
    "ForwardModel": "protocols",
    "StructureBuilder": "protocols",
    "BuildResult": "protocols",
    "Similarity": "protocols",
    "Optimizer": "protocols",
    "OptimizeOutcome": "protocols",
    "Objective": "protocols",
    "ImageReader": "reader",
    "SimulatedImage": "protocols",
    # parameters and options
    "ModelParams": "params",
    "param_field": "params",
    "field_bounds": "params",
    "nearest_odd": "params",
    "ParamSpec": "params",
    "ImageGeometry": "geometry",
    "GEOMETRY_PARAMETERS": "geometry",
    "PluginOptions": "options",
    # images
    "ExperimentImage": "image",
    "finish": "reader",
    "pixel_size_from_scales": "reader",
    "angstrom_per": "reader",
    "jsonable": "reader",
    # the distortion
    "Distortion": "distortion",
    "distortion_matrix": "distortion",
    "affine_distort": "distortion",
    "distort_points": "distortion",
    "required_extent": "distortion",
    # errors and config helpers
    "IngrainedError": "errors",
    "ConfigError": "errors",
    "InputFileError": "errors",
    "PluginError": "errors",
    "RunDirectoryError": "errors",
    "ParameterError": "errors",
    "format_user_error": "errors",
    "resolve_path": "paths",
    # crash-safe writes
    "write_json": "files",
    "write_npy": "files",
    "write_text": "files",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ingrained_core.plugin' has no attribute {name!r}")
    value = getattr(import_module(f"ingrained_core.plugin.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
