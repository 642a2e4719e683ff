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
    from ingrained_core.apps.figures import FIGURE_DPI, fused_figure, height_label, image_row, parameter_lines

    png = out.with_suffix(".png")
    if from_run is not None and params is None:
        # the run's own figure conventions: experiment | simulation | fused | residual
        from ingrained_core.apps.outputs import load_run_files, model_description

        files = load_run_files(from_run)
        best = files.best
        units = {n: d.get("unit", "") for n, d in model_description(files.config_data).items()}
        if array.shape == files.simulation.shape:
            fig = fused_figure(files.experiment, array, best["patch"], fom=best["fom"], d_trans=best["d_trans"],
                               d_sim=best["d_sim"], alpha=best.get("alpha"), beta=best.get("beta"),
                               pixel_size=pixel_size, params=used, units=units,
                               title=f"{files.name}: best simulation, regenerated", dpi=FIGURE_DPI)
            atomic.write_figure(png, fig, dpi=FIGURE_DPI)
            click.echo(f"{out} ({array.shape[0]} x {array.shape[1]} px, pixel {pixel_size:.5f} Å)")
            return
    from ingrained_core.apps.outputs import model_description

    cfg_data = _config_data(config, from_run)
    described = model_description(cfg_data)
    units = {n: d.get("unit", "") for n, d in described.items()}
    fm = cfg_data.get("forward_model") or {}
    free = [n for n, d in described.items() if d.get("free")] or None
    panel = {"image": array, "label": f"simulation\n{array.shape[0]} x {array.shape[1]} px, pixel {pixel_size:.4g} Å",
             "pixel_size": pixel_size, "colorbar": height_label(fm.get("name", ""), fm.get("options"))}
    fig = image_row([panel], title=f"{fm.get('name', '')} simulation", width_in=6.0,
                    notes=parameter_lines(used, units, free), dpi=FIGURE_DPI)
    atomic.write_figure(png, fig, dpi=FIGURE_DPI)
    click.echo(f"{out} ({array.shape[0]} x {array.shape[1]} px, pixel {pixel_size:.5f} Å)")


def _config_data(config: Path | None, from_run: Path | None) -> dict:  # type: ignore[type-arg]
    from ingrained_core.engine.config import read_config_file

    path = config if config is not None else Path(from_run) / "config.toml"  # type: ignore[arg-type]
    return read_config_file(path)
