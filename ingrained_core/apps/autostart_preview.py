"""The lattice panel of ``ingrained preview``: the preprocessed image's power spectrum with
the lattice peaks an automatic start uses, and (when the config asks for ``start = "auto"``)
the estimate itself, without the global stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def lattice_estimate(config: Path) -> dict[str, Any] | None:
    """start.json's content for ``config`` (estimation only), or None when no start is automatic."""
    from ingrained_core.engine.autostart.resolve import start_record
    from ingrained_core.engine.config import load_config, read_config_file
    from ingrained_core.engine.problem import build_problem

    raw = read_config_file(config)
    params = ((raw.get("forward_model") or {}).get("params") or {})
    if not any(v == "auto" or (isinstance(v, dict) and (v.get("start") == "auto" or v.get("auto"))) for v in params.values()):
        return None
    problem = build_problem(load_config(config, ["autostart.evaluate=false"]))
    return start_record(problem)


def add_lattice_panel(fig: Any, image: Any, config: Path) -> list[str]:
    """Draw the spectrum inset with the detected peaks on the preprocessed panel (the
    figure's second axes); return notes for the console (estimate, or why none)."""
    from ingrained_core.engine.autostart.peaks import NoLatticeError, lattice_peaks
    from ingrained_core.plugin.errors import IngrainedError

    notes: list[str] = []
    ax = fig.axes[1]
    data = np.asarray(image.data, dtype=float)
    try:
        peaks = lattice_peaks(data, name=str(image.source.name if image.source else "experiment"))
    except NoLatticeError as exc:
        notes.append(str(exc))
        return notes
    h, w = data.shape
    a = (data - data.mean()) * np.hanning(h)[:, None] * np.hanning(w)[None, :]
    spec = np.log(np.abs(np.fft.fftshift(np.fft.fft2(a))) ** 2 + 1e-300)
    kmax = min(0.5, 1.3 * float(np.abs(peaks.k).max()))
    inset = ax.inset_axes([0.6, 0.6, 0.4, 0.4])
    lo, hi = np.percentile(spec, [50, 99.9])
    inset.imshow(spec, cmap="magma", vmin=lo, vmax=hi, extent=(-0.5, 0.5, 0.5, -0.5), interpolation="nearest")
    for sign in (1, -1):
        inset.scatter(sign * peaks.k[:, 0], sign * peaks.k[:, 1], s=28, facecolors="none", edgecolors="#30ff60",
                      linewidths=0.9)
    inset.set_xlim(-kmax, kmax)
    inset.set_ylim(kmax, -kmax)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_title(f"{peaks.k.shape[0]} lattice peaks", fontsize=7, color="white", pad=2)
    notes.append(f"lattice peaks: {peaks.k.shape[0]}, periods "
                 + ", ".join(f"{p:.2f}" for p in peaks.periods_px[:6]) + " px (strongest first)")
    try:
        rec = lattice_estimate(config)
    except IngrainedError as exc:
        notes.append(f"automatic start: {exc}")
        return notes
    if rec and rec.get("estimate"):
        est = ", ".join(f"{k} {v:.4g}" for k, v in rec["estimate"].items())
        notes.append(f"automatic start (best lattice match of {len(rec.get('candidates', []))} candidates): {est}")
        lines = [f"{k} {v:.4g}" for k, v in rec["estimate"].items()]
        ax.text(0.01, 0.01, "auto start:\n" + "\n".join(lines), transform=ax.transAxes, fontsize=7, color="#30ff60",
                va="bottom", ha="left", bbox={"facecolor": "black", "alpha": 0.5, "pad": 2})
    elif rec:
        notes.append(f"automatic start: {rec.get('error', rec.get('status'))}")
    return notes
