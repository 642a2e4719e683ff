"""The ``materials-project`` structure builder: a bulk cell from the Materials Project.

Query: ``MPRester.materials.summary.search(formula=..., spacegroup_symbol=..., fields=...)``
(filtered on the server). Selection rule: among the returned entries whose space group is
the requested one, the lowest ``energy_above_hull`` (the most stable polymorph in that space
group); ties go to the lowest material id (numerically: mp-149 before mp-1014). The
structure returned is that entry's **conventional standard cell** (pymatgen
``SpacegroupAnalyzer.get_conventional_standard_structure``).

Results are cached on disk as JSON, one file per (formula, space group), in
``$INGRAINED_MP_CACHE`` or ``~/.cache/ingrained/mp`` (or the config's ``cache_dir``), so a
second run needs no network and no key. The API key comes from the config (``api_key``)
or ``MP_API_KEY``; it is never logged, reported or written to the cache.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ingrained_core.plugin.paths import resolve_path
from ingrained_core.plugin.errors import ConfigError, PluginError
from ingrained_core.plugin.protocols import BuildResult

#: Fields requested from the summary endpoint (nothing more is transferred).
FIELDS = ["material_id", "formula_pretty", "symmetry", "energy_above_hull", "structure"]
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$INGRAINED_MP_CACHE`` or ``~/.cache/ingrained/mp``."""
    env = os.environ.get("INGRAINED_MP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ingrained" / "mp"


def normalise_query(formula: str, space_group: str, field_prefix: str = "") -> tuple[str, str]:
    """(reduced formula, space-group symbol without spaces); ConfigError for a bad formula."""
    from pymatgen.core import Composition

    try:
        comp = Composition(formula)
        if comp.num_atoms == 0:
            raise ValueError("empty")
    except Exception:  # noqa: BLE001 - pymatgen raises many types
        raise ConfigError(f"{field_prefix}chemical_formula: {formula!r} is not a chemical formula") from None
    sg = space_group.replace(" ", "")
    if not sg:
        raise ConfigError(f"{field_prefix}space_group: empty")
    return comp.reduced_formula, sg


def search_kwargs(formula: str, space_group: str) -> dict[str, Any]:
    """The keyword arguments of ``materials.summary.search`` for this query (server-side filters)."""
    return {"formula": formula, "spacegroup_symbol": space_group, "fields": list(FIELDS)}


def cache_path(formula: str, space_group: str, cache_dir: Path | None = None) -> Path:
    """Cache file of one query: ``<dir>/<formula>_<space group, '/' -> '_'>.json``."""
    safe_sg = re.sub(r"[^A-Za-z0-9_\-]", "_", space_group)
    return (cache_dir or default_cache_dir()) / f"{formula}_{safe_sg}.json"


def _material_id_key(mid: str) -> tuple[str, int, str]:
    m = re.match(r"([a-z]+)-(\d+)$", str(mid))
    return (m.group(1), int(m.group(2)), "") if m else ("~", 0, str(mid))


def _get(doc: Any, name: str) -> Any:
    return doc.get(name) if isinstance(doc, dict) else getattr(doc, name, None)


def parse_documents(docs: list[Any]) -> list[dict[str, Any]]:
    """Summary documents (emmet ``SummaryDoc``/mp-api models or their JSON dumps) as plain
    candidates: material_id, energy_above_hull, space-group symbol, pymatgen Structure."""
    from pymatgen.core import Structure

    out = []
    for doc in docs:
        structure = _get(doc, "structure")
        if isinstance(structure, dict):
            structure = Structure.from_dict(structure)
        sym = _get(doc, "symmetry")
        symbol = _get(sym, "symbol") if sym is not None else None
        out.append({
            "material_id": str(_get(doc, "material_id")),
            "energy_above_hull": _get(doc, "energy_above_hull"),
            "space_group": symbol,
            "formula": _get(doc, "formula_pretty"),
            "structure": structure,
        })
    return out


def select_candidate(candidates: list[dict[str, Any]], space_group: str) -> dict[str, Any]:
    """The lowest energy above hull in the requested space group; ties: lowest material id."""
    want = space_group.replace(" ", "")
    same = [c for c in candidates if c["space_group"] is None or str(c["space_group"]).replace(" ", "") == want]
    same = [c for c in same if c["structure"] is not None]
    if not same:
        raise ConfigError(f"the Materials Project has no entry in space group {space_group}")
    return min(same, key=lambda c: (c["energy_above_hull"] if c["energy_above_hull"] is not None else float("inf"),
                                    _material_id_key(c["material_id"])))


def conventional(structure: Any) -> Any:
    """The conventional standard cell of a structure."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    return SpacegroupAnalyzer(structure, symprec=0.01).get_conventional_standard_structure()


def store(formula: str, space_group: str, candidates: list[dict[str, Any]], cache_dir: Path | None = None) -> Path:
    """Select from ``candidates`` and write the cache file (atomically); returns its path."""
    from ingrained_core.plugin import files as atomic

    best = select_candidate(candidates, space_group)
    conv = conventional(best["structure"])
    record = {
        "cache_version": CACHE_VERSION, "formula": formula, "space_group": space_group,
        "material_id": best["material_id"], "energy_above_hull": best["energy_above_hull"],
        "candidates": sorted(((c["material_id"], c["energy_above_hull"]) for c in candidates),
                             key=lambda t: _material_id_key(t[0])),
        "selection_rule": "lowest energy_above_hull in the space group; ties: lowest material id",
        "retrieved": datetime.now(UTC).isoformat(timespec="seconds"),
        "structure": conv.as_dict(),
    }
    path = cache_path(formula, space_group, cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the Materials Project cache directory {path.parent}: {exc.strerror}") from None
    atomic.write_text(path, json.dumps(record, indent=1))
    return path


def load_cached(formula: str, space_group: str, cache_dir: Path | None = None) -> tuple[Any, dict[str, Any]] | None:
    """The cached (structure, provenance) of a query, or None when absent/unreadable."""
    from pymatgen.core import Structure

    path = cache_path(formula, space_group, cache_dir)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        structure = Structure.from_dict(record["structure"])
    except Exception:  # noqa: BLE001 - pymatgen raises many types
        return None  # a corrupt cache entry is refetched
    info = {"source": "materials-project", "material_id": record["material_id"],
            "energy_above_hull": record["energy_above_hull"], "cache": str(path), "retrieved": record.get("retrieved"),
            "lattice_abc": [round(x, 6) for x in structure.lattice.abc]}
    return structure, info


def query(formula: str, space_group: str, *, api_key: str, endpoint: str | None = None) -> list[Any]:
    """Run the summary search with the real client; network errors become ConfigError."""
    try:
        from mp_api.client import MPRester
    except ImportError:
        raise PluginError("the Materials Project source needs mp-api: pip install 'ingrained[mp]' (or pip install mp-api)") from None
    kwargs: dict[str, Any] = {"api_key": api_key, "mute_progress_bars": True}
    if endpoint:
        kwargs["endpoint"] = endpoint
    try:
        with MPRester(**kwargs) as mpr:
            return list(mpr.materials.summary.search(**search_kwargs(formula, space_group)))
    except Exception as exc:  # noqa: BLE001 - requests/urllib3/MPRestError: all mean "no answer"
        msg = str(exc).replace(api_key, "***")
        raise ConfigError(
            f"cannot reach the Materials Project for {formula} {space_group} ({type(exc).__name__}: {msg[:200]}); "
            "offline? give the grain's bulk cell as unit_cell = \"file.cif\" or use source = \"library\" "
            "(bundled cells), or run once online to fill the cache"
        ) from None


def fetch_structure(formula: str, space_group: str, *, field_prefix: str = "", cache_dir: Path | None = None,
                    api_key: str | None = None, endpoint: str | None = None, refresh: bool = False
                    ) -> tuple[Any, dict[str, Any]]:
    """The conventional cell for (formula, space group): from the cache, else from the MP."""
    formula, space_group = normalise_query(formula, space_group, field_prefix)
    if not refresh:
        hit = load_cached(formula, space_group, cache_dir)
        if hit is not None:
            return hit
    key = api_key or os.environ.get("MP_API_KEY")
    if not key:
        raise ConfigError(
            f"{(field_prefix.rstrip('.') + ': ') if field_prefix else ''}{formula} {space_group} is not in the Materials Project cache "
            f"({cache_path(formula, space_group, cache_dir).parent}) and no API key is set (MP_API_KEY); "
            "give the bulk cell as unit_cell = \"file.cif\" or use source = \"library\""
        )
    docs = query(formula, space_group, api_key=key, endpoint=endpoint)
    candidates = parse_documents(docs)
    if not candidates:
        raise ConfigError(f"{field_prefix}space_group: the Materials Project has no {formula} in {space_group}")
    store(formula, space_group, candidates, cache_dir)
    hit = load_cached(formula, space_group, cache_dir)
    assert hit is not None
    return hit


class MaterialsProjectConfig(BaseModel):
    """Config of the ``materials-project`` builder."""

    model_config = ConfigDict(extra="forbid")

    formula: str = Field(description="chemical formula, e.g. 'CdTe'")
    space_group: str = Field(description="Hermann–Mauguin symbol, e.g. 'F-43m'")
    api_key: SecretStr | None = Field(None, description="API key (default: $MP_API_KEY); never written anywhere")
    endpoint: str | None = Field(None, description="API endpoint (default: the client's)")
    cache_dir: Path | None = Field(None, description="cache directory (default $INGRAINED_MP_CACHE or ~/.cache/ingrained/mp)")
    refresh: bool = Field(False, description="ignore the cache and query again")

    _resolve = field_validator("cache_dir", mode="before")(resolve_path)


class MaterialsProjectBuilder:
    """The conventional standard cell of the most stable MP entry with this formula and space group."""

    name: ClassVar[str] = "materials-project"
    Config: ClassVar[type[BaseModel]] = MaterialsProjectConfig

    def build(self, config: MaterialsProjectConfig) -> BuildResult:
        s, info = fetch_structure(
            config.formula, config.space_group, cache_dir=config.cache_dir,
            api_key=config.api_key.get_secret_value() if config.api_key else None,
            endpoint=config.endpoint, refresh=config.refresh,
        )
        return BuildResult(structure=s, report={"builder": self.name, **info, "n_atoms": len(s)})
