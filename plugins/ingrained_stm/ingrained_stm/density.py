"""Charge densities on a periodic grid, and the readers that turn files into them.

A :class:`Density` holds ρ (per Å³) on the grid of a periodic cell, plus the atoms when
the file has them. Readers:

- VASP PARCHG / CHGCAR (pymatgen ``Chgcar``): the file stores ρ·V_cell, so values are
  divided by the cell volume; spin-polarised files hold total and magnetisation (up − down),
  from which ``spin`` selects total, up, down or the magnetisation.
- Gaussian cube (ASE): values are per Bohr³ by the cube convention and are converted to
  per Å³ (``cube_units="bohr"``, default) or taken as stored (``cube_units="angstrom"``).
- NumPy ``.npz``: ``density`` (3-D, per Å³) and ``cell`` (3 x 3 Å, rows are lattice
  vectors); optional ``positions`` (N x 3 Å, Cartesian, same frame as the grid) and
  ``species`` (N symbols) or ``numbers`` (N atomic numbers), and optional ``magnetization``.

Grid point (i, j, k) of an ``(Na, Nb, Nc)`` array sits at fractional coordinates
(i/Na, j/Nb, k/Nc) of the cell, the VASP convention (ASE's cube reader follows it too once
the cube origin is subtracted from the atom positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.plugin import InputFileError

SPINS = ("total", "up", "down", "magnetization")
CUBE_UNITS = ("bohr", "angstrom")


@dataclass(frozen=True, eq=False)
class Density:
    """ρ on a periodic grid: ``values`` (Na, Nb, Nc) per Å³, ``cell`` rows a, b, c in Å.

    ``positions`` (N x 3, Cartesian Å, the grid's frame) and ``species`` (N symbols) are the
    atoms, or None when the source has none. ``source`` names where it came from.
    """

    values: np.ndarray
    cell: np.ndarray
    positions: np.ndarray | None = None
    species: tuple[str, ...] | None = None
    source: str = "<memory>"

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=float)
        cell = np.asarray(self.cell, dtype=float)
        if values.ndim != 3 or min(values.shape) < 2:
            raise InputFileError(f"{self.source}: the density must be a 3-D grid with >= 2 points per axis, got shape {values.shape}")
        if not np.all(np.isfinite(values)):
            raise InputFileError(f"{self.source}: the density holds NaN or infinite values")
        if cell.shape != (3, 3) or not np.all(np.isfinite(cell)) or abs(np.linalg.det(cell)) < 1e-6:
            raise InputFileError(f"{self.source}: the cell must be a 3 x 3 matrix of lattice vectors (Å) with non-zero volume")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "cell", cell)
        if self.positions is not None:
            pos = np.asarray(self.positions, dtype=float).reshape(-1, 3)
            species = tuple(str(s) for s in (self.species or ()))
            if len(species) != len(pos):
                raise InputFileError(f"{self.source}: {len(pos)} atom positions but {len(species)} species")
            object.__setattr__(self, "positions", pos)
            object.__setattr__(self, "species", species)

    @property
    def volume(self) -> float:
        """Cell volume in Å³."""
        return float(abs(np.linalg.det(self.cell)))

    @property
    def has_atoms(self) -> bool:
        return self.positions is not None and len(self.positions) > 0

    def structure(self) -> Any | None:
        """The atoms as a pymatgen ``Structure`` (Cartesian positions kept), or None."""
        if not self.has_atoms:
            return None
        from pymatgen.core import Lattice, Structure

        return Structure(Lattice(self.cell), list(self.species), self.positions, coords_are_cartesian=True)


def read_density(path: str | Path, *, spin: str = "total", cube_units: str = "bohr") -> Density:
    """Read a charge density file (PARCHG/CHGCAR, ``.cube``, ``.npz``) into a :class:`Density`.

    The format is chosen by extension (``.cube``/``.cub``, ``.npz``), anything else is read
    as a VASP CHGCAR-format file. Errors name the file and what is wrong with it.
    """
    path = Path(path)
    if spin not in SPINS:
        raise InputFileError(f"spin must be one of {', '.join(SPINS)}, got {spin!r}")
    if cube_units not in CUBE_UNITS:
        raise InputFileError(f"cube_units must be one of {', '.join(CUBE_UNITS)}, got {cube_units!r}")
    if not path.is_file():
        raise InputFileError(f"charge density file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".cube", ".cub"):
        return _read_cube(path, spin=spin, cube_units=cube_units)
    if suffix == ".npz":
        return _read_npz(path, spin=spin)
    return _read_vasp(path, spin=spin)


def _expected_grid_from_vasp_header(path: Path) -> tuple[int, int, int] | None:
    """The first grid line (NGX NGY NGZ) of a CHGCAR-format file, read without pymatgen."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = [fh.readline() for _ in range(5)]  # comment, scale, three lattice vectors
            line = fh.readline()
            if not line.split()[0].isdigit():  # VASP 5: a line of species names first
                line = fh.readline()
            natoms = sum(int(x) for x in line.split())
            line = fh.readline()
            if line.strip().lower().startswith("s"):  # Selective dynamics
                line = fh.readline()
            for _ in range(natoms):
                fh.readline()
            line = fh.readline()
            while line and not line.strip():
                line = fh.readline()
            dims = tuple(int(x) for x in line.split())
            del head
            return dims if len(dims) == 3 else None  # type: ignore[return-value]
    except (ValueError, IndexError, OSError):
        return None


def _read_vasp(path: Path, *, spin: str) -> Density:
    from pymatgen.io.vasp.outputs import Chgcar

    dims = _expected_grid_from_vasp_header(path)
    try:
        chg = Chgcar.from_file(str(path))
    except Exception as exc:  # pymatgen raises assorted errors on malformed files
        grid = f" (header grid {dims[0]} x {dims[1]} x {dims[2]})" if dims else ""
        raise InputFileError(
            f"{path}: not a readable VASP PARCHG/CHGCAR file{grid}: {type(exc).__name__}: {exc}"
        ) from exc
    total = np.asarray(chg.data.get("total"), dtype=float)
    if dims is not None and tuple(total.shape) != dims:
        raise InputFileError(f"{path}: grid holds shape {total.shape} but the header declares {dims}")
    if total.ndim != 3 or total.size == 0:
        raise InputFileError(f"{path}: no volumetric data found (truncated file?)")
    volume = float(chg.structure.lattice.volume)
    diff = chg.data.get("diff")
    if spin != "total":
        if diff is None:
            raise InputFileError(f"{path}: spin={spin!r} asked for, but the file is not spin-polarised (use spin='total')")
        diff = np.asarray(diff, dtype=float)
        if diff.shape != total.shape:
            raise InputFileError(f"{path}: the magnetisation block has shape {diff.shape}, the total {total.shape} (truncated file?)")
    values = _select_spin(total, diff, spin) / volume
    s = chg.structure
    return Density(
        values=values,
        cell=np.array(s.lattice.matrix),
        positions=np.array(s.cart_coords),
        species=tuple(site.specie.symbol for site in s),
        source=str(path),
    )


def _select_spin(total: np.ndarray, diff: np.ndarray | None, spin: str) -> np.ndarray:
    if spin == "total":
        return total
    assert diff is not None
    if spin == "up":
        return 0.5 * (total + diff)
    if spin == "down":
        return 0.5 * (total - diff)
    return diff


def _read_cube(path: Path, *, spin: str, cube_units: str) -> Density:
    from ase.io.cube import read_cube
    from ase.units import Bohr

    if spin != "total":
        raise InputFileError(f"{path}: a cube file holds one density; spin={spin!r} needs a spin-resolved file")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            dct = read_cube(fh, read_data=True)
    except Exception as exc:
        raise InputFileError(
            f"{path}: not a readable Gaussian cube file (grid counts in the header must match the "
            f"number of values): {type(exc).__name__}: {exc}"
        ) from exc
    atoms = dct["atoms"]
    data = np.asarray(dct["data"], dtype=float)
    if cube_units == "bohr":
        data = data / Bohr**3
    positions = np.asarray(atoms.positions, dtype=float) - np.asarray(dct["origin"], dtype=float)
    return Density(
        values=data,
        cell=np.array(atoms.cell[:]),
        positions=positions if len(atoms) else None,
        species=tuple(atoms.get_chemical_symbols()) if len(atoms) else None,
        source=str(path),
    )


def _read_npz(path: Path, *, spin: str) -> Density:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:
        raise InputFileError(f"{path}: not a readable .npz file: {type(exc).__name__}: {exc}") from exc
    missing = [k for k in ("density", "cell") if k not in arrays]
    if missing:
        raise InputFileError(f"{path}: .npz must hold 'density' (3-D, per Å³) and 'cell' (3 x 3 Å); missing {', '.join(missing)}")
    total = np.asarray(arrays["density"], dtype=float)
    diff = arrays.get("magnetization")
    if spin != "total" and diff is None:
        raise InputFileError(f"{path}: spin={spin!r} asked for, but the .npz has no 'magnetization' array")
    values = _select_spin(total, None if diff is None else np.asarray(diff, dtype=float), spin)
    positions = arrays.get("positions")
    species: tuple[str, ...] | None = None
    if positions is not None:
        if "species" in arrays:
            species = tuple(str(s) for s in arrays["species"])
        elif "numbers" in arrays:
            from ase.data import chemical_symbols

            species = tuple(chemical_symbols[int(n)] for n in arrays["numbers"])
        else:
            raise InputFileError(f"{path}: 'positions' given without 'species' or 'numbers'")
    return Density(values=values, cell=arrays["cell"], positions=positions, species=species, source=str(path))
