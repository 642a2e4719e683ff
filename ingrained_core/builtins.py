"""The core's own contributions, registered through the same hooks as any plugin.

The core's ``pyproject.toml`` names this module as the ``builtins`` entry point of the
``ingrained`` group; nothing here imports an implementation (targets are strings).
"""

from __future__ import annotations

from .contribution import Contribution
from .hookspecs import hookimpl


@hookimpl
def ingrained_similarities() -> list[Contribution]:
    return [
        Contribution(
            "ssim",
            "ingrained_core.similarity:PaperSSIM",
            "1 - SSIM on 8-bit images with a 35-pixel window (the published runs' FOM; default)",
        ),
        Contribution(
            "ssim-float7",
            "ingrained_core.similarity:FloatSSIM7",
            "1 - SSIM on float images rescaled to [0, 1] with a 7-pixel window",
        ),
    ]


@hookimpl
def ingrained_optimizers() -> list[Contribution]:
    return [
        Contribution("powell", "ingrained_core.optimizers:Powell", "scipy Powell (the paper's default)"),
        Contribution("nelder-mead", "ingrained_core.optimizers:NelderMead", "scipy Nelder-Mead simplex"),
        Contribution("cobyla", "ingrained_core.optimizers:Cobyla", "scipy COBYLA"),
    ]


@hookimpl
def ingrained_structure_builders() -> list[Contribution]:
    return [
        Contribution(
            "file",
            "ingrained_core.structures.file:FileStructureBuilder",
            "a structure file (CIF, POSCAR/CONTCAR, XYZ with cell, anything pymatgen or ASE reads)",
        ),
    ]
