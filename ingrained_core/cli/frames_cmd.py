"""``ingrained frames``: progress panels (and a movie) of a run."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--select", default="improvements", show_default=True,
              help="best, improvements, all, or evaluation ranges like 1-8,12")
@click.option("--movie", is_flag=True, help="also encode frames/progress.mp4 (ffmpeg)")
@click.option("--fps", default=4, show_default=True, help="frames per second of the movie")
def frames(run_dir: Path, select: str, movie: bool, fps: int) -> None:
    """Render progress frames of RUN_DIR into RUN_DIR/frames/."""
    from ingrained_core.apps.frames import render_frames

    paths = render_frames(run_dir, select=select, movie=movie, fps=fps)
    click.echo(f"wrote {len(paths)} file(s) to {run_dir / 'frames'}")
