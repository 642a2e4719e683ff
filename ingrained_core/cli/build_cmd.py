"""``ingrained build CONFIG --out DIR``: build a structure and write CIF, POSCAR and strain report.

CONFIG is either the paper's bicrystal JSON (top-level ``slab_1``, ``slab_2``,
``constraints``) or a TOML/JSON run config with a ``[structure]`` table (``builder = ...``
plus that builder's fields). Paths resolve relative to CONFIG. Writes ``structure.cif``,
``structure.vasp`` and ``strain.json`` (the builder's report) atomically, and prints the
strain line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def load_builder_config(config: Path, rebuild: bool = False) -> tuple[Any, Any]:
    """(builder instance, validated builder config) from a paper JSON or a ``[structure]`` table."""
    from pydantic import ValidationError

    from ingrained_core.engine.config import read_config_file
    from ingrained_core.plugin.errors import ConfigError
    from ingrained_core.engine.registry import get_registry

    config = config.resolve()
    data = read_config_file(config)
    if "slab_1" in data or "slab_2" in data:
        name, fields, where = "bicrystal", dict(data), "bicrystal config"
    elif isinstance(data.get("structure"), dict):
        from ingrained_core.engine.screen_options import SCREEN_KEYS

        fields = {k: v for k, v in data["structure"].items() if k not in SCREEN_KEYS}  # the fuse's screen keys
        name, where = fields.pop("builder", "file"), "[structure]"
    else:
        raise ConfigError(
            f"{config}: expected the paper's bicrystal keys (slab_1, slab_2, constraints) or a [structure] table "
            "with builder = \"...\""
        )
    if rebuild:
        if name != "bicrystal":
            raise ConfigError(f"{config}: --rebuild applies to the bicrystal builder, not {name!r}")
        fields["rebuild"] = True
    builder = get_registry().get("structure_builder", name)()
    try:
        cfg = builder.Config.model_validate(fields, context={"base_dir": config.parent})
    except ValidationError as exc:
        from ingrained_core.plugin.errors import format_user_error

        raise ConfigError(f"{config}: {where} {format_user_error(exc)}") from None
    return builder, cfg


def write_outputs(result: Any, out: Path) -> dict[str, Path]:
    """Write structure.cif, structure.vasp and strain.json into ``out`` (atomic writes)."""
    from ingrained_core.apps.candidates import write_structure_files

    return write_structure_files(result, out)


@click.command("build")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="directory for structure.cif, structure.vasp and strain.json")
@click.option("--rebuild", is_flag=True, help="build from the slabs even when the config names a structure_file")
@click.option("--enumerate", "enumerate_", is_flag=True,
              help="bicrystal: write every distinct candidate of the recipe (candidates/NN-<name>/), "
              "candidates.csv/.md and candidates.png")
def build(config: Path, out: Path, rebuild: bool, enumerate_: bool) -> None:
    """Build the structure of CONFIG (bicrystal JSON or [structure] table) into --out."""
    builder, cfg = load_builder_config(config, rebuild or enumerate_)
    if enumerate_:
        _enumerate(cfg, out)
        return
    result = builder.build(cfg)
    paths = write_outputs(result, out)
    line = result.report.get("strain_line") or (
        f"{result.report.get('formula', result.structure.composition.formula)}: "
        f"{len(result.structure)} atoms, cell " + " x ".join(f"{x:.4f}" for x in result.structure.lattice.abc) + " Å"
    )
    click.echo(line)
    click.echo(f"wrote {paths['cif']}, {paths['poscar']}, {paths['report']}")


def _enumerate(cfg: Any, out: Path) -> None:
    from ingrained_core.apps.candidates import write_candidates
    from ingrained_core.builtins.structures.bicrystal import BicrystalConfig
    from ingrained_core.builtins.structures.enumerate import enumerate_candidates
    from ingrained_core.plugin.errors import ConfigError

    if not isinstance(cfg, BicrystalConfig):
        raise ConfigError("--enumerate applies to the bicrystal builder (a recipe with slab_1, slab_2, constraints)")
    cands = enumerate_candidates(cfg)
    recipe = cfg.model_dump(mode="json", exclude_unset=True, exclude={"structure_file", "rebuild"})
    rows = write_candidates(cands, out, recipe)
    n_raw = cands[0].result.report["candidate"]["n_raw"] if cands else 0
    click.echo(f"{len(rows)} distinct candidates ({n_raw} enumerated, {n_raw - len(rows)} merged as the same "
               f"projection) -> {out}")
    click.echo(f"wrote {out / 'candidates.csv'}, {out / 'candidates.md'}, {out / 'candidates.png'}")
