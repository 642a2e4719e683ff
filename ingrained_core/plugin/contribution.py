"""What a plugin contributes: a named, lazily imported implementation of one kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import Any

#: The version of the plugin contract (hooks, roles, ``Params``/``Options``, ``SimulatedImage``).
#: A contribution declares the version it was written against (:attr:`Contribution.api_version`);
#: the registry refuses one whose major version differs (status "incompatible"). The minor
#: version grows with backward-compatible additions.
PLUGIN_API_VERSION = "1.0"


def api_major(version: str) -> int | None:
    """The major number of an ``"X.Y"`` API version, or None when it is not of that form."""
    head = str(version).strip().split(".")[0]
    return int(head) if head.isdigit() else None


@dataclass(frozen=True)
class Contribution:
    """One named implementation a plugin offers.

    ``target`` is ``"package.module:Attribute"``; it is imported only by :meth:`load`.
    ``requires`` lists importable module names the implementation needs beyond the
    plugin's own hard dependencies; they are checked with ``find_spec`` (no import).
    ``api_version`` is the :data:`PLUGIN_API_VERSION` the implementation was written
    against (the default: the version of the installed core).
    """

    name: str
    target: str
    description: str = ""
    requires: tuple[str, ...] = field(default_factory=tuple)
    install_hint: str = ""
    api_version: str = PLUGIN_API_VERSION

    def missing_requirements(self) -> list[str]:
        """The required modules that are not installed (checked without importing them)."""
        missing = []
        for mod in self.requires:
            try:
                if find_spec(mod) is None:
                    missing.append(mod)
            except (ImportError, ValueError):
                missing.append(mod)
        return missing

    def load(self) -> Any:
        """Import and return the implementation named by ``target``."""
        module_name, _, attr = self.target.partition(":")
        obj: Any = import_module(module_name)
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj
