"""The ``file`` structure builder: a structure read from a file (CIF, POSCAR, XYZ, ...).

pymatgen reads the file first; formats it does not know are read with ASE
(``ase.io.read``) and converted. Missing, empty, truncated or corrupt files raise
:class:`~ingrained_core.plugin.errors.InputFileError` naming the file; partially occupied sites
are refused (the projection and the collision removal need one species per site) with a
message suggesting an ordered structure, unless ``allow_partial_occupancy`` is set.

Two checks catch what the readers let through silently: a CIF's ``_atom_site_occupancy``
values are checked before reading (an occupancy of 1.5 is read by ASE as an ordered site,
0, -0.5 or nan drop the site, and a second species on an occupied site - Zn 0.8 on a Cd
1.0 site - is dropped by pymatgen), and atoms closer than :data:`MIN_SEPARATION_A` (the
same atom listed twice) are refused, naming the sites: they would count twice in every
projected column.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingrained_core.plugin.paths import resolve_path
from ingrained_core.plugin.errors import InputFileError
from ingrained_core.plugin.protocols import BuildResult


class FileConfig(BaseModel):
    """Config of the ``file`` builder."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="structure file (relative paths: to the config file's directory)")
    format: str | None = Field(
        None,
        description="file format when the name does not say it: a pymatgen fmt ('cif', 'poscar', "
        "'cssr', 'json', 'xsf', 'mcsqs', 'res') or any ASE format name ('xyz', 'extxyz', 'lammps-data', ...)",
    )
    allow_partial_occupancy: bool = Field(
        False, description="accept disordered sites (the STEM model weights each species by its occupancy)"
    )

    _resolve = field_validator("path", mode="before")(resolve_path)


#: Atoms closer than this (Å) are taken as the same atom listed twice; the shortest real bond
#: (H2) is 0.74 Å.
MIN_SEPARATION_A = 0.5

#: Slack on occupancies (rounding in published CIFs: 0.333 + 0.667 + 0.001).
OCCUPANCY_TOLERANCE = 0.01

_PYMATGEN_FORMATS = {"cif", "poscar", "cssr", "json", "yaml", "xsf", "mcsqs", "prismatic", "res", "pwmat", "aims"}


def read_structure(path: str | Path, fmt: str | None = None, *, allow_partial_occupancy: bool = False) -> Any:
    """Read a periodic structure from ``path`` with pymatgen, falling back to ASE.

    Returns a pymatgen ``Structure``; raises :class:`InputFileError` naming the file when
    it is missing, empty, unreadable, has no atoms or no cell, or is disordered (unless
    ``allow_partial_occupancy``).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"structure file not found: {path}")
    if path.is_dir():
        raise InputFileError(f"structure file is a directory: {path}")
    if path.stat().st_size == 0:
        raise InputFileError(f"structure file is empty: {path}")
    is_cif = (fmt or path.suffix.lstrip(".")).lower() in ("cif", "mcif")
    if is_cif:
        _check_cif_occupancies(path)
    structure, errors = None, []
    if fmt is None or fmt.lower() in _PYMATGEN_FORMATS:
        structure = _read_pymatgen(path, fmt, errors)
    if structure is None:
        structure = _read_ase(path, fmt, errors)
    if structure is None:
        detail = "; ".join(errors) if errors else "unknown format"
        raise InputFileError(f"cannot read a structure from {path} (truncated, corrupt or unknown format): {detail}")
    if len(structure) == 0:
        raise InputFileError(f"structure file {path} holds no atoms")
    if not structure.is_ordered and not allow_partial_occupancy:
        bad = [i for i, site in enumerate(structure) if not site.is_ordered]
        raise InputFileError(
            f"structure file {path} has partially occupied sites ({len(bad)} of {len(structure)}, first: site "
            f"{bad[0]} {structure[bad[0]].species}); ingrained needs an ordered structure: order it first "
            "(e.g. pymatgen OrderDisorderedStructureTransformation or a special quasirandom structure) or set "
            "allow_partial_occupancy = true to weight species by occupancy"
        )
    if is_cif:
        _check_declared_formula(path, structure)
    if abs(structure.lattice.volume) < 1e-6:
        raise InputFileError(f"structure file {path} has no periodic cell (zero volume); give a cell (e.g. extended XYZ Lattice=)")
    _check_separations(path, structure)
    return structure


def _cif_number(text: str) -> float | None:
    """A CIF number (``0.8``, ``0.80(2)`` with its standard uncertainty); None for ``?``/``.``
    (unknown: the readers take 1), nan for anything else."""
    text = text.strip()
    if text in ("?", "."):
        return None
    try:
        return float(re.sub(r"\(\d*\)$", "", text))
    except ValueError:
        return math.nan


def _check_cif_occupancies(path: Path) -> None:
    """Refuse a CIF whose ``_atom_site_occupancy`` column the readers would mis-read.

    An occupancy must be a number in (0, 1]; the species listed at one position (same
    fractional coordinates) must not add up to more than 1. Names the site label, its
    species and the occupancy. A file that does not parse as CIF is left to the readers
    (their error names it as truncated or corrupt).
    """
    from pymatgen.io.cif import CifFile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            blocks = CifFile.from_str(path.read_text(encoding="utf-8", errors="replace")).data.values()
    except Exception:  # noqa: BLE001 - not parsable as CIF: the readers' error is the better one
        return
    for block in blocks:
        data = block.data
        occ = data.get("_atom_site_occupancy")
        if not isinstance(occ, list):
            continue
        n = len(occ)

        def column(key: str, data: dict[str, Any] = data, n: int = n) -> list[str]:
            col = data.get(key)
            return [str(v) for v in col] if isinstance(col, list) and len(col) == n else ["?"] * n

        labels, symbols = column("_atom_site_label"), column("_atom_site_type_symbol")
        names = [f"site '{lab}' ({sym})" if sym != "?" else f"site '{lab}'" for lab, sym in zip(labels, symbols)]
        values = [_cif_number(str(v)) for v in occ]
        for name, raw, value in zip(names, occ, values):
            if value is not None and not (0.0 < value <= 1.0 + OCCUPANCY_TOLERANCE):
                raise InputFileError(
                    f"structure file {path}: {name} has _atom_site_occupancy {str(raw).strip()}; an occupancy "
                    "must be a number above 0 and at most 1 (remove an empty site, fix the value)"
                )
        coords = [column(f"_atom_site_fract_{a}") for a in "xyz"]
        groups: dict[tuple[int, int, int], list[int]] = {}
        for i in range(n):
            xyz = [_cif_number(c[i]) for c in coords]
            if any(v is None or not math.isfinite(v) for v in xyz):
                continue
            key = tuple(round((v % 1.0) * 1000) % 1000 for v in xyz)  # type: ignore[operator]
            groups.setdefault(key, []).append(i)  # type: ignore[arg-type]
        for members in groups.values():
            total = sum(values[i] if values[i] is not None else 1.0 for i in members)
            if len(members) > 1 and total > 1.0 + OCCUPANCY_TOLERANCE:
                listed = " and ".join(f"{names[i]} occupancy {str(occ[i]).strip()}" for i in members)
                where = ", ".join(coords[a][members[0]].strip() for a in range(3))
                raise InputFileError(
                    f"structure file {path}: {listed} share the position ({where}): their occupancies add up "
                    f"to {total:g}, more than 1 (a reader would silently drop one); give one species per site, or "
                    "partial occupancies adding up to at most 1 with allow_partial_occupancy = true (the HAADF "
                    "model weights each species by its occupancy; other models need an ordered structure)"
                )


def _check_separations(path: Path, structure: Any) -> None:
    """Refuse atoms closer than :data:`MIN_SEPARATION_A` (periodic images included), naming them.

    Candidates come from a periodic k-d tree on the fractional coordinates scaled by the
    cell's plane spacings (a pair closer than r differs by at most r along every plane
    normal, so none is missed; linear in the number of sites); each candidate's distance is
    then the shortest over the neighbouring cell images.
    """
    import itertools

    import numpy as np
    from scipy.spatial import cKDTree

    if len(structure) < 2:
        return
    frac = np.asarray(structure.frac_coords, dtype=float)
    frac = frac - np.floor(frac)
    frac[frac >= 1.0] = 0.0
    matrix = np.asarray(structure.lattice.matrix, dtype=float)
    spacings = 1.0 / np.linalg.norm(np.asarray(structure.lattice.inv_matrix), axis=0)  # d of (100), (010), (001)
    if not np.all(np.isfinite(spacings)) or spacings.min() <= 2 * MIN_SEPARATION_A:
        return  # a degenerate or sub-Å cell: the volume check and the readers speak for it
    scaled = np.minimum(frac * spacings, np.nextafter(spacings, 0))
    pairs = cKDTree(scaled, boxsize=spacings).query_pairs(MIN_SEPARATION_A, p=np.inf, output_type="ndarray")
    if len(pairs) == 0:
        return
    delta = frac[pairs[:, 1]] - frac[pairs[:, 0]]
    delta -= np.round(delta)
    images = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=float)
    dist = np.linalg.norm((delta[:, None, :] + images[None, :, :]) @ matrix, axis=2).min(axis=1)
    close = np.flatnonzero(dist < MIN_SEPARATION_A)
    if close.size == 0:
        return
    order = close[np.lexsort((pairs[close, 1], pairs[close, 0]))]
    i, j = (int(v) for v in pairs[order[0]])
    d = float(dist[order[0]])
    xyz = ", ".join(f"{v:.4f}" for v in structure[i].frac_coords)
    more = f" (and {close.size - 1} more pair{'s' if close.size > 2 else ''})" if close.size > 1 else ""
    raise InputFileError(
        f"structure file {path} has atoms at the same position: sites {i} ({structure[i].species_string}) and "
        f"{j} ({structure[j].species_string}) are {d:.3f} Å apart at ({xyz}){more}; atoms closer than "
        f"{MIN_SEPARATION_A} Å are taken as one atom listed twice (each would count twice in the projection): "
        "remove the duplicates"
    )


def _check_declared_formula(path: Path, structure: Any) -> None:
    """A CIF cut at a line boundary inside its atom loop is still valid CIF, with atoms missing.

    CIF has no atom count, but most files declare ``_chemical_formula_sum``: when the
    element ratios read differ from the declared ones, the file is refused as truncated.
    """
    from pymatgen.core import Composition

    text = path.read_text(encoding="utf-8", errors="replace")
    if len(re.findall(r"^\s*data_", text, flags=re.MULTILINE)) > 1:
        return  # several blocks: pymatgen read the first; the declarations are per block
    m = re.search(r"^\s*_chemical_formula_sum\s+(?:'([^']*)'|\"([^\"]*)\"|(\S+))", text, flags=re.MULTILINE)
    if not m:
        return
    declared_text = next(g for g in m.groups() if g is not None).strip()
    try:
        declared = Composition(declared_text)
    except Exception:  # noqa: BLE001 - an unparsable declaration is not ours to judge
        return
    read = structure.composition
    if declared.num_atoms == 0 or read.reduced_composition.almost_equals(declared.reduced_composition, rtol=1e-3):
        return
    raise InputFileError(
        f"structure file {path} declares _chemical_formula_sum '{declared_text}' but its atom sites hold "
        f"{read.formula} ({len(structure)} sites): the file is probably truncated; if the declaration is known to "
        "differ (e.g. unlocated H atoms), remove the _chemical_formula_sum line"
    )


def _read_pymatgen(path: Path, fmt: str | None, errors: list[str]) -> Any:
    from pymatgen.core import Structure

    from ingrained_core.builtins.structures.poscar import is_poscar_name, read_plain_poscar

    if (fmt is None and is_poscar_name(path)) or (fmt is not None and fmt.lower() == "poscar"):
        # a plain VASP 5 POSCAR without importing pymatgen.io.vasp (0.8-1.4 s of set-up); None: pymatgen reads it
        structure = read_plain_poscar(path.read_text(encoding="utf-8", errors="replace"))
        if structure is not None:
            return structure
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt is None:
                return Structure.from_file(str(path))
            return Structure.from_str(path.read_text(encoding="utf-8", errors="replace"), fmt=fmt.lower())
    except Exception as exc:  # noqa: BLE001 - pymatgen raises many types (ValueError, IndexError, KeyError...)
        errors.append(f"pymatgen: {_short(exc)}")
        return None


def _read_ase(path: Path, fmt: str | None, errors: list[str]) -> Any:
    try:
        import ase.io
        from pymatgen.io.ase import AseAtomsAdaptor
    except ImportError:  # pragma: no cover - ase is a dependency of pymatgen's io here
        errors.append("ASE is not installed (pip install ase)")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            atoms = ase.io.read(str(path), format=fmt)
    except Exception as exc:  # noqa: BLE001 - third-party readers raise many types
        errors.append(f"ASE: {_short(exc)}")
        return None
    if isinstance(atoms, list):  # pragma: no cover - read() without index returns the last image
        atoms = atoms[-1]
    if len(atoms) == 0:
        raise InputFileError(f"structure file {path} holds no atoms")
    if not atoms.cell.rank == 3:
        raise InputFileError(
            f"structure file {path} has no periodic cell (read by ASE as a molecule); give a 3-D cell "
            "(e.g. extended XYZ with Lattice=\"...\")"
        )
    return AseAtomsAdaptor.get_structure(atoms)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


class FileStructureBuilder:
    """Reads the structure from a file; the report names the file, formula and cell."""

    name: ClassVar[str] = "file"
    Config: ClassVar[type[BaseModel]] = FileConfig

    def build(self, config: FileConfig) -> BuildResult:
        s = read_structure(config.path, config.format, allow_partial_occupancy=config.allow_partial_occupancy)
        report = {
            "builder": self.name,
            "source": str(config.path),
            "formula": s.composition.formula.replace(" ", ""),
            "n_atoms": len(s),
            "cell_abc": [round(x, 6) for x in s.lattice.abc],
            "cell_angles": [round(x, 6) for x in s.lattice.angles],
            "ordered": bool(s.is_ordered),
        }
        return BuildResult(structure=s, report=report)
