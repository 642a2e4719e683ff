"""Entry-point module of the STM plugin: declares the ``stm`` forward model, imports nothing heavy."""

from __future__ import annotations

from ingrained_core.plugin import Contribution
from ingrained_core.plugin import hookimpl


@hookimpl
def ingrained_forward_models() -> list[Contribution]:
    """The Tersoff–Hamann constant-current / constant-height STM model."""
    return [
        Contribution(
            "stm",
            "ingrained_stm.model:TersoffHamannSTM",
            "Tersoff–Hamann STM image (iso-density height map) from a partial charge density "
            "(VASP PARCHG/CHGCAR, Gaussian cube, .npz)",
        )
    ]
