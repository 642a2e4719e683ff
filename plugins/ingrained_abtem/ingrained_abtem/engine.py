"""The abTEM side: the HAADF image of a specimen over one cell, computed eagerly.

abTEM (PyPI ``abtem``, 1.0.x) is imported here, on first use only (:func:`load_abtem`
raises a PluginError with the install command when it is missing). Every call runs
inside :func:`abtem_settings`: abTEM on the CPU, its FFTW planner cheap
(``FFTW_ESTIMATE``: grids change with the interface width), no progress bars, and dask's
synchronous scheduler (or a local thread pool with ``threads`` > 1), so the computation
stays in the calling process even inside a dask-distributed worker, and abTEM's lazy
graphs are computed right here. The settings are scoped to the call (context managers),
so they apply inside each worker process of a parallel run and never leak into the
caller's own abTEM configuration.

:class:`CellSimulator` keeps the expensive objects of one specimen for reuse when only
the optics change: the built potential (multislice) or the built S-matrix (PRISM: the
probe's aberrations enter as a CTF at reduction, and the detector only at reduction).

Conventions: the probe defocus is the real one, positive = underfocus (abTEM's
``defocus`` = −C10; passed as C10 = −defocus); Cs in mm becomes C30 = cs3 · 10⁷ Å,
C50 = cs5 · 10⁷ Å. A defocus spread Δ (1/e half-width) is a Gauss–Hermite sum of
``defocus_spread_nodes`` images at Δf + Δ·tᵢ with weights wᵢ/√π. Images are in units of
the fraction of the probe intensity on the detector (abTEM normalises the probe to 1).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ingrained_core.plugin import PluginError

from .plan import CHUNK_BYTES, SimulationPlan
from .specimen import Specimen

INSTALL_HINT = "pip install abtem  (or: pip install -e plugins/ingrained_abtem)"


def load_abtem() -> Any:
    """Import abTEM (1.0.x) or raise a PluginError that says how to install it."""
    try:
        import abtem
    except ImportError as exc:
        raise PluginError(
            f"forward model 'haadf-multislice' needs abTEM, which is not installed ({exc}); install with: {INSTALL_HINT}"
        ) from None
    major = str(getattr(abtem, "__version__", "0")).split(".")[0]
    if major != "1":
        raise PluginError(
            f"forward model 'haadf-multislice' needs abTEM 1.x, found {getattr(abtem, '__version__', '?')}; "
            "install with: pip install 'abtem>=1.0,<2'"
        )
    return abtem


@contextlib.contextmanager
def abtem_settings(abtem: Any, threads: int = 1) -> Iterator[None]:
    """abTEM on the CPU, quiet, eager in this process (see the module docstring)."""
    import dask

    settings = {
        "device": "cpu",
        "fftw.threads": int(threads),
        "fftw.planning_effort": "FFTW_ESTIMATE",
        "diagnostics.progress_bar": False,
        "diagnostics.task_progress": False,
        "warnings.overspecified-grid": False,
    }
    scheduler: dict[str, Any] = {"scheduler": "synchronous"} if threads <= 1 else {"scheduler": "threads", "num_workers": threads}
    with abtem.config.set(settings), dask.config.set(scheduler):
        yield


def aberrations(defocus: float, cs3_mm: float, cs5_mm: float) -> dict[str, float]:
    """abTEM aberration coefficients (Å) from the model's defocus (underfocus > 0) and Cs (mm)."""
    return {"C10": -float(defocus), "C30": float(cs3_mm) * 1e7, "C50": float(cs5_mm) * 1e7}


def defocus_nodes(defocus: float, spread: float, nodes: int) -> list[tuple[float, float]]:
    """(defocus, weight) pairs of a Gaussian defocus distribution (1/e half-width ``spread``)."""
    if spread <= 0 or nodes <= 1:
        return [(float(defocus), 1.0)]
    t, w = np.polynomial.hermite.hermgauss(nodes)
    return [(float(defocus + spread * ti), float(wi / math.sqrt(math.pi))) for ti, wi in zip(t, w)]


def _as_image(result: Any) -> np.ndarray:
    """The (x, y) intensity array of an abTEM measurement, computed and ensemble-averaged."""
    if hasattr(result, "compute") and getattr(result, "is_lazy", True):
        result = result.compute()
    array = np.asarray(result.array, dtype=np.float64)
    while array.ndim > 2:  # any ensemble axis left (frozen phonons, when not averaged)
        array = array.mean(axis=0)
    return array


class CellSimulator:
    """The HAADF image of one specimen on the scan grid of its cell, for any optics.

    Holds the built potential (multislice) or the built S-matrix (PRISM) of the last
    (specimen, energy, aperture) it saw, so a change of defocus, Cs or detector reuses it.
    """

    def __init__(self, options: Any) -> None:
        self.options = options
        self._abtem: Any = None
        self._key: tuple[Any, ...] | None = None
        self._built: Any = None
        #: Bytes of full-size plane waves per batch of the in-place S-matrix steps (~one dask chunk).
        self.batch_bytes = CHUNK_BYTES

    @property
    def abtem(self) -> Any:
        if self._abtem is None:
            self._abtem = load_abtem()
        return self._abtem

    def _potential(self, specimen: Specimen, plan: SimulationPlan, sigmas: dict[str, float] | None,
                   exit_planes: int | None = None) -> Any:
        abtem = self.abtem
        opts = self.options
        atoms: Any = specimen.to_atoms()
        if opts.phonon_configs > 0:
            atoms = abtem.FrozenPhonons(atoms, num_configs=opts.phonon_configs, sigmas=dict(sigmas or {}), seed=opts.seed)
        return self._potential_of(atoms, plan, specimen.depth, exit_planes)

    def _potential_of(self, atoms: Any, plan: SimulationPlan, depth: float, exit_planes: int | None = None) -> Any:
        opts = self.options
        return self.abtem.Potential(
            atoms,
            gpts=plan.gpts,
            slice_thickness=depth / plan.slices_per_period,
            parametrization=opts.parametrization,
            projection=opts.projection,
            exit_planes=exit_planes,
        )

    def _configurations(self, specimen: Specimen, sigmas: dict[str, float] | None) -> list[Any]:
        """The specimen's atoms (all periods), once per frozen-phonon configuration (static: once)."""
        atoms = specimen.to_atoms()
        if self.options.phonon_configs <= 0:
            return [atoms]
        phonons = self.abtem.FrozenPhonons(atoms, num_configs=self.options.phonon_configs,
                                           sigmas=dict(sigmas or {}), seed=self.options.seed)
        return list(phonons)

    def _periods(self, atoms: Any, specimen: Specimen) -> list[Any]:
        """One configuration cut into its cell periods along the beam, each as a one-period cell."""
        from ase import Atoms

        z = np.mod(atoms.positions[:, 2], specimen.thickness)
        index = np.minimum((z // specimen.depth).astype(int), specimen.repeats - 1)
        out = []
        for k in range(specimen.repeats):
            keep = index == k
            positions = atoms.positions[keep].copy()
            positions[:, 2] = z[keep] - k * specimen.depth
            out.append(Atoms(numbers=atoms.numbers[keep], positions=positions,
                             cell=[specimen.width, specimen.height, specimen.depth], pbc=True))
        return out

    def _beam_batch(self, gpts: tuple[int, ...]) -> int:
        """Plane waves per batch when an S-matrix on ``gpts`` is built, propagated or downsampled in place."""
        per_beam = int(np.prod(gpts)) * np.dtype(np.complex64).itemsize
        return max(1, int(self.batch_bytes // max(1, per_beam)))

    def _batches(self, smatrix: Any, metadata: dict[str, Any]) -> Iterator[tuple[slice, Any]]:
        """(rows, Waves) over ``smatrix``'s plane waves, a batch at a time: views of its array
        with its waves' energy, extent and axes, and ``metadata``."""
        waves = smatrix.waves
        batch = self._beam_batch(smatrix.array.shape[1:])
        for i in range(0, smatrix.array.shape[0], batch):
            rows = slice(i, i + batch)
            yield rows, self.abtem.Waves(smatrix.array[rows], energy=waves.energy, extent=waves.extent,
                                         metadata=metadata, ensemble_axes_metadata=waves[rows].ensemble_axes_metadata)

    def _built_in_place(self, potential: Any, params: Any) -> Any:
        """The full-size S-matrix through ``potential``, built in beam batches into ONE array.

        abTEM's lazy build runs the multislice in batches of plane waves; storing it chunk by
        chunk (dask ``store``) keeps one S-matrix in memory instead of the batches and their
        concatenation (the same numbers as ``build(lazy=False)``, tested).
        """
        import dask.array as da

        abtem = self.abtem
        smatrix = abtem.SMatrix(potential=potential, energy=params.energy * 1e3, semiangle_cutoff=params.aperture,
                                interpolation=self.options.prism_interpolation, downsample=False)
        lazy = smatrix.build(lazy=True, max_batch=self._beam_batch(potential.gpts))
        array = np.empty(lazy.array.shape, dtype=lazy.array.dtype)
        da.store(lazy.array, array, lock=False)
        return abtem.SMatrixArray(
            array, wave_vectors=lazy.wave_vectors, semiangle_cutoff=lazy.semiangle_cutoff, energy=lazy.energy,
            interpolation=lazy.interpolation, extent=lazy.extent, window_gpts=lazy.window_gpts,
            window_offset=lazy.window_offset, periodic=lazy.periodic, device="cpu", metadata=lazy.metadata,
        )

    def _propagated_in_place(self, smatrix: Any, potential: Any) -> None:
        """``smatrix`` propagated through ``potential``, in place, a batch of plane waves at a time.

        What ``SMatrixArray.multislice`` does (its waves' multislice), batch by batch: the plane
        waves are independent, so the result is the same (tested) and only one S-matrix is held.
        With ``threads`` > 1 that many batches are propagated at once (the same numbers, tested).
        """
        batches = self._batches(smatrix, smatrix.waves.metadata)
        workers = max(1, int(self.options.threads))
        if workers == 1:
            for rows, part in batches:
                smatrix.array[rows] = part.multislice(potential).array
            return
        # ``threads`` batches at a time on a thread pool: numpy's element-wise products and
        # FFTW release the GIL, and no more than ``threads`` batches are held beside the S-matrix.
        from concurrent.futures import ThreadPoolExecutor

        def propagate(item: tuple[slice, Any]) -> tuple[slice, np.ndarray]:
            return item[0], item[1].multislice(potential).array

        with ThreadPoolExecutor(max_workers=workers) as pool:
            while group := list(itertools.islice(batches, workers)):
                for rows, array in pool.map(propagate, group):
                    smatrix.array[rows] = array

    def _downsampled(self, smatrix: Any, potential: Any, params: Any) -> Any:
        """The full-size S-matrix downsampled to the anti-aliasing cutoff, as abTEM's build does, for reduction.

        The propagation needs the full grid; the reduction is the same (and several times
        cheaper) on the grid abTEM itself keeps after a build (``downsample = "cutoff"``).
        Downsampled a batch of plane waves at a time into one array, so the full-size
        S-matrix is never transformed whole beside itself.
        """
        abtem = self.abtem
        reference = abtem.SMatrix(potential=potential, energy=params.energy * 1e3, semiangle_cutoff=params.aperture,
                                  interpolation=self.options.prism_interpolation)  # not built: sizes only
        waves = smatrix.waves
        metadata = {**waves.metadata, "adjusted_antialias_cutoff_gpts": waves.antialias_cutoff_gpts}
        down_array = None
        down_metadata: dict[str, Any] = {}
        for rows, part in self._batches(smatrix, metadata):
            down = part.downsample(gpts=reference.downsampled_gpts, normalization="intensity")
            if down_array is None:
                down_array = np.empty((smatrix.array.shape[0], *down.array.shape[1:]), dtype=down.array.dtype)
                down_metadata = down.metadata
            down_array[rows] = down.array
        return abtem.SMatrixArray(
            down_array, wave_vectors=smatrix.wave_vectors, semiangle_cutoff=smatrix.semiangle_cutoff,
            energy=smatrix.energy, interpolation=smatrix.interpolation, extent=smatrix.extent,
            window_gpts=reference.window_gpts, window_offset=smatrix.window_offset, periodic=smatrix.periodic,
            device="cpu", metadata={**smatrix.metadata, **down_metadata},
        )

    def series(self, specimen: Specimen, plan: SimulationPlan, params: Any,
               sigmas: dict[str, float] | None, defoci: list[float] | None = None,
               step: int | None = None) -> np.ndarray:
        """HAADF images (defocus x period, y up, x) after every cell period of ``specimen`` in ONE propagation.

        PRISM: one full-size S-matrix is propagated period by period and reduced to the image
        after each (never more than one S-matrix kept), once per defocus of ``defoci`` (the
        probe's defocus enters only at the reduction); multislice: abTEM's exit planes, one
        per period, each detected as the probe reaches it, one scan per defocus. ``defoci``
        None: ``params.defocus`` only. ``step``: slices between images (it divides the slices
        of a period; None: one image per period). Row ``j * steps + k`` is defocus j after
        (k + 1) x step slices. Frozen phonons: averaged over the configurations, each
        displacing every atom of the whole specimen.
        """
        abtem = self.abtem
        opts = self.options
        self.clear()  # the single-thickness objects are not needed beside a series
        per_period = plan.slices_per_period
        step = step or per_period
        chunks = per_period // step  # images per period
        n = specimen.repeats * chunks
        with abtem_settings(abtem, opts.threads):
            scan = abtem.GridScan(start=(0.0, 0.0), end=(specimen.width, specimen.height), gpts=plan.scan_gpts,
                                  endpoint=False)
            detector = abtem.AnnularDetector(inner=params.detector_inner, outer=params.detector_outer)
            focal = [float(params.defocus)] if defoci is None else [float(d) for d in defoci]
            node_sets = [defocus_nodes(d, params.defocus_spread, opts.defocus_spread_nodes) for d in focal]
            total = np.zeros((len(focal), n, *plan.scan_gpts), dtype=np.float64)
            configs = self._configurations(specimen, sigmas)
            for atoms in configs:
                if opts.method == "prism":
                    if opts.phonon_configs <= 0:  # every period is the same: build its potential once
                        one = self._potential_of(self._periods(atoms, specimen)[0], plan, specimen.depth).build(lazy=False)
                        potentials = [one] * specimen.repeats
                    else:
                        potentials = [self._potential_of(p, plan, specimen.depth).build(lazy=False)
                                      for p in self._periods(atoms, specimen)]
                    smatrix = None
                    pieces = [period if chunks == 1 else period[c * step:(c + 1) * step]
                              for period in potentials for c in range(chunks)]
                    for k, potential in enumerate(pieces):
                        if smatrix is None:
                            smatrix = self._built_in_place(potential, params)
                        else:
                            self._propagated_in_place(smatrix, potential)
                        reducible = self._downsampled(smatrix, potential, params)
                        for j, nodes in enumerate(node_sets):
                            for defocus, weight in nodes:
                                ctf = abtem.CTF(energy=params.energy * 1e3, semiangle_cutoff=params.aperture,
                                                aberration_coefficients=aberrations(defocus, params.cs3, params.cs5))
                                result = reducible.reduce(scan=scan, detectors=detector, ctf=ctf,
                                                          max_batch_reduction=opts.prism_batch)
                                total[j, k] += weight * _as_image(result)
                        del reducible
                    del smatrix, potentials, pieces
                else:
                    potential = self._potential_of(atoms, plan, specimen.depth, exit_planes=step)
                    for j, nodes in enumerate(node_sets):
                        for defocus, weight in nodes:
                            probe = abtem.Probe(energy=params.energy * 1e3, semiangle_cutoff=params.aperture,
                                                aberrations=aberrations(defocus, params.cs3, params.cs5))
                            probe.grid.match(potential)
                            result = probe.scan(potential, scan=scan, detectors=detector)
                            if hasattr(result, "compute") and getattr(result, "is_lazy", True):
                                result = result.compute()
                            array = np.asarray(result.array, dtype=np.float64)
                            array = array.reshape(-1, *array.shape[-3:]).mean(axis=0)  # (planes, x, y)
                            total[j] += weight * array[-n:]  # the first plane is the entrance surface
            total /= len(configs)
        out = np.transpose(total, (0, 1, 3, 2)).reshape(len(focal) * n, plan.scan_gpts[1], plan.scan_gpts[0])
        return np.ascontiguousarray(out)  # (defocus x period, y, x)

    def _build(self, key: tuple[Any, ...], specimen: Specimen, plan: SimulationPlan, params: Any,
               sigmas: dict[str, float] | None) -> Any:
        """The reusable object for ``key``: a PotentialArray or an SMatrixArray."""
        if key == self._key:
            return self._built
        self._key, self._built = None, None  # free the old one before building the next
        potential = self._potential(specimen, plan, sigmas)
        if self.options.method == "prism":
            smatrix = self.abtem.SMatrix(
                potential=potential,
                energy=params.energy * 1e3,
                semiangle_cutoff=params.aperture,
                interpolation=self.options.prism_interpolation,
            )
            built = smatrix.build(lazy=False)
        else:
            built = potential.build(lazy=False)
        self._key, self._built = key, built
        return built

    def image(self, specimen: Specimen, plan: SimulationPlan, params: Any, structure_key: tuple[Any, ...],
              sigmas: dict[str, float] | None = None) -> np.ndarray:
        """The HAADF image (rows = y up the cell, columns = x) on the plan's scan grid."""
        abtem = self.abtem
        opts = self.options
        with abtem_settings(abtem, opts.threads):
            key = (*structure_key, opts.method, float(params.energy), float(params.aperture))
            built = self._build(key, specimen, plan, params, sigmas)
            scan = abtem.GridScan(
                start=(0.0, 0.0), end=(specimen.width, specimen.height), gpts=plan.scan_gpts, endpoint=False
            )
            detector = abtem.AnnularDetector(inner=params.detector_inner, outer=params.detector_outer)
            total = np.zeros(plan.scan_gpts, dtype=np.float64)
            for defocus, weight in defocus_nodes(params.defocus, params.defocus_spread, opts.defocus_spread_nodes):
                coeffs = aberrations(defocus, params.cs3, params.cs5)
                if opts.method == "prism":
                    ctf = abtem.CTF(energy=params.energy * 1e3, semiangle_cutoff=params.aperture,
                                    aberration_coefficients=coeffs)
                    result = built.reduce(scan=scan, detectors=detector, ctf=ctf, max_batch_reduction=opts.prism_batch)
                else:
                    probe = abtem.Probe(energy=params.energy * 1e3, semiangle_cutoff=params.aperture,
                                        aberrations=coeffs)
                    probe.grid.match(built)
                    result = probe.scan(built, scan=scan, detectors=detector)
                total += weight * _as_image(result)
        return np.ascontiguousarray(total.T)  # (y, x)

    def clear(self) -> None:
        """Drop the kept potential / S-matrix."""
        self._key, self._built = None, None
