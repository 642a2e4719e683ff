"""``HaadfOptions``: the ``[forward_model.options]`` of ``haadf`` (validated once, by the core).

Geometry (which cell axes lie along the beam and across the screen, the vertical sense),
tiling and the options that reproduce the published pipeline (docs/models/stem.md,
"Reproducing the published pipeline"). Unknown keys are refused with the closest known one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt

from ingrained_core.plugin import PluginOptions

from .projection import COLLISION_DISTANCE


class HaadfOptions(PluginOptions):
    """Options of the convolution HAADF model (and the geometry the multislice model shares)."""

    beam_axis: Literal["a", "b", "c"] = Field("a", description="cell axis along the beam")
    horizontal_axis: Literal["a", "b", "c"] = Field("b", description="cell axis across the screen (columns grow with it)")
    tiles: StrictInt | None = Field(
        None, ge=1, description="None: tile across the width as far as the crop needs; n: the image is n cells wide"
    )
    collision_distance: float = Field(
        COLLISION_DISTANCE, ge=0.0, description="Å; upper-grain atoms closer than this to the lower grain are removed"
    )
    vertical: Literal["down", "up"] = Field(
        "up", description="'up': the third axis grows up the screen (the published orientation); 'down': the mirror image"
    )
    shear: Literal["forward", "inverse"] = Field(
        "inverse", description="'inverse': M = S·H⁻¹ (the published convention); 'forward': M = S·H"
    )
    half_height: Literal["lower", "upper"] = Field(
        "lower", description="grain of atoms exactly at half the cell height ('upper': as the original's z >= c/2)"
    )
    placement: Literal["exact", "incostem"] = Field(
        "exact", description="'incostem': every atom moved to the corner of its incostem pixel (a numerical artefact)"
    )
    pixel_integration: StrictBool = Field(
        True, description="box integration over the pixel (False: point sampling at pixel centres, as incostem)"
    )
