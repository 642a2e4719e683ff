"""``ingrained simulate``: one simulated image (NumPy + PNG) from a config or a run."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("config", type=click.Path(path_type=Path), required=False)
@click.option("--params", "params", type=click.Path(path_type=Path), default=None,
              help="a best.json whose 'params' to use (default: the config's start point)")
@click.option("--from-run", "from_run", type=click.Path(path_type=Path), default=None,
              help="regenerate a run's best simulation from its directory alone")
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), required=True,
              help="output .npy file (a .png of the same name is written beside it)")
def simulate(config: Path | None, params: Path | None, from_run: Path | None, out: Path) -> None:
    """Simulate one image at the start point, at given parameters, or at a run's best."""
    from ingrained_core.plugin import files as atomic
    from ingrained_core.apps.api import simulate as api_simulate
    from ingrained_core.plugin.errors import ConfigError

    if (config is None) == (from_run is None):
        raise ConfigError("give either CONFIG or --from-run RUN_DIR")
    array, pixel_size, used = api_simulate(config, params=params, from_run=from_run)
    out = out if out.suffix == ".npy" else out.with_suffix(".npy")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_npy(out, array)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5 * array.shape[0] / array.shape[1]))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(array, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    atomic.write_figure(out.with_suffix(".png"), fig)
    click.echo(f"{out} ({array.shape[0]} x {array.shape[1]} px, pixel {pixel_size:.5f} Å)")
