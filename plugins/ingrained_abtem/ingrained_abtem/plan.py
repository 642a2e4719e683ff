"""What one multislice simulation will cost, checked before abTEM is called.

- :func:`max_scattering_angle`: the largest angle a sampling represents. abTEM band-limits
  the wave functions to 2/3 of the grid's Nyquist frequency (anti-aliasing aperture), so
  a sampling ``s`` carries angles up to θ_max = (2/3) · λ / (2 s): 167 mrad for 0.05 Å at
  200 kV, 84 mrad for 0.1 Å. A detector beyond it would record nothing there, silently;
  :func:`check_sampling` refuses it and says which sampling would do.
- :func:`plan_simulation`: grid sizes (5-smooth, multiples of the PRISM interpolation),
  slices, scan positions, PRISM plane waves and a memory estimate (GiB);
  :func:`check_memory` refuses a plan above ``memory_limit``.

Memory model (bytes; complex64 waves, float32 potential; calibrated against the peak RSS
of real runs, see docs/models/abtem.md): the potential of every frozen-phonon
configuration (n_slices · grid · 4, kept for reuse), plus

- multislice: abTEM's wave batches, about three dask chunks (128 MiB each) in flight;
- PRISM: the S-matrix of every configuration, downsampled to the anti-aliasing cutoff
  (beams · (2/3)² grid · 8, kept for reuse), plus one configuration's full-size S-matrix
  twice while it is built (beams · grid · 8 · 2) and the batches in flight; the reduction
  runs in batches of ``prism_batch`` positions (a few tens of MB);
- and 256 MiB for abTEM's first use in a process (compiled kernels, FFT plans).

A thickness series (``thickness_max``, :func:`plan_simulation` with ``series=True``)
keeps no S-matrix per thickness: PRISM propagates one full-size S-matrix period by period
(beams · grid · 8, built, propagated and downsampled in place a batch of plane waves at a
time: about 1.6 of it at the peak, calibrated on the twin) through the potential of one period at a time; multislice scans the
probe through the potential of one configuration (all periods) with abTEM's exit planes.

No abTEM import here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ingrained_stem.api import wavelength
from scipy import fft as sfft

from ingrained_core.plugin import ConfigError

#: abTEM's anti-aliasing aperture as a fraction of the grid's Nyquist frequency.
ANTIALIAS_FRACTION = 2.0 / 3.0
#: Default probe-position spacing as a fraction of the probe's Nyquist sampling λ / (4α).
SCAN_NYQUIST_FRACTION = 0.9
#: abTEM's dask chunk size (bytes) and how many chunks' worth of waves are in flight.
CHUNK_BYTES = 128 * 2**20
CHUNKS_IN_FLIGHT = 3
#: Working memory of abTEM's first use in a process (numba-compiled kernels, FFTW plans).
OVERHEAD_BYTES = 256 * 2**20
GIB = 2.0**30
#: Full-size S-matrices' worth of memory a PRISM thickness series holds at its peak: the kept
#: one (built, propagated and downsampled in place, a batch of plane waves at a time), its
#: downsampled copy for the reduction (4/9) and a batch's temporaries. Calibrated on the twin
#: at 0.05 Å (97 plane waves, 672 x 1408, 2 periods): peak RSS 1.66 GiB of the whole process
#: (3.88 GiB, about 6 copies, when abTEM built, propagated and downsampled the whole array at once).
SERIES_SMATRIX_COPIES = 1.6


def max_scattering_angle(sampling: float, energy_kev: float) -> float:
    """Largest scattering angle (mrad) a grid of ``sampling`` Å carries at ``energy_kev``."""
    return 1e3 * ANTIALIAS_FRACTION * wavelength(energy_kev) / (2.0 * sampling)


def sampling_for_angle(angle_mrad: float, energy_kev: float) -> float:
    """Coarsest sampling (Å) whose largest angle reaches ``angle_mrad``."""
    return ANTIALIAS_FRACTION * wavelength(energy_kev) / (2.0 * angle_mrad * 1e-3)


def check_sampling(sampling: float, energy_kev: float, detector_outer: float) -> float:
    """The largest angle the sampling allows; a ConfigError when it is below ``detector_outer``."""
    limit = max_scattering_angle(sampling, energy_kev)
    if detector_outer > limit:
        raise ConfigError(
            f"forward_model.options.sampling: {sampling:.4g} Å is too coarse for detector_outer = "
            f"{detector_outer:g} mrad at {energy_kev:g} keV: the largest scattering angle it allows is "
            f"{limit:.1f} mrad (2/3 of Nyquist, abTEM's anti-aliasing limit); use sampling <= "
            f"{sampling_for_angle(detector_outer, energy_kev):.4f} Å or a smaller detector_outer"
        )
    return limit


def probe_nyquist(energy_kev: float, aperture_mrad: float) -> float:
    """Probe-position spacing (Å) at which the HAADF image (band limit 2α/λ) is sampled exactly."""
    return wavelength(energy_kev) / (4.0 * aperture_mrad * 1e-3)


def smooth_multiple(n: int, factor: int) -> int:
    """The smallest 5-smooth integer >= n that is a multiple of ``factor``."""
    m = max(int(n), factor)
    while True:
        m = sfft.next_fast_len(m)
        if m % factor == 0:
            return m
        m += 1


def prism_beams(width: float, height: float, interpolation: tuple[int, int], energy_kev: float,
                aperture_mrad: float) -> int:
    """Plane waves of the PRISM expansion: lattice vectors (i·fx/W, j·fy/H) inside the aperture.

    abTEM keeps every vector where its (soft-edged) aperture is non-zero, which reaches
    about half a lattice step beyond α/λ; counted the same way here (within 2 % of
    ``len(SMatrix.wave_vectors)``, tested).
    """
    fx, fy = interpolation
    radius = aperture_mrad * 1e-3 / wavelength(energy_kev) + 0.5 * max(fx / width, fy / height)
    nx = int(radius * width / fx) + 1
    ny = int(radius * height / fy) + 1
    i = np.arange(-nx, nx + 1) * fx / width
    j = np.arange(-ny, ny + 1) * fy / height
    return int(np.count_nonzero(i[:, None] ** 2 + j[None, :] ** 2 < radius**2))


@dataclass(frozen=True)
class SimulationPlan:
    """Sizes of one simulation and its memory estimate."""

    method: str
    gpts: tuple[int, int]  # potential / wave grid (x, y)
    sampling: tuple[float, float]  # actual (x, y) spacing, Å
    scan_gpts: tuple[int, int]  # probe positions over the cell (x, y)
    slices_per_period: int
    repeats: int
    configs: int  # frozen-phonon configurations (0: static lattice)
    beams: int  # PRISM plane waves (0 for multislice)
    max_angle: float  # mrad
    memory_gib: float
    series: bool = False  # a thickness series: an image after every period up to ``repeats``

    @property
    def slices(self) -> int:
        return self.slices_per_period * self.repeats

    @property
    def scan_positions(self) -> int:
        return self.scan_gpts[0] * self.scan_gpts[1]

    def summary(self) -> dict[str, object]:
        """Plain values for metadata and reports."""
        return {
            "method": self.method,
            "gpts": list(self.gpts),
            "sampling": [round(s, 6) for s in self.sampling],
            "scan_gpts": list(self.scan_gpts),
            "slices": self.slices,
            "repeats": self.repeats,
            "frozen_phonon_configs": self.configs,
            "prism_beams": self.beams,
            "max_angle_mrad": round(self.max_angle, 2),
            "memory_estimate_gib": round(self.memory_gib, 3),
            "thickness_series": self.series,
        }


def slices_per_period(depth: float, slice_thickness: float) -> int:
    """Equal slices per cell period: ceil(depth / slice_thickness) (the twin's 9.37 Å at 2.4 Å: 4)."""
    return max(1, math.ceil(depth / slice_thickness - 1e-9))


def plan_simulation(
    *,
    width: float,
    height: float,
    depth: float,
    repeats: int,
    energy_kev: float,
    aperture_mrad: float,
    options: object,
    series: bool = False,
) -> SimulationPlan:
    """Grid, slices, scan and memory of a simulation with ``options`` (MultisliceOptions)."""
    method = options.method  # type: ignore[attr-defined]
    interp = options.prism_interpolation if method == "prism" else (1, 1)  # type: ignore[attr-defined]
    gx = smooth_multiple(math.ceil(width / options.sampling - 1e-9), interp[0])  # type: ignore[attr-defined]
    gy = smooth_multiple(math.ceil(height / options.sampling - 1e-9), interp[1])  # type: ignore[attr-defined]
    sampling = (width / gx, height / gy)
    scan_step = options.scan_sampling or SCAN_NYQUIST_FRACTION * probe_nyquist(energy_kev, aperture_mrad)  # type: ignore[attr-defined]
    scan = (max(1, math.ceil(width / scan_step - 1e-9)), max(1, math.ceil(height / scan_step - 1e-9)))
    per_period = slices_per_period(depth, options.slice_thickness)  # type: ignore[attr-defined]
    configs = int(options.phonon_configs)  # type: ignore[attr-defined]
    copies = max(1, configs)
    grid = gx * gy
    potential = per_period * repeats * grid * 4.0 * copies
    beams = 0
    if series:
        period_potential = per_period * grid * 4.0
        if method == "prism":
            beams = prism_beams(width, height, interp, energy_kev, aperture_mrad)
            memory = SERIES_SMATRIX_COPIES * beams * grid * 8.0 + period_potential + CHUNKS_IN_FLIGHT * CHUNK_BYTES
        else:
            memory = repeats * period_potential + CHUNKS_IN_FLIGHT * max(CHUNK_BYTES, 4.0 * grid * 8.0)
        memory += OVERHEAD_BYTES
        return SimulationPlan(method=method, gpts=(gx, gy), sampling=sampling, scan_gpts=scan,
                              slices_per_period=per_period, repeats=repeats, configs=configs, beams=beams,
                              max_angle=max_scattering_angle(max(sampling), energy_kev), memory_gib=memory / GIB,
                              series=True)
    if method == "prism":
        beams = prism_beams(width, height, interp, energy_kev, aperture_mrad)
        s_full = beams * grid * 8.0
        s_down = s_full * ANTIALIAS_FRACTION**2
        memory = potential + copies * s_down + 2.0 * s_full + CHUNKS_IN_FLIGHT * CHUNK_BYTES
    else:
        memory = potential + CHUNKS_IN_FLIGHT * max(CHUNK_BYTES, 4.0 * grid * 8.0)
    memory += OVERHEAD_BYTES
    return SimulationPlan(
        method=method,
        gpts=(gx, gy),
        sampling=sampling,
        scan_gpts=scan,
        slices_per_period=per_period,
        repeats=repeats,
        configs=configs,
        beams=beams,
        max_angle=max_scattering_angle(max(sampling), energy_kev),
        memory_gib=memory / GIB,
    )


def check_memory(plan: SimulationPlan, limit_gib: float) -> None:
    """A ConfigError when the plan's memory estimate exceeds ``limit_gib``."""
    if plan.memory_gib <= limit_gib:
        return
    if plan.series:
        if plan.method == "prism":
            what = (f"a thickness series of {plan.repeats} periods: one full-size S-matrix of {plan.beams} "
                    f"PRISM plane waves on a {plan.gpts[0]} x {plan.gpts[1]} grid propagated period by period")
            cheaper = ("a larger prism_interpolation, a coarser sampling (if the detector allows) or "
                       "method = \"multislice\"")
        else:
            what = (f"a thickness series of {plan.repeats} periods: {plan.slices} slices of a "
                    f"{plan.gpts[0]} x {plan.gpts[1]} grid")
            cheaper = "a smaller thickness_max, thicker slices or a coarser sampling (if the detector allows)"
        raise ConfigError(
            f"forward_model.options.thickness_max: this thickness series needs about {plan.memory_gib:.2f} GiB "
            f"({what}), above memory_limit = {limit_gib:g} GiB; raise forward_model.options.memory_limit or use {cheaper}"
        )
    if plan.method == "prism":
        what = (f"{plan.beams} PRISM plane waves on a {plan.gpts[0]} x {plan.gpts[1]} grid, "
                f"{plan.configs} frozen-phonon configuration(s)")
        cheaper = ("a larger prism_interpolation, fewer phonon_configs, a coarser sampling (if the detector "
                   "allows) or a smaller cell")
    else:
        what = (f"{plan.slices} slices of a {plan.gpts[0]} x {plan.gpts[1]} grid, "
                f"{plan.configs} frozen-phonon configuration(s)")
        cheaper = "fewer phonon_configs, a thinner specimen, thicker slices or a coarser sampling (if the detector allows)"
    raise ConfigError(
        f"forward_model.options.memory_limit: this simulation needs about {plan.memory_gib:.2f} GiB ({what}), "
        f"above the limit of {limit_gib:g} GiB; raise memory_limit or use {cheaper}"
    )
