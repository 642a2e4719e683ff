"""``ingrained screen``: rank candidate structures or densities against one image (paper Case 4)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("config", type=click.Path(path_type=Path))
@click.argument("more_candidates", nargs=-1, type=click.Path(path_type=Path))
@click.option("--candidates", "-c", "candidates", multiple=True, type=click.Path(path_type=Path),
              help="candidate file or folder (structure files for HAADF models, densities for STM); "
                   "every path after it is a candidate too")
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), required=True, help="output folder")
@click.option("--starts", type=int, default=None, help="starts per candidate (optimizer.starts)")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="address of an existing dask.distributed scheduler (default: a local cluster)")
@click.option("--workers", type=int, default=None, help="local cluster size (default: the machine's cores)")
@click.option("--executor", type=click.Choice(["dask", "processes", "serial"]), default="dask", show_default=True,
              help="how candidates run in parallel")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override any config field (repeatable)")
@click.option("--max-evals", type=int, default=None, help="evaluations per start (optimizer.max_evals)")
@click.option("--time-limit", type=float, default=None, help="wall-time limit per candidate in seconds")
@click.option("--force", is_flag=True, help="replace the contents of a non-empty output folder")
@click.option("--quiet", is_flag=True, help="print only warnings, errors and the ranking path")
def screen(config: Path, more_candidates: tuple[Path, ...], candidates: tuple[Path, ...], out: Path,
           starts: int | None, scheduler: str | None, workers: int | None, executor: str,
           overrides: tuple[str, ...], max_evals: int | None, time_limit: float | None, force: bool,
           quiet: bool) -> None:
    """Fuse every candidate into the image of CONFIG and rank them by best FOM.

    CONFIG is a run configuration (docs/configuration.md); each candidate replaces its
    [structure] path (HAADF) or forward_model.input (STM density). Writes ranking.csv,
    ranking.md, contact_sheet.png and one run directory per candidate under OUT/candidates.
    """
    from ingrained_core.apps.api import shortcut_overrides
    from ingrained_core.engine.reporting import ConsoleReporter, QuietReporter
    from ingrained_core.apps.screen import screen as api_screen

    paths = list(candidates) + list(more_candidates)
    if not paths:
        raise click.UsageError("give the candidates: --candidates PATH [PATH...]")
    result = api_screen(
        config, paths, out, starts=starts, executor=executor, scheduler=scheduler, workers=workers, force=force,
        overrides=list(overrides) + shortcut_overrides(max_evals=max_evals, time_limit=time_limit),
        reporter=QuietReporter() if quiet else ConsoleReporter(),
    )
    if not quiet:
        click.echo((result.out / "ranking.md").read_text())
    click.echo(str(result.out / "ranking.csv"))
    if result.best is None:
        raise SystemExit(1)
