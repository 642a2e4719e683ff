"""The ingrained hook specifications: every way a plugin can contribute.

A plugin is a module (or object) named by an entry point in the ``ingrained`` group. It
implements any of the hooks below with ``@ingrained_core.plugin.hookimpl``. Each hook returns a
list of :class:`~ingrained_core.plugin.contribution.Contribution`; a contribution names its
implementation as a ``"module:attribute"`` string, so nothing heavy is imported until the
contribution is used, and lists the optional packages it needs (checked without import).

Every hook here is documented in ``docs/plugin-authors.md`` (a test checks that).
"""

from __future__ import annotations

import pluggy

from ingrained_core.plugin.contribution import Contribution

PROJECT = "ingrained"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ingrained_forward_models() -> list[Contribution]:
    """Forward models: classes satisfying ``ForwardModel`` (simulate an image from parameters)."""


@hookspec
def ingrained_structure_builders() -> list[Contribution]:
    """Structure builders: classes satisfying ``StructureBuilder`` (config -> pymatgen Structure)."""


@hookspec
def ingrained_similarities() -> list[Contribution]:
    """Similarity measures: classes satisfying ``Similarity`` (distance >= 0 between images)."""


@hookspec
def ingrained_optimizers() -> list[Contribution]:
    """Optimizers: classes satisfying ``Optimizer`` (minimise over the unit box)."""


@hookspec
def ingrained_image_readers() -> list[Contribution]:
    """Image readers: callables ``read(path, **options) -> ExperimentImage`` for file formats."""


#: Hook name -> contribution kind, in the order the CLI lists them.
HOOK_KINDS: dict[str, str] = {
    "ingrained_forward_models": "forward_model",
    "ingrained_structure_builders": "structure_builder",
    "ingrained_similarities": "similarity",
    "ingrained_optimizers": "optimizer",
    "ingrained_image_readers": "image_reader",
}
