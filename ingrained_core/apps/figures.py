"""Figures of a run: the fused panel (experiment | simulation | simulation set inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def match_intensity(simulation: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """The simulation linearly mapped to the patch's mean and standard deviation."""
    s = np.asarray(simulation, dtype=float)
    sd = s.std()
    z = (s - s.mean()) / sd if sd > 0 else s - s.mean()
    return z * float(np.std(patch)) + float(np.mean(patch))


def fused_image(experiment: np.ndarray, simulation: np.ndarray, row: int, col: int) -> np.ndarray:
    """The experiment with the intensity-matched simulation set in at (row, col)."""
    out = np.array(experiment, dtype=float, copy=True)
    h, w = simulation.shape
    patch = out[row : row + h, col : col + w]
    out[row : row + h, col : col + w] = match_intensity(simulation, patch)
    return out


def fused_figure(
    experiment: np.ndarray,
    simulation: np.ndarray,
    patch: dict[str, int],
    *,
    fom: float,
    d_trans: int,
    d_sim: float,
    title: str = "",
) -> Any:
    """A matplotlib figure: experiment | simulation | simulation set into the experiment."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    row, col, h, w = patch["row"], patch["col"], patch["height"], patch["width"]
    fused = fused_image(experiment, simulation, row, col)
    fig = Figure(figsize=(12, 4.4), dpi=100)
    axes = fig.subplots(1, 3)
    panels = [
        (experiment, "experiment"),
        (simulation, f"simulation ({h} x {w} px)"),
        (fused, f"fused: FOM {fom:.4f} (d_trans {d_trans}, d_sim {d_sim:.4f})"),
    ]
    for ax, (img, label) in zip(axes, panels):
        ax.imshow(img, cmap="gray", interpolation="nearest")
        ax.set_title(label, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in (axes[0], axes[2]):
        ax.add_patch(Rectangle((col - 0.5, row - 0.5), w, h, fill=False, edgecolor="#ffb000", linewidth=1.2))
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.93) if title else None)
    return fig


def save_fused_png(path: str | Path, experiment: np.ndarray, simulation: np.ndarray, best: dict[str, Any]) -> None:
    """Write ``fused.png`` atomically from an experiment, a simulation and a best.json mapping."""
    from ingrained_core.plugin.files import write_figure

    fig = fused_figure(
        experiment,
        simulation,
        best["patch"],
        fom=best["fom"],
        d_trans=best["d_trans"],
        d_sim=best["d_sim"],
        title=f"{best.get('forward_model', '')} - evaluation {best.get('evaluation')}",
    )
    write_figure(path, fig)
