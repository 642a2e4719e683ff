"""A square lattice of Gaussian spots: the smallest useful ``ForwardModel``.

Everything comes from the one toolkit import, :mod:`ingrained_core.plugin`: the
parameter base, the distortion as one value, the options base and the image type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ingrained_core.plugin import Distortion, ModelParams, PluginOptions, SimulatedImage, param_field


class LatticeParams(ModelParams):
    """Parameters of the toy model, each with bounds, unit and description.

    ``pixel_size``, ``crop_height`` and ``crop_width`` are names of the contract
    (docs/plugin-contract.md, "Parameter names"), declared here with their units. A new model
    may subclass ``ImageGeometry`` instead, which declares them all (and the shear and
    stretch); this one keeps its own order because the order of the fields is the order of
    the optimizer's coordinates, and runs made with it must stay reproducible.
    """

    pixel_size: float = param_field(0.2, ge=0.05, le=0.5, unit="Å", description="pixel size")
    spacing: float = param_field(3.0, ge=1.0, le=8.0, unit="Å", description="lattice spacing", free=False)
    sigma: float = param_field(0.5, ge=0.1, le=2.0, unit="Å", description="spot standard deviation")
    rotation: float = param_field(0.0, ge=-45.0, le=45.0, unit="deg", description="lattice rotation, CCW")
    crop_height: int = param_field(61, ge=15, le=1001, unit="px", kind="odd_int", description="rows (odd)")
    crop_width: int = param_field(61, ge=15, le=1001, unit="px", kind="odd_int", description="columns (odd)")


class LatticeOptions(PluginOptions):
    """``[forward_model.options]`` of ``gaussian-lattice``."""

    background: float = Field(0.0, ge=0.0, description="constant level added to every pixel (spot peaks are 1)")


class GaussianLattice:
    """Renders Gaussian spots on a rotated square lattice; takes no input file or structure."""

    name = "gaussian-lattice"
    Params = LatticeParams
    Options = LatticeOptions
    input_kind = "none"

    def __init__(self, options: LatticeOptions | None = None, **kwargs: Any) -> None:
        self.options = LatticeOptions.parse(options, "forward_model.options for 'gaussian-lattice'", **kwargs)

    def simulate(self, params: LatticeParams | dict[str, Any]) -> SimulatedImage:
        params = LatticeParams.coerce(params)  # a mapping is validated: ParameterError outside the bounds
        h, w = params.crop_height, params.crop_width
        y, x = np.mgrid[0:h, 0:w].astype(float)
        x = (x - (w - 1) / 2) * params.pixel_size
        y = (y - (h - 1) / 2) * params.pixel_size
        inv = np.linalg.inv(Distortion.from_params(params).matrix)
        u = inv[0, 0] * x + inv[0, 1] * y
        v = inv[1, 0] * x + inv[1, 1] * y
        # Distance to the nearest lattice point along each lattice axis.
        du = u - params.spacing * np.round(u / params.spacing)
        dv = v - params.spacing * np.round(v / params.spacing)
        image = np.exp(-(du**2 + dv**2) / (2 * params.sigma**2)) + self.options.background
        return SimulatedImage(array=image, pixel_size=params.pixel_size, metadata={"crop_height": h, "crop_width": w})

    def structure_at(self, params: LatticeParams) -> None:
        return None
