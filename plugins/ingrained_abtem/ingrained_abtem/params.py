"""Parameters and options of the multislice HAADF model.

Two pydantic models, both with units and bounds:

- :class:`MultisliceParams` extends the convolution model's :class:`HaadfParams` (same
  nine image-side parameters and the same probe optics, same names and meanings) with the
  two physical specimen quantities a run may want to fit: ``thickness`` and
  ``phonon_sigma``. Every field is a number the optimizer can move (fixed by default
  except the image-side nine), so a config can switch ``forward_model.name`` from
  ``"haadf"`` to ``"haadf-multislice"`` and keep its ``[forward_model.params]``.
- :class:`MultisliceOptions` holds the numerical settings of the simulation (potential
  sampling, slice thickness, parametrisation, frozen-phonon configurations, PRISM,
  scan sampling, memory limit, threads) plus the geometry options shared with ``haadf``;
  they come from ``[forward_model.options]`` and are never optimised.

This module does not import abTEM.
"""

from __future__ import annotations

from itertools import pairwise
from typing import ClassVar, Literal

from ingrained_stem.api import HaadfParams
from pydantic import Field, field_validator

from ingrained_core.plugin import PluginOptions, param_field


class MultisliceParams(HaadfParams):
    """:class:`HaadfParams` plus the specimen thickness and the frozen-phonon amplitude."""

    thickness: float = param_field(
        100.0,
        ge=1.0,
        le=5000.0,
        unit="Å",
        description="specimen thickness along the beam: the cell is repeated along the beam the smallest "
        "whole number of times that reaches it",
        free=False,
    )
    phonon_sigma: float = param_field(
        0.1,
        ge=0.0,
        le=0.5,
        unit="Å",
        description="frozen-phonon RMS displacement of every atom along each axis (u = sqrt(B / 8π²)); "
        "used when options.phonon_configs > 0",
        free=False,
    )


class MultisliceOptions(PluginOptions):
    """``[forward_model.options]`` of ``haadf-multislice`` (validated; unknown keys refused)."""

    # geometry, exactly as the convolution model ("haadf"); None: haadf's own default
    beam_axis: Literal["a", "b", "c"] = Field("a", description="cell axis along the beam")
    horizontal_axis: Literal["a", "b", "c"] = Field("b", description="cell axis across the screen")
    vertical: Literal["down", "up"] | None = Field(
        None, description="'up': the vertical axis grows up the screen; 'down': down the rows; None: as 'haadf'"
    )
    shear: Literal["forward", "inverse"] | None = Field(
        None, description="shear convention, M = S·H ('forward') or S·H⁻¹ ('inverse'); None: as 'haadf'"
    )
    half_height: Literal["lower", "upper"] | None = Field(
        None, description="grain of atoms exactly at half the cell height; None: as 'haadf'"
    )
    pixel_integration: bool | None = Field(
        None, description="box integration over the output pixel (False: point sampling); None: as 'haadf'"
    )
    tiles: int | None = Field(None, ge=1, description="None: tile across the width as needed; n: the image is n cells wide")
    collision_distance: float = Field(1.0, ge=0.0, description="Å; upper-grain atoms closer than this to the lower grain are removed")

    #: the options handed to the convolution model for the shared geometry
    GEOMETRY: ClassVar[tuple[str, ...]] = (
        "beam_axis", "horizontal_axis", "vertical", "shear", "half_height", "pixel_integration", "tiles",
        "collision_distance",
    )

    def geometry(self) -> dict[str, object]:
        """Keyword options for :class:`HaadfConvolution` (the ones left at None use its defaults)."""
        return {k: getattr(self, k) for k in self.GEOMETRY if getattr(self, k) is not None}

    # multislice numerics
    method: Literal["multislice", "prism"] = Field(
        "multislice", description="'multislice' (one probe per scan position) or 'prism' (S-matrix, reused for optics)"
    )
    sampling: float = Field(
        0.05, gt=0.005, le=0.5,
        description="Å, potential / wave-function sampling; the largest scattering angle it allows is "
        "(2/3) λ / (2 sampling) (167 mrad for 0.05 Å at 200 kV) and must reach detector_outer",
    )
    slice_thickness: float = Field(2.0, gt=0.05, le=50.0, description="Å, multislice slice thickness")
    parametrization: Literal["lobato", "kirkland"] = Field("lobato", description="atomic potential parametrisation")
    projection: Literal["infinite", "finite"] = Field("infinite", description="potential slice integrals (abTEM)")
    phonon_configs: int = Field(
        8, ge=0, le=512, description="frozen-phonon configurations averaged (0: static lattice, no thermal diffuse scattering)"
    )
    seed: int = Field(0, ge=0, description="seed of the frozen-phonon displacements and of a partial-occupancy draw (reproducible images)")
    partial_occupancy: Literal["refuse", "draw"] = Field(
        "refuse",
        description="a partially occupied or mixed site: 'refuse' (an error naming the site) or 'draw' (each such "
        "site becomes one whole atom drawn with its occupancies as probabilities, a vacancy with the rest, seeded "
        "by seed: one random-alloy realisation, reported in the image metadata)",
    )
    thermal: Literal["debye-waller", "phonon_sigma"] = Field(
        "debye-waller",
        description="frozen-phonon amplitudes: 'debye-waller' = per element from tabulated room-temperature "
        "Debye-Waller factors (Peng et al. 1996; elements not in the table take phonon_sigma); "
        "'phonon_sigma' = the parameter phonon_sigma for every atom",
    )
    thickness_max: float | None = Field(
        None, gt=0.0, le=5000.0,
        description="Å; a thickness series: one propagation gives the image after every cell period up to "
        "this thickness (kept per structure and optics), so any thickness <= thickness_max costs no new "
        "simulation and the thickness can be chosen by scanning the series; None: one thickness per simulation",
    )
    thickness_step: int | None = Field(
        None, ge=1, le=1000,
        description="slices between the images of a thickness series (with thickness_max); it must divide the "
        "slices per cell period; None: one image per cell period. Thinner than a period is a specimen that "
        "ends part-way through a cell along the beam",
    )
    defocus_series: list[float] | None = Field(
        None, min_length=1, max_length=64,
        description="Å; with thickness_max, the series is also reduced at each of these probe defoci (real "
        "defocus, positive = underfocus; PRISM: one more reduction per defocus and period), so the run scans "
        "(thickness, defocus) and the parameter defocus must be one of them; None: the parameter's defocus only",
    )
    prism_interpolation: int | tuple[int, int] = Field(
        1, validate_default=True, description="PRISM interpolation factor (x, y) across the (horizontal, vertical) cell; used with method 'prism'"
    )
    prism_window: float | None = Field(
        None, gt=0.5, le=1000.0,
        description="Å; choose the PRISM interpolation per axis as the whole factor nearest to the cell's "
        "extent / prism_window (at least 1), so the probe window (extent / factor) is about this wide "
        "whatever the cell; overrides prism_interpolation (the CdTe twin's (8, 16) is 4.2 Å)",
    )
    prism_batch: int = Field(
        256, ge=1, le=65536,
        description="probe positions per PRISM reduction batch (abTEM's 'auto' takes ~25x the memory and 5x the time)",
    )
    scan_sampling: float | None = Field(
        None, gt=0.0, le=1.0,
        description="Å between probe positions over the cell; None: 0.9 x the probe's Nyquist sampling λ/(4α) "
        "(the HAADF image is band-limited to 2α/λ, so it is then exact to Fourier-interpolate)",
    )
    defocus_spread_nodes: int = Field(5, ge=1, le=21, description="Gauss-Hermite nodes of a defocus spread (each one simulation)")
    memory_limit: float = Field(4.0, gt=0.0, le=4096.0, description="GiB; refuse a simulation estimated to need more")
    threads: int = Field(1, ge=1, le=256, description="FFTW and dask threads abTEM may use in this process, and the thickness series' beam batches propagated at once")
    cache_size: int = Field(4, ge=1, le=256, description="cell images kept (one per structure + optics)")

    @field_validator("defocus_series")
    @classmethod
    def _check_defoci(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        out = sorted(float(v) for v in value)
        if any(not -2000.0 <= v <= 2000.0 for v in out):
            raise ValueError(f"expected defoci in [-2000, 2000] Å (the parameter defocus's bounds), got {value!r}")
        if any(b - a < 1e-6 for a, b in pairwise(out)):
            raise ValueError(f"expected distinct defoci, got {value!r}")
        return out

    @field_validator("prism_interpolation")
    @classmethod
    def _check_interpolation(cls, value: int | tuple[int, int]) -> tuple[int, int]:
        pair = (value, value) if isinstance(value, int) else tuple(value)
        if len(pair) != 2 or any((not isinstance(f, int)) or isinstance(f, bool) or not 1 <= f <= 64 for f in pair):
            raise ValueError(f"expected an integer 1..64 or two of them, got {value!r}")
        return (int(pair[0]), int(pair[1]))
