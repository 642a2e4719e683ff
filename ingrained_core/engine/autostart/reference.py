"""The projected structure's 2-D reciprocal lattice as the forward model images it.

The reference is the model's own simulation at a reference pixel size ``p0`` with every
distortion at zero (M = identity), analysed with the same peak finder as the experiment:
so every grain of a bicrystal, the projection, the model's orientation and its probe are
all in it, with no second description of the structure to keep consistent. How the
peaks move with the geometric parameters then follows from the model's own convention:
a real-space offset s (px) becomes ``F M F s`` (M the model's ``distortion_matrix`` or,
for models without one, :func:`ingrained_core.plugin.distortion.distortion_matrix`; F a
flip of the row axis when the model turns its image over after distorting, found once by
a probe simulation), and pixel size p scales offsets by p0 / p, so reciprocal vectors map
by ``T = (p / p0) · F M⁻ᵀ F``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingrained_core.engine.autostart.peaks import LatticePeaks, NoLatticeError, lattice_peaks
from ingrained_core.plugin.distortion import distortion_matrix

#: the geometric parameters an automatic start can estimate
GEOMETRIC = ("pixel_size", "shear_x", "shear_y", "stretch_x", "stretch_y", "rotation")
DISTORTION = GEOMETRIC[1:]
_FLIP = np.diag([1.0, -1.0])


def model_matrix(model: Any, values: dict[str, float]) -> np.ndarray:
    """The model's distortion matrix M at ``values`` (its own method when it has one)."""
    own = getattr(model, "distortion_matrix", None)
    if callable(own):
        return np.asarray(own(model.Params(**values)), dtype=float)
    return distortion_matrix(*(float(values.get(k, 0.0)) for k in DISTORTION))


@dataclass
class Reference:
    """Reference peaks of the model's simulation and the map to any parameter set."""

    model: Any
    peaks: LatticePeaks
    p0: float
    base: dict[str, float]
    flip: bool = False
    notes: list[str] = field(default_factory=list)
    #: rotations (degrees, in the reference image's frame) that map its peak pattern onto
    #: itself: 0 and 180 always (a power spectrum is Friedel symmetric), 60° steps for a
    #: hexagonal surface, 90° for a square one (:func:`lattice_symmetry`)
    symmetry: tuple[float, ...] = (0.0, 180.0)

    def transform(self, values: dict[str, float]) -> np.ndarray:
        """T with k_image = T k_reference for the image simulated at ``values``."""
        m = model_matrix(self.model, values)
        t = (float(values["pixel_size"]) / self.p0) * np.linalg.inv(m).T
        return _FLIP @ t @ _FLIP if self.flip else t

    def predicted(self, values: dict[str, float]) -> np.ndarray:
        """Reference peaks moved to where they appear at ``values`` (cycles/px)."""
        return self.peaks.k @ self.transform(values).T


def _odd_at_most(n: int, top: int) -> int:
    n = min(n, top)
    return n if n % 2 == 1 else n - 1


def reference_lattice(model: Any, base: dict[str, float], p0: float, shape: tuple[int, int], *,
                      max_peaks: int = 24, min_ratio: float = 30.0, name: str = "the structure") -> Reference:
    """Simulate the model at ``p0`` with no distortion, about as large as the experiment,
    and find its lattice peaks; raise :class:`NoLatticeError` naming the structure if none."""
    described = model.Params.describe()
    values = dict(base)
    values["pixel_size"] = float(p0)
    for k in DISTORTION:
        if k in described:
            values[k] = 0.0
    for key, size in (("crop_height", shape[0]), ("crop_width", shape[1])):
        if key in described:
            lo, hi = described[key]["min"], described[key]["max"]
            values[key] = float(max(_odd_at_most(int(size), int(hi)), int(lo)))
    sim = np.asarray(model.simulate(model.Params(**values)).array, dtype=float)
    try:
        peaks = lattice_peaks(sim, max_peaks=max_peaks, min_ratio=min_ratio, name=f"{name} (simulated at {p0:.4g} Å/px)")
    except NoLatticeError as exc:
        raise NoLatticeError(f"{exc}: its projection shows no lattice to match the experiment against") from None
    used = model.Params(**values).model_dump()
    ref = Reference(model, peaks, float(p0), {k: float(v) for k, v in used.items()})
    ref.flip = _detect_flip(ref, max_peaks, min_ratio)
    ref.symmetry = lattice_symmetry(peaks)
    return ref


def rotation_matrix(degrees: float) -> np.ndarray:
    """The 2x2 rotation by ``degrees`` acting on (column, row) vectors."""
    t = np.radians(degrees)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def lattice_symmetry(peaks: LatticePeaks, *, min_share: float = 0.8) -> tuple[float, ...]:
    """The rotations (degrees) that put the peak pattern onto itself.

    A rotation g counts when the peaks it moves land on peaks of the pattern (either sign,
    within a spectrum resolution element) carrying at least ``min_share`` of the pattern's
    strength, with strengths alike (within a factor e). Maps A and A·g from the reference
    to the experiment then explain the experiment's peaks equally well, but they are
    different parameter sets (a rotation of the structure by g before the distortion);
    for a three-fold motif on a hexagonal lattice they are even different images, so each
    one the bounds allow is a candidate."""
    k = np.vstack([peaks.k, -peaks.k])
    s = np.concatenate([peaks.strength, peaks.strength])
    w = np.exp(peaks.strength - peaks.strength.max())
    tol = 1.5 / min(peaks.shape)
    out = [0.0]
    for phi in (60.0, 90.0, 120.0, 180.0, 240.0, 270.0, 300.0):
        if phi == 180.0:
            out.append(phi)
            continue
        moved = peaks.k @ rotation_matrix(phi).T
        d = np.linalg.norm(moved[:, None, :] - k[None, :, :], axis=2)
        j = d.argmin(axis=1)
        hit = (d[np.arange(len(j)), j] <= tol) & (np.abs(s[j] - peaks.strength) <= 1.0)
        if (w * hit).sum() >= min_share * w.sum():
            out.append(phi)
    return tuple(sorted(out))


def _detect_flip(ref: Reference, max_peaks: int, min_ratio: float) -> bool:
    """Whether the model turns its image over after distorting: one probe with a shear."""
    model = ref.model
    described = model.Params.describe()
    probe_name = next((k for k in ("shear_x", "shear_y") if k in described), None)
    if probe_name is None:
        return False
    probe = dict(ref.base)
    probe[probe_name] = 0.08
    try:
        sim = np.asarray(model.simulate(model.Params(**probe)).array, dtype=float)
        seen = lattice_peaks(sim, max_peaks=max_peaks, min_ratio=min_ratio).k
    except Exception:  # noqa: BLE001 - a failed probe leaves the plain convention
        ref.notes.append("the row-flip probe found no peaks; assumed no flip")
        return False
    both = np.vstack([seen, -seen])
    errors = []
    for flip in (False, True):
        ref.flip = flip
        pred = ref.predicted(probe)
        d = np.linalg.norm(pred[:, None, :] - both[None, :, :], axis=2).min(axis=1)
        errors.append(float(np.median(d)))
    ref.flip = False
    return errors[1] < errors[0]
