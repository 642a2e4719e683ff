"""``HaadfMultislice``: the HAADF STEM image by multislice (abTEM), with the convolution model's contract.

Same structure handling, parameter names, projection convention, crop fitting and
image-side behaviour as ``haadf`` (:class:`ingrained_stem.model.HaadfConvolution`, which
this model holds for its geometry): a config switches ``forward_model.name`` between the
two and nothing else changes.

How it stays affordable (docs/models/abtem.md):

1. The multislice part depends only on the structure at the current ``interface_width``,
   the ``thickness`` (through the whole number of cell repeats), the frozen-phonon
   amplitude and the optics (energy, aperture, defocus, Cs, defocus spread, detector).
   It is computed once per such combination, as the periodic image of one cell on a
   probe-Nyquist scan grid, and kept (``cache_size`` entries, least recently used out).
2. Every evaluation renders the crop from that cell image with the image-side parameters
   (pixel size, source size, shear, stretch, crop): a Fourier filter and one cubic
   resampling, tens of milliseconds (:mod:`.render`).
3. Within an optics change, abTEM's expensive objects are reused: the built potential
   (multislice) or the built S-matrix (PRISM, where defocus, Cs and detector enter only
   at the reduction).

So a free ``interface_width`` or ``thickness`` costs one multislice simulation per new
value; the image-side parameters cost nothing more. abTEM is imported on first simulation.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np
from ingrained_stem.api import HaadfConvolution, HaadfOptions, HaadfParams, fit_crop

from ingrained_core.plugin import ConfigError, ParameterError, SimulatedImage

from .engine import CellSimulator
from .params import MultisliceOptions, MultisliceParams
from .plan import (
    SimulationPlan,
    check_memory,
    check_sampling,
    plan_simulation,
    slices_per_period,
)
from .render import PeriodicImage, render
from .specimen import (
    REPEAT_TOLERANCE,
    check_ordered,
    draw_sites,
    repeats_for,
    specimen_at,
)
from .thermal import DEBYE_WALLER_SOURCE, element_sigmas


class HaadfMultislice:
    """Multislice HAADF STEM forward model (abTEM), parameters and geometry as ``haadf``.

    ``structure``: a pymatgen Structure with an orthogonal cell (abTEM needs an orthogonal,
    periodic cell; a non-orthogonal one is refused with its angles). Options: see
    :class:`MultisliceOptions` (``[forward_model.options]``).
    """

    name: ClassVar[str] = "haadf-multislice"
    Params: ClassVar[type[MultisliceParams]] = MultisliceParams
    Options: ClassVar[type[MultisliceOptions]] = MultisliceOptions
    input_kind: ClassVar[str] = "structure"

    def __init__(self, structure: Any, options: MultisliceOptions | None = None, **kwargs: Any) -> None:
        self.options = MultisliceOptions.parse(options, f"forward_model.options for {self.name!r}", **kwargs)
        _check_cell(structure)
        opts = self.options
        if opts.defocus_series is not None and opts.thickness_max is None:
            raise ConfigError("forward_model.options.defocus_series: a defocus series is reduced along a thickness "
                              "series; set forward_model.options.thickness_max (Å) too, or remove defocus_series")
        self.convolution = HaadfConvolution(structure, **opts.geometry())
        self.projection = self.convolution.projection
        #: equal slices per cell period, and the slices between the images of a thickness series
        self.slices_per_period = per_period = slices_per_period(self.projection.depth, opts.slice_thickness)
        self.series_step = opts.thickness_step or per_period
        if opts.thickness_step is not None and (opts.thickness_max is None or per_period % opts.thickness_step):
            divisors = ", ".join(str(d) for d in range(1, per_period + 1) if per_period % d == 0)
            raise ConfigError(
                f"forward_model.options.thickness_step: {opts.thickness_step} slices "
                + ("needs a thickness series: set forward_model.options.thickness_max (Å) too"
                   if opts.thickness_max is None else
                   f"must divide the {per_period} slices of a cell period ({self.projection.depth:.4f} Å at "
                   f"slice_thickness {opts.slice_thickness:g} Å): use one of {divisors}")
            )
        if opts.prism_window is not None:  # the interpolation that gives this probe window on this cell
            self.options = opts = opts.model_copy(update={"prism_interpolation": prism_factors(
                self.projection.width, self.projection.height, opts.prism_window)})
        #: "up" or "down", as the convolution model (its default unless the option is given)
        self.vertical = opts.vertical or _haadf_default("vertical")
        #: "forward" (M = S·H) or "inverse" (M = S·H⁻¹), as the convolution model
        self.shear = getattr(self.convolution, "shear", None) or opts.shear or _haadf_default("shear") or "forward"
        self.pixel_integration = bool(getattr(self.convolution, "pixel_integration", True))
        #: the atomic number of every site (0: a drawn vacancy) and, when drawn, the draw's summary
        self.occupancy: dict[str, Any] | None = None
        if opts.partial_occupancy == "draw":
            self._numbers, self.occupancy = draw_sites(self.projection, opts.seed)
        else:
            self._numbers = check_ordered(self.projection)
        self._simulator = CellSimulator(opts)
        self._cells: OrderedDict[tuple[Any, ...], tuple[PeriodicImage, SimulationPlan, dict[str, Any]]] = OrderedDict()
        #: counters: cell images computed, cache hits, seconds spent in abTEM
        self.stats: dict[str, float] = {"computed": 0, "hits": 0, "seconds": 0.0}

    # ------------------------------------------------------------ helpers
    def sigmas(self, params: Any) -> tuple[dict[str, float], dict[str, str]]:
        """Frozen-phonon sigma (Å) per element and its source (table or phonon_sigma); see :mod:`.thermal`."""
        from ase.data import chemical_symbols

        params = MultisliceParams.coerce(params)
        symbols = [chemical_symbols[int(z)] for z in np.unique(self._numbers) if z > 0]
        return element_sigmas(symbols, self.options.thermal, params.phonon_sigma)

    @property
    def series_repeats(self) -> int | None:
        """Cell periods of the thickness series (None: no series, one thickness per simulation)."""
        tmax = self.options.thickness_max
        return None if tmax is None else repeats_for(tmax, self.projection.depth)

    def structure_key(self, params: MultisliceParams) -> tuple[Any, ...]:
        """What the specimen depends on: interface width, cell repeats (the series' when one is kept), phonons."""
        repeats = self.series_repeats or repeats_for(params.thickness, self.projection.depth)
        phonons = tuple(sorted(self.sigmas(params)[0].items())) if self.options.phonon_configs > 0 else ()
        return (float(params.interface_width), repeats, phonons)

    def cell_key(self, params: MultisliceParams) -> tuple[Any, ...]:
        """What the cell image depends on: the structure key plus the optics (a defocus series: all its defoci)."""
        defoci = self.options.defocus_series
        return (
            *self.structure_key(params),
            float(params.energy),
            float(params.aperture),
            tuple(defoci) if defoci is not None else float(params.defocus),
            float(params.cs3),
            float(params.cs5),
            float(params.defocus_spread),
            float(params.detector_inner),
            float(params.detector_outer),
        )

    def distortion(self, params: Any) -> np.ndarray:
        """The distortion M on (x, row-down) offsets, built as the convolution model builds it."""
        return self.convolution.distortion_matrix(MultisliceParams.coerce(params))

    def plan(self, params: Any) -> SimulationPlan:
        """Grid, scan, slices and memory estimate of the cell simulation (or the thickness series) for ``params``."""
        params = MultisliceParams.coerce(params)
        proj = self.projection
        series = self.series_repeats
        return plan_simulation(
            width=proj.width,
            height=proj.height + params.interface_width,
            depth=proj.depth,
            repeats=series or repeats_for(params.thickness, proj.depth),
            energy_kev=params.energy,
            aperture_mrad=params.aperture,
            options=self.options,
            series=series is not None,
        )

    def _series_thickness(self, index: int) -> float:
        """Thickness (Å) of image ``index`` (1-based) of the series: index x step slices."""
        return index * self.series_step * self.projection.depth / self.slices_per_period

    def _series_steps(self) -> int:
        """Images in the series: every ``series_step`` slices through ``series_repeats`` periods."""
        return (self.series_repeats or 0) * self.slices_per_period // self.series_step

    def _series_index(self, thickness: float) -> int:
        """The series image (1-based) of ``thickness``: the thinnest that reaches it (as whole periods do)."""
        return max(1, math.ceil(thickness / self._series_thickness(1) * (1.0 - REPEAT_TOLERANCE)))

    def thickness_series(self, params: Any) -> list[tuple[float, PeriodicImage]]:
        """(thickness Å, cell image) after every ``series_step`` slices (default every cell period) up
        to ``thickness_max`` (one propagation, cached)."""
        params = MultisliceParams.coerce(params)
        if self.series_repeats is None:
            raise ConfigError("haadf-multislice: a thickness series needs forward_model.options.thickness_max (Å)")
        out = []
        for k in range(1, self._series_steps() + 1):
            t = self._series_thickness(k)
            cell, _plan, _info = self._cell(params.model_copy(update={"thickness": t}))
            out.append((round(t, 4), cell))
        return out

    def series_defoci(self) -> list[float]:
        """The defoci (Å) the thickness series is also reduced at (``defocus_series``); [] without one."""
        return list(self.options.defocus_series or [])

    def _defocus_index(self, params: MultisliceParams) -> int:
        """Where ``params.defocus`` sits in the defocus series (0 without one); a defocus not in it is refused."""
        defoci = self.options.defocus_series
        if defoci is None:
            return 0
        for index, value in enumerate(defoci):
            if abs(value - params.defocus) <= 1e-6:
                return index
        listed = ", ".join(f"{d:g}" for d in defoci)
        raise ParameterError(
            f"defocus: {params.defocus:g} Å is not in the defocus series (forward_model.options.defocus_series = "
            f"[{listed}] Å); use one of them, or remove defocus_series to simulate any defocus"
        )

    def thicknesses(self) -> list[float]:
        """The thicknesses (Å) of the series: every ``series_step`` slices (default every cell period)
        up to ``thickness_max``."""
        if self.series_repeats is None:
            return []
        return [round(self._series_thickness(k), 4) for k in range(1, self._series_steps() + 1)]

    def cell_image(self, params: Any) -> PeriodicImage:
        """The multislice HAADF image over one (grown) cell, computed or from the cache."""
        return self._cell(MultisliceParams.coerce(params))[0]

    def _cell(self, params: MultisliceParams) -> tuple[PeriodicImage, SimulationPlan, dict[str, Any]]:
        key = self.cell_key(params)
        series = self.series_repeats
        index = 0  # the entry of a series: defocus index * images + image - 1
        if series is not None:
            step = self._series_index(params.thickness)
            steps = self._series_steps()
            if step > steps:
                raise ParameterError(
                    f"thickness: {params.thickness:g} Å is beyond the thickness series (forward_model.options."
                    f"thickness_max = {self.options.thickness_max:g} Å, {series} periods of "
                    f"{self.projection.depth:.4f} Å); raise thickness_max or lower the thickness's max"
                )
            index = self._defocus_index(params) * steps + step - 1
        hit = self._cells.get(key)
        if hit is not None:
            self._cells.move_to_end(key)
            self.stats["hits"] += 1
            return hit[index] if series is not None else hit
        if not params.detector_inner < params.detector_outer:
            raise ParameterError(
                f"detector_outer: must exceed detector_inner ({params.detector_inner} mrad), "
                f"got {params.detector_outer} mrad"
            )
        plan = self.plan(params)
        check_sampling(self.options.sampling, params.energy, params.detector_outer)
        check_memory(plan, self.options.memory_limit)
        thickness = series * self.projection.depth if series is not None else params.thickness
        specimen = specimen_at(self.projection, self._numbers, params.interface_width, thickness)
        sigmas, sources = self.sigmas(params)
        configs = self.options.phonon_configs
        t0 = time.perf_counter()
        if series is not None:
            arrays = self._simulator.series(specimen, plan, params, sigmas if configs > 0 else None,
                                            defoci=self.options.defocus_series, step=self.series_step)
        else:
            arrays = self._simulator.image(specimen, plan, params, self.structure_key(params),
                                           sigmas if configs > 0 else None)[None]
        seconds = time.perf_counter() - t0
        self.stats["computed"] += 1
        self.stats["seconds"] += seconds
        from ingrained_stem.api import wavelength

        band = min(2.0 * params.aperture * 1e-3 / wavelength(params.energy),
                   0.5 * plan.scan_gpts[0] / specimen.width, 0.5 * plan.scan_gpts[1] / specimen.height)
        phonons = {"configs": configs, "seconds": round(seconds, 3),
                   "seconds_per_config": round(seconds / max(1, configs), 3)}
        if configs > 0:
            phonons.update(sigmas={k: round(v, 4) for k, v in sigmas.items()}, sources=sources,
                           table=DEBYE_WALLER_SOURCE if self.options.thermal == "debye-waller" else None)
        entries = []
        defoci = self.options.defocus_series or [float(params.defocus)]
        steps = self._series_steps() if series is not None else 1
        for k, array in enumerate(arrays):
            thick = self._series_thickness(k % steps + 1) if series is not None else specimen.thickness
            periods = repeats_for(thick, specimen.depth)
            cell = PeriodicImage(array=np.ascontiguousarray(array), width=specimen.width, height=specimen.height,
                                 band=band)
            defocus = defoci[k // steps] if series is not None else float(params.defocus)
            info = {**plan.summary(), "repeats": periods, "thickness": round(thick, 4),
                    "defocus": defocus,
                    "atoms_removed": specimen.removed, "phonons": phonons}
            if self.occupancy is not None:
                info["occupancy"] = self.occupancy
            entries.append((cell, plan, info))
        self._cells[key] = entries if series is not None else entries[0]
        while len(self._cells) > self.options.cache_size:
            self._cells.popitem(last=False)
        return entries[index] if series is not None else entries[0]

    # ------------------------------------------------------------ protocol
    def simulate(self, params: Any) -> SimulatedImage:
        """The HAADF image for ``params`` (array shape = crop as actually used)."""
        params = MultisliceParams.coerce(params)
        proj = self.projection
        fit = fit_crop(
            params.crop_height,
            params.crop_width,
            pixel_size=params.pixel_size,
            content_height=proj.height + params.interface_width,
            content_width=None if self.options.tiles is None else self.options.tiles * proj.width,
            stretch_x=params.stretch_x,
            stretch_y=params.stretch_y,
        )
        cell, _plan, info = self._cell(params)
        image = render(
            cell,
            (fit.height, fit.width),
            pixel_size=params.pixel_size,
            source_size=params.source_size,
            matrix=self.distortion(params),
            pixel_integration=self.pixel_integration,
        )
        down = self.vertical == "down"
        if down:  # the published runs' orientation: the c-up image turned over
            image = image[::-1]
        metadata = {
            "crop_height": fit.height,
            "crop_width": fit.width,
            "notices": list(fit.notices),
            "atoms_removed": info["atoms_removed"],
            "units": "fraction of the probe scattered onto the ADF detector",
            "vertical": self.vertical,
            "shear": self.shear,
            "pixel_integration": self.pixel_integration,
            "multislice": dict(info),
        }
        return SimulatedImage(array=np.ascontiguousarray(image, dtype=np.float64), pixel_size=params.pixel_size,
                              metadata=metadata)

    def structure_at(self, params: Any) -> Any:
        """The structure as simulated (one cell period): upper grain shifted, collisions removed."""
        params = MultisliceParams.coerce(params)
        return self.projection.structure_at(params.interface_width)

    def column_positions(self, params: Any) -> dict[str, np.ndarray]:
        """Where each column lands in the crop (as :meth:`HaadfConvolution.column_positions`)."""
        params = MultisliceParams.coerce(params)
        return self.convolution.column_positions(HaadfParams(**params.model_dump(include=set(HaadfParams.model_fields))))

    def interface_rows(self, params: Any) -> list[float]:
        """Rows of the crop where a grain boundary lies (as :meth:`HaadfConvolution.interface_rows`)."""
        params = MultisliceParams.coerce(params)
        return self.convolution.interface_rows(HaadfParams(**params.model_dump(include=set(HaadfParams.model_fields))))

    def clear_cache(self) -> None:
        """Forget the cell images and abTEM's kept potential / S-matrix."""
        self._cells.clear()
        self._simulator.clear()


def prism_factors(width: float, height: float, window: float) -> tuple[int, int]:
    """PRISM interpolation (fx, fy) whose probe window (extent / factor) is nearest to ``window`` Å.

    PRISM computes the probe inside a window of the cell's extent divided by the factor; a
    window narrower than the probe's reach aliases its tails back onto it (on the Ni/M3B2
    cell, 17.4 x 52.1 Å, the twin's (8, 16) left a 2.2 x 3.3 Å window and striped the Ni
    grain). Check value: the twin's 32.48 x 69.12 Å cell at 4.2 Å gives (8, 16), Ni/M3B2's
    17.41 x 52.07 Å gives (4, 12).
    """
    return (max(1, round(width / window)), max(1, round(height / window)))


def _haadf_default(option: str) -> Any:
    """The convolution model's default for a geometry option (None if it has no such option)."""
    field = HaadfOptions.model_fields.get(option)
    return None if field is None else field.default


def _check_cell(structure: Any) -> None:
    """abTEM needs an orthogonal periodic cell: refuse anything else, naming the angles."""
    lattice = getattr(structure, "lattice", None)
    if lattice is None or not hasattr(structure, "frac_coords"):
        raise ConfigError(
            f"structure: expected a periodic pymatgen Structure, got {type(structure).__name__}; multislice (abTEM) "
            "needs a periodic cell"
        )
    angles = lattice.angles
    if any(abs(angle - 90.0) > 1e-3 for angle in angles):
        raise ConfigError(
            "structure: haadf-multislice needs an orthogonal cell (abTEM simulates orthogonal periodic cells), got "
            "angles " + ", ".join(f"{x:.4f}°" for x in angles) + "; build an orthogonal supercell first "
            "(e.g. the 'bicrystal' or 'oriented' builder, or ase/abtem.orthogonalize_cell)"
        )
