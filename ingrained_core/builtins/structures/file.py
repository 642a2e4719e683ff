"""The ``file`` structure builder: a structure read from a file (CIF, POSCAR, XYZ, ...).

pymatgen reads the file first; formats it does not know are read with ASE
(``ase.io.read``) and converted. Missing, empty, truncated or corrupt files raise
:class:`~ingrained_core.plugin.errors.InputFileError` naming the file; partially occupied sites
are refused (the projection and the collision removal need one species per site) with a
message suggesting an ordered structure, unless ``allow_partial_occupancy`` is set.
"""

from __future__ import annotations

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
    if (fmt or path.suffix.lstrip(".")).lower() in ("cif", "mcif"):
        _check_declared_formula(path, structure)
    if abs(structure.lattice.volume) < 1e-6:
        raise InputFileError(f"structure file {path} has no periodic cell (zero volume); give a cell (e.g. extended XYZ Lattice=)")
    if not structure.is_ordered and not allow_partial_occupancy:
        bad = [i for i, site in enumerate(structure) if not site.is_ordered]
        raise InputFileError(
            f"structure file {path} has partially occupied sites ({len(bad)} of {len(structure)}, first: site "
            f"{bad[0]} {structure[bad[0]].species}); ingrained needs an ordered structure: order it first "
            "(e.g. pymatgen OrderDisorderedStructureTransformation or a special quasirandom structure) or set "
            "allow_partial_occupancy = true to weight species by occupancy"
        )
    return structure


def _check_declared_formula(path: Path, structure: Any) -> None:
    """A CIF cut at a line boundary inside its atom loop is still valid CIF, with atoms missing.

    CIF has no atom count, but most files declare ``_chemical_formula_sum``: when the
    element ratios read differ from the declared ones, the file is refused as truncated.
    """
    import re

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
