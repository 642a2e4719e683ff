"""The density seen from above one surface: layers stacked along the surface normal.

:func:`prepare_surface` turns any :class:`~ingrained_stm.density.Density` into a
:class:`SurfaceGrid` once per model (the parameter-independent set-up):

1. rotate the frame so that the first lattice vector points along +x and the surface
   normal (a × b) along +z — the in-plane lattice stays as it is (hexagonal stays
   hexagonal, nothing is orthogonalised);
2. for ``surface="bottom"`` turn the slab over (a 180° rotation about x), so the bottom
   surface is seen from above without mirroring;
3. if the third lattice vector is tilted, shift every layer in-plane (an exact Fourier
   shift of the periodic layer) so that grid column (i, j) is a vertical line;
4. find the top atom: the atom just below the widest (periodic) gap in height, which is
   the vacuum; the window z_top − z_below … z_top + z_above is taken around it, wrapping
   through the periodic cell as needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ingrained_core.plugin import InputFileError, ParameterError

from .density import Density

SURFACES = ("top", "bottom")


@dataclass(frozen=True, eq=False)
class SurfaceGrid:
    """ρ (Na, Nb, Nc) with layer k at height k·dz along the normal, and the surface geometry.

    ``lattice`` is the 2 x 2 in-plane lattice (rows a, b; Å, x right and y up as seen from
    above); ``z_top`` the height of the top atom, ``vacuum`` the gap above it up to the
    next periodic image of the slab; ``top_xy`` the top atom's in-plane position (the image
    centre); ``positions``/``species`` the atoms in this frame.
    """

    values: np.ndarray
    lattice: np.ndarray
    height: float
    z_top: float
    vacuum: float
    top_xy: np.ndarray
    positions: np.ndarray | None
    species: tuple[str, ...] | None
    rho_min: float
    rho_max: float
    source: str

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.values.shape)  # type: ignore[return-value]

    @property
    def dz(self) -> float:
        """Layer spacing along the normal (Å)."""
        return self.height / self.values.shape[2]

    def check_window(self, z_below: float, z_above: float) -> None:
        """Raise :class:`ParameterError` when the window leaves the cell or the vacuum."""
        if z_above >= self.vacuum:
            raise ParameterError(
                f"z_above={z_above:.3f} Å reaches the periodic image of the slab in {self.source}: "
                f"the vacuum above the top atom is {self.vacuum:.3f} Å"
            )
        if z_below + z_above >= self.height:
            raise ParameterError(
                f"z_below + z_above = {z_below + z_above:.3f} Å is not smaller than the cell height "
                f"{self.height:.3f} Å of {self.source}"
            )

    def window(self, z_below: float, z_above: float) -> tuple[np.ndarray, np.ndarray]:
        """The layers inside z_top − z_below … z_top + z_above, lowest first, and their heights.

        Returns ``(stack, zs)``: ``stack`` (Na, Nb, n) of ρ and ``zs`` (n,) heights in Å
        relative to the top atom. Raises :class:`ParameterError` if the window leaves the
        cell or holds fewer than two grid layers.
        """
        self.check_window(z_below, z_above)
        dz = self.dz
        k_lo = math.ceil((self.z_top - z_below) / dz - 1e-9)
        k_hi = math.floor((self.z_top + z_above) / dz + 1e-9)
        if k_hi - k_lo < 1:
            raise ParameterError(
                f"the window z_below={z_below:.3f} Å, z_above={z_above:.3f} Å holds fewer than two grid "
                f"layers (layer spacing {dz:.3f} Å) of {self.source}"
            )
        ks = np.arange(k_lo, k_hi + 1)
        stack = self.values[:, :, ks % self.values.shape[2]]
        return stack, ks * dz - self.z_top

    def plane(self, h: float) -> np.ndarray:
        """ρ on the plane at height ``h`` Å above the top atom (log-linear between layers)."""
        self.check_window(0.0, h)
        t = (self.z_top + h) / self.dz
        k0 = math.floor(t)
        f = t - k0
        nc = self.values.shape[2]
        lo = self.values[:, :, k0 % nc]
        hi = self.values[:, :, (k0 + 1) % nc]
        if f < 1e-12:
            return lo.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            logv = np.exp((1.0 - f) * np.log(lo) + f * np.log(hi))
        lin = (1.0 - f) * lo + f * hi
        return np.where((lo > 0) & (hi > 0), logv, lin)


def _frame_rotation(cell: np.ndarray) -> np.ndarray:
    """Rows e1, e2, e3: a along e1, the normal a × b along e3."""
    a, b = cell[0], cell[1]
    n = np.cross(a, b)
    if np.linalg.norm(n) < 1e-9:
        raise InputFileError("the first two lattice vectors are parallel: no surface plane")
    e1 = a / np.linalg.norm(a)
    e3 = n / np.linalg.norm(n)
    e2 = np.cross(e3, e1)
    return np.vstack([e1, e2, e3])


def _shift_layers(values: np.ndarray, shift_frac: np.ndarray) -> np.ndarray:
    """Layer k moved in-plane by −(k/Nc)·shift_frac (fractions of a, b): exact periodic shift."""
    na, nb, nc = values.shape
    hu = np.fft.fftfreq(na) * na
    hv = np.fft.fftfreq(nb) * nb
    t = np.arange(nc) / nc
    spec = np.fft.fft2(values, axes=(0, 1))
    phase = np.exp(
        2j * np.pi * (hu[:, None, None] * shift_frac[0] + hv[None, :, None] * shift_frac[1]) * t[None, None, :]
    )
    # new(u) = old(u - t*s)  <=>  F_new = F_old * exp(-2πi h t s); the sign below follows ifft conventions
    out = np.fft.ifft2(spec * np.conj(phase), axes=(0, 1)).real
    return out


def prepare_surface(density: Density, *, surface: str = "top", z_surface: float | None = None) -> SurfaceGrid:
    """The parameter-independent surface set-up of ``density`` (see the module docstring).

    ``z_surface`` (Å along the normal, in the frame of the file) replaces the top-atom height
    when the density carries no atoms; without atoms and without it, this is an error.
    """
    if surface not in SURFACES:
        raise InputFileError(f"surface must be one of {', '.join(SURFACES)}, got {surface!r}")
    values = density.values
    q = _frame_rotation(density.cell)
    if surface == "bottom":
        q = np.diag([1.0, -1.0, -1.0]) @ q
    cell = density.cell @ q.T
    positions = None if not density.has_atoms else density.positions @ q.T
    if cell[2, 2] < 0:  # the third axis points down: index layers the other way
        values = np.roll(values[:, :, ::-1], 1, axis=2)
        cell = cell.copy()
        cell[2] = -cell[2]
    lattice = cell[:2, :2].copy()
    c_par = cell[2, :2]
    if np.linalg.norm(c_par) > 1e-6:
        shift = np.linalg.solve(lattice.T, c_par)  # c_par in fractions of a, b
        values = _shift_layers(values, shift)
    height = float(cell[2, 2])
    if positions is not None:
        z = np.mod(positions[:, 2], height)
        order = np.argsort(z)
        zs = z[order]
        gaps = np.diff(np.concatenate([zs, [zs[0] + height]]))
        i = int(np.argmax(gaps))
        z_top = float(zs[i])
        vacuum = float(gaps[i])
        top = order[i]
        top_xy = positions[top, :2].copy()
        # keep the atoms' own heights, but express them relative to the unwrapped frame
    elif z_surface is not None:
        z_top = float(np.mod(z_surface, height))
        vacuum = height
        top_xy = np.zeros(2)
    else:
        raise InputFileError(
            f"{density.source}: the density carries no atoms, so the top of the surface is unknown; "
            "pass the option z_surface (height of the top atom in Å)"
        )
    return SurfaceGrid(
        values=values,
        lattice=lattice,
        height=height,
        z_top=z_top,
        vacuum=vacuum,
        top_xy=top_xy,
        positions=positions,
        species=density.species,
        rho_min=float(values.min()),
        rho_max=float(values.max()),
        source=density.source,
    )
