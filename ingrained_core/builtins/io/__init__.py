"""The built-in experimental image readers, one module per format (see docs/inputs.md).

Each is registered through the ``ingrained_image_readers`` hook like any plugin's reader.
The dispatcher that chooses a reader for a file (:func:`read_image`) lives in the engine
(:mod:`ingrained_core.engine.reading`), because it uses the registry; the names it had here
stay importable for one release, with a DeprecationWarning.
"""

from __future__ import annotations

import warnings
from importlib import import_module
from typing import Any

#: names that moved to ingrained_core.engine.reading (deprecated here)
_MOVED = ("HEAD_BYTES", "available_readers", "choose_reader", "read_image")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(f"ingrained_core.builtins.io.{name} is deprecated: import it from ingrained_core.engine.reading "
                      "(see docs/plugin-authors.md, 'Migration')", DeprecationWarning, stacklevel=2)
        value = getattr(import_module("ingrained_core.engine.reading"), name)
        globals()[name] = value  # warned once
        return value
    if name == "ExperimentImage":
        return getattr(import_module("ingrained_core.plugin.image"), name)
    raise AttributeError(f"module 'ingrained_core.builtins.io' has no attribute {name!r}")
