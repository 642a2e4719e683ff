"""``ingrained preview``: the experimental image as read and as preprocessed, with the region used.

Reads only the ``[experiment]`` table of a run config (TOML or JSON); the other sections
are ignored, so a preview works before the structure or the model is set up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def load_experiment_table(config: Path) -> Any:
    """The validated ``[experiment]`` table of a run config (paths relative to the config)."""
    from pydantic import ValidationError

    from ingrained_core.engine.config import read_config_file
    from ingrained_core.plugin.errors import ConfigError
    from ingrained_core.engine.experiment import ExperimentConfig

    config = config.resolve()
    data = read_config_file(config)
    table = data.get("experiment")
    if not isinstance(table, dict):
        raise ConfigError(f"{config}: no [experiment] table (the image file, reader and preprocessing)")
    try:
        return ExperimentConfig.model_validate(table, context={"base_dir": config.parent})
    except ValidationError as exc:
        from ingrained_core.plugin.errors import format_user_error

        raise ConfigError(f"{config}: [experiment] {format_user_error(exc)}") from None


def preview_figure(stages: Any, dpi: int = 150) -> Any:
    """Raw image | preprocessed image with the region outlined, at one magnification, with scale bars."""
    from ingrained_core.apps.figures import image_row

    def px(image: Any) -> str:
        return f"pixel {image.pixel_size:.5g} Å" if image.pixel_size is not None else "pixel size unknown"

    raw, processed = stages.raw, stages.processed
    n_steps = len(processed.metadata.get("preprocess", []))
    pre_label = f"preprocessed ({n_steps} step{'s' if n_steps != 1 else ''})\n{processed.shape[0]} x {processed.shape[1]} px, {px(processed)}"
    boxes = []
    notes = []
    if stages.region is not None:
        r0, r1, c0, c1 = stages.region
        boxes.append((r0, c0, r1 - r0, c1 - c0))
        notes.append(f"region rows {r0}:{r1}, cols {c0}:{c1} ({r1 - r0} x {c1 - c0} px) - the part that is fitted")
    notes.extend(str(n) for n in stages.final.notices)
    panels = [
        {"image": raw.data, "label": f"as read\n{raw.shape[0]} x {raw.shape[1]} px, {px(raw)}", "pixel_size": raw.pixel_size},
        {"image": processed.data, "label": pre_label, "pixel_size": processed.pixel_size, "boxes": boxes},
    ]
    source = raw.source.name if raw.source is not None else ""
    return image_row(panels, title=f"{source}", subtitle=f"reader {raw.metadata.get('reader', '?')}",
                     notes=notes, dpi=dpi)


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=Path("preview.png"),
              show_default=True, help="PNG to write (atomically)")
def preview(config: Path, out: Path) -> None:
    """Show the experimental image of CONFIG as read and as preprocessed, with the region used."""
    from ingrained_core.plugin import files as atomic
    from ingrained_core.engine.experiment import prepare_experiment

    cfg = load_experiment_table(config)
    stages = prepare_experiment(cfg)
    fig = preview_figure(stages)
    from ingrained_core.apps.autostart_preview import add_lattice_panel

    lattice_notes = add_lattice_panel(fig, stages.processed, config.resolve())  # peaks; estimate if start = "auto"
    if out.suffix.lower() != ".png":
        out = out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_figure(out, fig, dpi=150)
    for note in stages.final.notices:
        click.echo(f"  {note}")
    for note in lattice_notes:
        click.echo(f"  {note}")
    click.echo(f"{out}: {stages.final.describe()}")
