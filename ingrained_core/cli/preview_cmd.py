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
        from ingrained_core.cli import format_user_error

        raise ConfigError(f"{config}: [experiment] {format_user_error(exc)}") from None


def preview_figure(stages: Any) -> Any:
    """A matplotlib figure: raw image | preprocessed image with the region outlined."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    def px(image: Any) -> str:
        return f"pixel {image.pixel_size:.5g} Å" if image.pixel_size is not None else "pixel size unknown"

    raw, processed = stages.raw, stages.processed
    fig = Figure(figsize=(11, 5.6), layout="constrained")
    ax_raw, ax_pre = fig.subplots(1, 2)
    ax_raw.imshow(raw.data, cmap="gray", interpolation="nearest")
    ax_raw.set_title(f"as read: {raw.shape[0]} x {raw.shape[1]} px, {px(raw)}", fontsize=10)
    ax_pre.imshow(processed.data, cmap="gray", interpolation="nearest")
    n_steps = len(processed.metadata.get("preprocess", []))
    title = f"preprocessed ({n_steps} step{'s' if n_steps != 1 else ''}): {processed.shape[0]} x {processed.shape[1]} px, {px(processed)}"
    if stages.region is not None:
        r0, r1, c0, c1 = stages.region
        ax_pre.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, edgecolor="#ff3030",
                                   linewidth=1.5))
        title += f"\nregion rows {r0}:{r1}, cols {c0}:{c1} ({r1 - r0} x {c1 - c0} px)"
    ax_pre.set_title(title, fontsize=10)
    for ax in (ax_raw, ax_pre):
        ax.set_xlabel("column (px)")
        ax.set_ylabel("row (px)")
    source = raw.source.name if raw.source is not None else ""
    fig.suptitle(f"{source} (reader {raw.metadata.get('reader', '?')})", fontsize=11)
    return fig


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
    atomic.write_figure(out, fig, dpi=110)
    for note in stages.final.notices:
        click.echo(f"  {note}")
    for note in lattice_notes:
        click.echo(f"  {note}")
    click.echo(f"{out}: {stages.final.describe()}")
