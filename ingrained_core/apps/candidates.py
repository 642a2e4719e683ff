"""Writing a recipe's structure candidates: ``candidates/NN-<name>/`` (structure.cif,
structure.vasp, strain.json), a table (``candidates.csv``, ``candidates.md``) and a contact
sheet of the projected structures (``candidates.png``), the layout ``screen`` uses."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.plugin import files as atomic


def write_structure_files(result: Any, out: Path, cif: bool = True) -> dict[str, Path]:
    """Write structure.cif (unless ``cif`` is false), structure.vasp and strain.json into
    ``out`` (atomic writes)."""
    from pymatgen.io.cif import CifWriter
    from pymatgen.io.vasp import Poscar

    out.mkdir(parents=True, exist_ok=True)
    s = result.structure
    paths = {"cif": out / "structure.cif", "poscar": out / "structure.vasp", "report": out / "strain.json"}
    if cif:
        atomic.write_text(paths["cif"], str(CifWriter(s)))
    else:
        del paths["cif"]
    poscar = Poscar(s.copy(site_properties={}) if s.site_properties else s)
    atomic.write_text(paths["poscar"], poscar.get_str() if hasattr(poscar, "get_str") else str(poscar))
    atomic.write_json(paths["report"], result.report)
    return paths


def candidate_dir(out: Path, cand: Any) -> Path:
    return out / "candidates" / f"{cand.index:02d}-{cand.name}"


def write_candidates(cands: list[Any], out: Path, recipe: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every candidate's files (structure.vasp, strain.json and, given the ``recipe``
    mapping, ``recipe.json``: the recipe with this candidate's choices fixed), the table and
    the contact sheet; returns the table rows."""
    from ingrained_core.builtins.structures.enumerate import (
        TABLE_FIELDS,
        pin,
        table_rows,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = table_rows(cands)
    for cand, row in zip(cands, rows):
        d = candidate_dir(out, cand)
        write_structure_files(cand.result, d, cif=False)
        if recipe is not None:
            atomic.write_json(d / "recipe.json", pin(recipe, cand.result.report))
        row["dir"] = str(d.relative_to(out))
    fields = TABLE_FIELDS + ["dir"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    atomic.write_text(out / "candidates.csv", buf.getvalue())
    atomic.write_text(out / "candidates.md", markdown_table(rows))
    write_projection_sheet(out / "candidates.png", cands)
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = ("| # | name | width k1/k2 | strain width % | upper cut (index, Å, height) | lower cut | atoms | "
            "composition | cell (Å) | min dist (Å) | merged |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['index']} | {r['name']} | {r['k1']}/{r['k2']} | {r['strain1_width_percent']:+.3f} / "
            f"{r['strain2_width_percent']:+.3f} | {r['slab_1_termination_index']}, {r['slab_1_termination']:.3f}, "
            f"{r['slab_1_height']} | {r['slab_2_termination_index']}, {r['slab_2_termination']:.3f}, "
            f"{r['slab_2_height']} | {r['n_atoms']} | {r['composition']} | "
            f"{r['cell_a']:.3f} x {r['cell_b']:.3f} x {r['cell_c']:.3f} | {r['min_distance']:.3f} | "
            f"{r['merged_raw_indices'] or '-'} |")
    return "\n".join(lines) + "\n"


def write_projection_sheet(path: Path, cands: list[Any], columns: int = 6) -> None:
    """One panel per candidate: its atoms projected along the beam (width across, height up)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from ingrained_core.plugin.files import write_figure

    n = max(1, len(cands))
    cols = min(columns, n)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(2.2 * cols, 3.2 * nrows), dpi=90)
    axes = np.atleast_1d(fig.subplots(nrows, cols)).ravel()
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    for ax in axes:
        ax.axis("off")
    for ax, cand in zip(axes, cands):
        s = cand.result.structure
        _, W, H = s.lattice.abc
        frac = np.mod(np.asarray(s.frac_coords), 1.0)
        els = np.array([site.specie.symbol for site in s])
        z = np.array([site.specie.Z for site in s])
        for k, el in enumerate(sorted(set(els), key=lambda e: -z[els == e][0])):
            m = els == el
            ax.scatter(frac[m, 1] * W, frac[m, 2] * H, s=4 + 0.1 * z[m], c=colours[k % len(colours)], label=el,
                       linewidths=0)
        ax.set_xlim(0, W)
        ax.set_ylim(0, H)
        ax.set_aspect("equal")
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{cand.index:02d} {cand.name}\n{len(s)} atoms", fontsize=7)
    if cands:
        axes[0].legend(fontsize=6, loc="upper right", markerscale=1.5)
    fig.tight_layout()
    write_figure(path, fig, bbox_inches="tight", pad_inches=0.1)
