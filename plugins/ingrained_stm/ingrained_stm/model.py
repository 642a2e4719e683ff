"""The Tersoff–Hamann STM forward model (the ``stm`` contribution) and the z_above post-step.

Tersoff and Hamann (Phys. Rev. B 31, 805, 1985): at small bias the tunnelling current is
proportional to the local density of states at the Fermi level at the tip position, i.e.
to the partial charge density ρ of the states in the bias window (a VASP PARCHG). In
constant-current mode the tip follows an iso-density surface ρ = r_val, and the image is
that surface's height seen from above; in constant-height mode the image is ρ (or log ρ)
on a plane. The density is read and the surface prepared once per model; height maps are
kept in a small LRU cache keyed on (z_below, z_above, r_val, r_tol) only.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ingrained_core.plugin import InputFileError, ParameterError, SimulatedImage, field_bounds

from .density import Density, read_density
from .heightmap import iso_height
from .imaging import render
from .options import StmOptions
from .params import StmParams
from .surface import SurfaceGrid, prepare_surface

MODES = ("constant-current", "constant-height")
SIGNALS = ("log", "linear")


class TersoffHamannSTM:
    """Simulated STM images from a partial charge density.

    ``source``: a path (VASP PARCHG/CHGCAR, ``.cube``, ``.npz``; see
    :mod:`ingrained_stm.density`) or a :class:`~ingrained_stm.density.Density`.

    Options: ``spin`` ("total", "up", "down", "magnetization"); ``mode``
    ("constant-current" or "constant-height"); ``surface`` ("top" or "bottom" of the slab);
    ``crossing`` ("interpolated" or "band", see :mod:`ingrained_stm.heightmap`);
    ``signal`` for constant height ("log" or "linear" ρ); ``cube_units`` ("bohr" or
    "angstrom"); ``z_surface`` (Å, top-atom height for densities without atoms);
    ``order`` (spline order of the one image interpolation, default 1); ``cache_size``.
    """

    name: ClassVar[str] = "stm"
    Params: ClassVar[type[StmParams]] = StmParams
    Options: ClassVar[type[StmOptions]] = StmOptions
    input_kind: ClassVar[str] = "file"

    def __init__(self, source: str | Path | Density, options: StmOptions | None = None, **kwargs: Any) -> None:
        opts = StmOptions.parse(options, f"forward_model.options for {self.name!r}", **kwargs)
        self.options = opts
        spin, mode, surface, crossing, signal = opts.spin, opts.mode, opts.surface, opts.crossing, opts.signal
        cube_units, z_surface, order, cache_size = opts.cube_units, opts.z_surface, opts.order, opts.cache_size
        if isinstance(source, Density):
            density = source
        elif isinstance(source, (str, Path)):
            density = read_density(source, spin=spin, cube_units=cube_units)
        else:
            raise InputFileError(f"stm input must be a file path or a Density, got {type(source).__name__}")
        self.density = density
        self.mode = mode
        self.crossing = crossing
        self.signal = signal
        self.spin = spin
        self.order = int(order)
        self.surface: SurfaceGrid = prepare_surface(density, surface=surface, z_surface=z_surface)
        self._cache: OrderedDict[tuple[float, ...], tuple[np.ndarray, dict[str, int]]] = OrderedDict()
        self._cache_size = int(cache_size)
        self._structure: Any | None = None

    # -- the surface map -------------------------------------------------------------
    def check_r_val(self, r_val: float) -> None:
        """Raise :class:`ParameterError` unless r_val lies inside the density's range."""
        lo, hi = self.surface.rho_min, self.surface.rho_max
        if not lo <= r_val <= hi:
            raise ParameterError(
                f"r_val={r_val:g} lies outside the density range [{lo:.4g}, {hi:.4g}] of "
                f"{self.surface.source} (units: ρ per Å³ as read); choose r_val inside it, e.g. with "
                "ingrained_stm.start.suggest_r_val"
            )

    def surface_map(self, params: StmParams) -> tuple[np.ndarray, dict[str, int]]:
        """The (Na, Nb) periodic map before imaging: height (Å) or ρ / log ρ on the plane."""
        if self.mode == "constant-height":
            key: tuple[float, ...] = ("h", params.z_above)  # type: ignore[assignment]
        else:
            self.check_r_val(params.r_val)
            tol = params.r_tol if self.crossing == "band" else 0.0
            key = (params.z_below, params.z_above, params.r_val, tol)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        if self.mode == "constant-height":
            plane = self.surface.plane(params.z_above)
            if self.signal == "log":
                positive = plane[plane > 0]
                tiny = positive.min() if positive.size else 1e-300
                plane = np.log(np.maximum(plane, tiny))
            result = (plane, {"floor": 0, "ceiling": 0})
        else:
            stack, zs = self.surface.window(params.z_below, params.z_above)
            result = iso_height(stack, zs, params.r_val, params.r_tol, self.crossing)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    # -- the protocol ------------------------------------------------------------------
    def simulate(self, params: StmParams | dict[str, Any]) -> SimulatedImage:
        """The simulated STM image for ``params`` (crop sizes and notices in metadata)."""
        params = StmParams.coerce(params)
        smap, counts = self.surface_map(params)
        img = render(
            smap, self.surface.lattice, self.surface.top_xy,
            crop_height=params.crop_height, crop_width=params.crop_width, pixel_size=params.pixel_size,
            shear_x=params.shear_x, shear_y=params.shear_y, stretch_x=params.stretch_x,
            stretch_y=params.stretch_y, rotation=params.rotation, sigma=params.sigma,
            tip_radius=params.tip_radius, order=self.order,
        )
        n_col = smap.size
        notices = []
        if counts["floor"]:
            notices.append(
                f"{counts['floor']} of {n_col} columns have no iso-density crossing in the window "
                f"and sit at its floor (-z_below)"
            )
        if counts["ceiling"]:
            notices.append(
                f"{counts['ceiling']} of {n_col} columns exceed r_val at the window top and sit at its ceiling (z_above)"
            )
        if float(np.ptp(img)) <= 1e-12 * max(1.0, float(np.abs(img).max())):
            notices.append("the simulated image is flat")
        metadata = {
            "crop_height": params.crop_height,
            "crop_width": params.crop_width,
            "mode": self.mode,
            "crossing": self.crossing if self.mode == "constant-current" else None,
            "values": "height above the top atom (Å)" if self.mode == "constant-current" else f"{self.signal} ρ",
            "z_top": self.surface.z_top,
            "density_range": [self.surface.rho_min, self.surface.rho_max],
            "floor_columns": counts["floor"],
            "ceiling_columns": counts["ceiling"],
            "notices": notices,
        }
        return SimulatedImage(array=img, pixel_size=params.pixel_size, metadata=metadata)

    def structure_at(self, params: StmParams | None = None) -> Any | None:
        """The slab structure of the input (pymatgen ``Structure``), or None if it has no atoms."""
        if self._structure is None:
            self._structure = self.density.structure()
        return self._structure


def relax_z_above(model: TersoffHamannSTM, params: StmParams) -> StmParams:
    """The smallest z_above giving the same image as ``params`` (the paper's post-step).

    Only the window top depends on z_above, and it moves in steps of the layer spacing, so
    the candidate values are the layer heights inside the window; they are tried from the
    top down and the lowest one whose height map equals the original is kept (the reported
    value is then the height of that layer above the top atom, rounded up by 1e-6 Å).
    In constant-height mode z_above is the plane height itself and is returned unchanged.
    """
    if model.mode == "constant-height":
        return params
    ref, _ = model.surface_map(params)
    grid = model.surface
    dz = grid.dz
    k_lo = math.ceil((grid.z_top - params.z_below) / dz - 1e-9)
    k_hi = math.floor((grid.z_top + params.z_above) / dz + 1e-9)
    z_min = field_bounds(type(params), "z_above")[0]
    best = params.z_above
    for k in range(k_hi - 1, k_lo, -1):
        z_try = k * dz - grid.z_top + 1e-6
        if z_try < z_min:
            break
        trial = params.model_copy(update={"z_above": z_try})
        try:
            smap, _ = model.surface_map(trial)
        except ParameterError:
            break
        if smap.shape != ref.shape or not np.allclose(smap, ref, rtol=0.0, atol=1e-9):
            break
        best = z_try
    values = params.model_dump()
    values["z_above"] = min(best, params.z_above)
    return type(params)(**values)
