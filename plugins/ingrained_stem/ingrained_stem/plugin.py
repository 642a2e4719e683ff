"""Entry point of the ``ingrained-stem`` plugin: declares the "haadf" forward model.

Cheap to import on purpose (no numpy, scipy or pymatgen): the model is named by a string
and imported only when a run uses it.
"""

from __future__ import annotations

from ingrained_core.plugin import Contribution
from ingrained_core.plugin import hookimpl


@hookimpl
def ingrained_forward_models() -> list[Contribution]:
    """The incoherent HAADF STEM convolution model."""
    return [
        Contribution(
            "haadf",
            "ingrained_stem.model:HaadfConvolution",
            "Incoherent HAADF STEM (Kirkland-style convolution of ADF cross-sections with the probe)",
        )
    ]
