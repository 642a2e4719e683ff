"""``ingrained frames``: progress panels (and a movie) of a run, with a progress bar."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--select", default="improvements", show_default=True,
              help="best, improvements, all, or evaluation ranges like 1-8,12")
@click.option("--movie", is_flag=True, help="also encode frames/progress.mp4 (ffmpeg)")
@click.option("--fps", default=4, show_default=True, help="frames per second of the movie")
@click.option("--quiet", is_flag=True, help="no progress bar")
def frames(run_dir: Path, select: str, movie: bool, fps: int, quiet: bool) -> None:
    """Render progress frames of RUN_DIR into RUN_DIR/frames/ (an earlier set is replaced)."""
    from ingrained_core.apps.frames import render_frames

    if quiet:
        paths = render_frames(run_dir, select=select, movie=movie, fps=fps)
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(what: str, done: int, total: int) -> None:
                if what not in tasks:
                    label = "rendering frames" if what == "frames" else "encoding the movie"
                    tasks[what] = bar.add_task(label, total=total)
                bar.update(tasks[what], completed=done, total=total)

            paths = render_frames(run_dir, select=select, movie=movie, fps=fps, progress=progress)
    click.echo(f"wrote {len(paths)} file(s) to {run_dir / 'frames'}")
