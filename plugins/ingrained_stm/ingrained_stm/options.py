"""``StmOptions``: the ``[forward_model.options]`` of ``stm`` (validated once, by the core).

How the density is read (spin channel, cube units), which surface is imaged and how
(constant current or height, the crossing rule, the constant-height signal), and the
numerics (interpolation order, surface-map cache). Unknown keys are refused with the
closest known one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ingrained_core.plugin import PluginOptions


class StmOptions(PluginOptions):
    """Options of the Tersoff–Hamann STM model."""

    spin: Literal["total", "up", "down", "magnetization"] = Field(
        "total", description="spin channel of a spin-polarised density")
    mode: Literal["constant-current", "constant-height"] = Field(
        "constant-current", description="tip follows an iso-density surface, or scans a plane at z_above")
    surface: Literal["top", "bottom"] = Field("top", description="slab surface the tip looks at")
    crossing: Literal["interpolated", "band"] = Field(
        "interpolated", description="iso-surface height: interpolated first crossing, or the r_val ± r_tol band")
    signal: Literal["log", "linear"] = Field("log", description="constant-height image: log or linear density")
    cube_units: Literal["bohr", "angstrom"] = Field("bohr", description="length unit of .cube files")
    z_surface: float | None = Field(None, description="Å, top-atom height for densities without atoms")
    order: int = Field(1, ge=0, le=5, description="spline order of the one image interpolation")
    cache_size: int = Field(32, ge=0, description="surface maps kept (keyed on the z window and iso-density)")
