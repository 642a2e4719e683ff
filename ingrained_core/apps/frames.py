"""Progress frames of a run: re-evaluate logged evaluations and render panels (and a movie).

Like the paper's figures and videos: each frame shows the experiment, the simulation, the
fused image and the residual with the FOM of that evaluation (the talk figure's drawing,
:mod:`.figures`, at 100 dpi). Frames are recomputed from the logged
parameters (the objective is deterministic), so a run directory alone is enough.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

from ingrained_core.plugin.errors import ConfigError, RunDirectoryError
from ingrained_core.engine.progress import read_progress


def select_rows(rows: list[dict[str, Any]], select: str) -> list[dict[str, Any]]:
    """Rows chosen by ``best``, ``improvements``, ``all`` or evaluation ranges like ``1-8,12``."""
    feasible = [r for r in rows if r["d_trans"] >= 0]
    if not feasible:
        return []
    sel = select.strip().lower()
    if sel == "best":
        return [min(feasible, key=lambda r: (r["fom"], r["eval"]))]
    if sel == "all":
        return list(feasible)
    if sel == "improvements":
        out, best = [], float("inf")
        for r in feasible:
            if r["fom"] < best:
                best = r["fom"]
                out.append(r)
        return out
    ranges: list[tuple[int, int]] = []
    try:
        for part in sel.split(","):
            a, _, b = part.partition("-")
            lo, hi = int(a), int(b or a)
            if lo < 1 or hi < lo:
                raise ValueError
            ranges.append((lo, hi))
    except ValueError:
        raise ConfigError(f"--select expects best, improvements, all or ranges like 1-8,12; got {select!r}") from None
    # the ranges are intersected with the logged evaluations, never materialised
    out = [r for r in feasible if any(lo <= r["eval"] <= hi for lo, hi in ranges)]
    if not out:
        first, last = rows[0]["eval"], rows[-1]["eval"]
        raise ConfigError(f"--select {select!r}: no feasible logged evaluation in that range; the log holds "
                          f"evaluations {first}-{last}")
    return out


def _progress_source(run_dir: Path) -> Path:
    from ingrained_core.engine.rundir import read_json

    best = read_json(run_dir / "best.json") or {}
    if (run_dir / "starts").is_dir() and type(best.get("start")) is int and 0 <= best["start"] < 100:
        return run_dir / "starts" / f"{best['start']:02d}" / "progress.csv"
    return run_dir / "progress.csv"


def render_frames(run_dir: str | Path, select: str = "improvements", movie: bool = False, fps: int = 4,
                  progress: Callable[[str, int, int], None] | None = None) -> list[Path]:
    """Write ``frames/frame_NNNNN.png`` for the selected evaluations (and ``frames/progress.mp4``).

    An earlier set of frames is replaced as a whole, never mixed with the new one: the frames
    are rendered into ``frames.partial/`` and swapped in when complete. ``progress(what,
    done, total)`` is called as frames render (``what`` = ``"frames"``) and for the movie.
    Frames use the talk figure's conventions (one magnification, scale bars) at 100 dpi,
    all of one size so that they encode into one movie.
    """
    from ingrained_core.apps.figures import FRAME_DPI, fused_figure
    from ingrained_core.apps.outputs import free_parameters, load_run_files, model_description
    from ingrained_core.engine.problem import build_problem
    from ingrained_core.engine.run import load_run_config
    from ingrained_core.plugin import files as atomic

    run_dir = Path(run_dir)
    files = load_run_files(run_dir)  # one clear error for an incomplete or foreign run directory
    src = _progress_source(run_dir)
    if not src.exists():
        raise RunDirectoryError(f"{run_dir} is incomplete: {src.relative_to(run_dir)} is missing")
    header, rows = read_progress(src)
    if not rows:
        raise RunDirectoryError(f"{src}: no evaluations logged")
    chosen = select_rows(rows, select)
    if not chosen:
        raise ConfigError(f"--select {select!r} matches no feasible evaluation in {src}")
    described = model_description(files.config_data)
    units = {n: d.get("unit", "") for n, d in described.items()}
    free = [p["name"] for p in free_parameters(files, described)] or None
    problem = build_problem(load_run_config(files.config_path.parent))
    out_dir = run_dir / "frames"
    if out_dir.is_symlink():
        raise RunDirectoryError(f"{out_dir} is a symbolic link; frames are written only into the run directory "
                                "itself (remove the link)")
    partial = run_dir / "frames.partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir()
    except OSError as exc:
        raise RunDirectoryError(f"cannot create {partial}: {exc.strerror or exc}") from None
    slot = (int(max(r.get("crop_height", 0) for r in chosen)), int(max(r.get("crop_width", 0) for r in chosen)))
    names: list[str] = []
    try:
        for k, row in enumerate(chosen):
            if progress is not None:
                progress("frames", k, len(chosen))
            values = {name: row[name] for name in problem.space.names}
            ev = problem.evaluate(values)
            fig = fused_figure(problem.experiment.data, ev.simulation, ev.patch_dict(), fom=ev.fom, d_trans=ev.d_trans,
                               d_sim=ev.d_sim, alpha=problem.alpha, beta=problem.beta,
                               pixel_size=ev.values.get("pixel_size"), params=ev.values, units=units, free=free,
                               title=f"{files.name}: evaluation {row['eval']}", dpi=FRAME_DPI,
                               slot=(max(slot[0], ev.simulation.shape[0]), max(slot[1], ev.simulation.shape[1])))
            name = f"frame_{k:05d}.png"
            atomic.write_figure(partial / name, fig, dpi=FRAME_DPI)
            names.append(name)
        if progress is not None:
            progress("frames", len(chosen), len(chosen))
        if movie:
            if progress is not None:
                progress("movie", 0, 1)
            make_movie(partial, fps)
            if progress is not None:
                progress("movie", 1, 1)
        shutil.rmtree(out_dir, ignore_errors=True)
        partial.rename(out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    written = [out_dir / n for n in names]
    if movie:
        written.append(out_dir / "progress.mp4")
    return written


def ffmpeg_executable() -> str:
    """The ffmpeg on PATH, else the one shipped by imageio-ffmpeg."""
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg
    except ImportError:  # the optional extra 'movie'
        raise ConfigError("no ffmpeg found for --movie: install ffmpeg, or pip install 'ingrained[movie]' (imageio-ffmpeg)") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def make_movie(frames_dir: Path, fps: int = 4) -> Path:
    """Encode ``frame_*.png`` into ``progress.mp4`` (ffmpeg called with an argument list)."""
    out = frames_dir / "progress.mp4"
    cmd = [
        ffmpeg_executable(), "-y", "-loglevel", "error", "-framerate", str(int(fps)),
        "-i", str(frames_dir / "frame_%05d.png"),
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RunDirectoryError(f"ffmpeg failed to write {out}: {proc.stderr.strip()[-500:]}")
    return out
