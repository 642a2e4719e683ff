"""``ingrained report``: (re)build ``report.html`` of runs, and compare runs side by side."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--outputs", is_flag=True,
              help="also rewrite the figure and the calibrated files (fused.png/svg/pdf, TIFFs, results.hspy)")
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=None,
              help="comparison page for several runs (default: comparison.html in the working directory)")
def report(runs: tuple[Path, ...], outputs: bool, out: Path | None) -> None:
    """Write RUN/report.html for each run (a run, one of its starts, a candidate or a screen);
    with several runs, also one page comparing them side by side."""
    from ingrained_core.apps.outputs import OutputError, finish_run
    from ingrained_core.apps.report import compare_runs, write_report
    from ingrained_core.plugin import files as atomic

    for run in runs:
        if outputs and (run / "best.json").exists():
            finish_run(run, report=True, strict=True, full=True)
            click.echo(run.resolve() / "report.html")
            continue
        try:
            click.echo(write_report(run))
        except OSError as exc:
            raise OutputError(f"could not write {run.resolve() / 'report.html'}: {exc.strerror or exc} "
                              "(the run's results are intact)") from None
    if len(runs) > 1:
        path = (out or Path("comparison.html")).resolve()
        page = compare_runs(list(runs))
        try:
            atomic.write_text(path, page)
        except OSError as exc:
            raise OutputError(f"could not write {path}: {exc.strerror or exc}") from None
        click.echo(path)
