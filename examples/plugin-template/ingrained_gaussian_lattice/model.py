"""A square lattice of Gaussian spots: the smallest useful ``ForwardModel``."""

from __future__ import annotations

import numpy as np

from ingrained_core.plugin import distortion_matrix
from ingrained_core.plugin import ModelParams, param_field
from ingrained_core.plugin import SimulatedImage


class LatticeParams(ModelParams):
    """Parameters of the toy model, each with bounds, unit and description."""

    pixel_size: float = param_field(0.2, ge=0.05, le=0.5, unit="Å", description="pixel size")
    spacing: float = param_field(3.0, ge=1.0, le=8.0, unit="Å", description="lattice spacing", free=False)
    sigma: float = param_field(0.5, ge=0.1, le=2.0, unit="Å", description="spot standard deviation")
    rotation: float = param_field(0.0, ge=-45.0, le=45.0, unit="deg", description="lattice rotation, CCW")
    crop_height: int = param_field(61, ge=15, le=1001, unit="px", kind="odd_int", description="rows (odd)")
    crop_width: int = param_field(61, ge=15, le=1001, unit="px", kind="odd_int", description="columns (odd)")


class GaussianLattice:
    """Renders Gaussian spots on a rotated square lattice; takes no input file or structure."""

    name = "gaussian-lattice"
    Params = LatticeParams
    input_kind = "none"

    def __init__(self, **options: object) -> None:
        self.options = options

    def simulate(self, params: LatticeParams) -> SimulatedImage:
        h, w = params.crop_height, params.crop_width
        y, x = np.mgrid[0:h, 0:w].astype(float)
        x = (x - (w - 1) / 2) * params.pixel_size
        y = (y - (h - 1) / 2) * params.pixel_size
        inv = np.linalg.inv(distortion_matrix(rotation=params.rotation))
        u = inv[0, 0] * x + inv[0, 1] * y
        v = inv[1, 0] * x + inv[1, 1] * y
        # Distance to the nearest lattice point along each lattice axis.
        du = u - params.spacing * np.round(u / params.spacing)
        dv = v - params.spacing * np.round(v / params.spacing)
        image = np.exp(-(du**2 + dv**2) / (2 * params.sigma**2))
        return SimulatedImage(array=image, pixel_size=params.pixel_size, metadata={"crop_height": h, "crop_width": w})

    def structure_at(self, params: LatticeParams) -> None:
        return None
