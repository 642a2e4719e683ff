"""The ``library`` structure builder: bundled bulk cells of the paper's materials.

The cells live in ``ingrained_core/data/structures`` (CIF files indexed by
``library.json``; references in its README). Lookup is by composition (``B2Mo3`` and
``Mo3B2`` are the same) and space-group symbol; a space group the library does not hold
for a formula is an error that lists what it holds.
"""

from __future__ import annotations

import json
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.protocols import BuildResult

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "data" / "structures"


@lru_cache(maxsize=1)
def library_index() -> tuple[dict[str, Any], ...]:
    """The entries of ``library.json`` (formula, space_group, file, lattice, reference)."""
    return tuple(json.loads((LIBRARY_DIR / "library.json").read_text(encoding="utf-8")))


def _reduced(formula: str, field: str) -> str:
    from pymatgen.core import Composition

    try:
        comp = Composition(formula)
    except Exception as exc:  # noqa: BLE001 - pymatgen raises ValueError / CompositionError
        raise ConfigError(f"{field}: {formula!r} is not a chemical formula ({exc})") from None
    if comp.num_atoms == 0:
        raise ConfigError(f"{field}: {formula!r} is not a chemical formula")
    return comp.reduced_formula


def _norm_sg(symbol: str) -> str:
    return symbol.replace(" ", "").replace("_", "").lower()


def find_entry(formula: str, space_group: str, *, field_prefix: str = "") -> dict[str, Any]:
    """The library entry for ``formula`` + ``space_group``; ConfigError listing what exists otherwise."""
    reduced = _reduced(formula, f"{field_prefix}formula")
    same = [e for e in library_index() if _reduced(e["formula"], "library") == reduced]
    if not same:
        have = ", ".join(f"{e['formula']} {e['space_group']}" for e in library_index())
        raise ConfigError(
            f"{field_prefix}formula: the bundled library has no {formula!r}; it holds {have}. "
            "Give a unit_cell file or use the Materials Project source"
        )
    for e in same:
        if _norm_sg(e["space_group"]) == _norm_sg(space_group):
            return e
    have = ", ".join(e["space_group"] for e in same)
    raise ConfigError(
        f"{field_prefix}space_group: the bundled library has {formula} only in {have}, not {space_group!r}"
    )


def library_structure(formula: str, space_group: str, lattice_a: float | None = None,
                      lattice_c: float | None = None, *, field_prefix: str = "") -> tuple[Any, dict[str, Any]]:
    """The bundled conventional cell (optionally rescaled) and a provenance dict."""
    from pymatgen.core import Lattice, Structure

    entry = find_entry(formula, space_group, field_prefix=field_prefix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Structure.from_file(str(LIBRARY_DIR / entry["file"]))
    a, b, c = s.lattice.abc
    if lattice_a is not None or lattice_c is not None:
        new_a = float(lattice_a) if lattice_a is not None else a
        new_c = float(lattice_c) if lattice_c is not None else c * new_a / a
        s = Structure(Lattice.from_parameters(new_a, b * new_a / a, new_c, *s.lattice.angles),
                      s.species, s.frac_coords)
    info = {"source": "library", "file": entry["file"], "reference": entry["reference"],
            "lattice_abc": [round(x, 6) for x in s.lattice.abc]}
    return s, info


class LibraryConfig(BaseModel):
    """Config of the ``library`` builder."""

    model_config = ConfigDict(extra="forbid")

    formula: str = Field(description="chemical formula, e.g. 'CdTe' or 'B2Mo3' (element order free)")
    space_group: str = Field(description="Hermann–Mauguin symbol, e.g. 'F-43m'")
    lattice_a: float | None = Field(None, gt=0, description="override of the lattice constant a (Å); b scales with it")
    lattice_c: float | None = Field(None, gt=0, description="override of c (Å); default keeps c/a")


class LibraryStructureBuilder:
    """A bundled bulk cell (conventional standard cell) by formula and space group."""

    name: ClassVar[str] = "library"
    Config: ClassVar[type[BaseModel]] = LibraryConfig

    def build(self, config: LibraryConfig) -> BuildResult:
        s, info = library_structure(config.formula, config.space_group, config.lattice_a, config.lattice_c)
        report = {"builder": self.name, **info, "formula": s.composition.reduced_formula, "n_atoms": len(s)}
        return BuildResult(structure=s, report=report)
