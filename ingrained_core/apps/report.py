"""``report.html``: one self-contained page per run (or screen) to open in a browser.

The page holds everything inline (images as base64 PNG, no script, no network): the talk
figure, the FOM against evaluations and against time, each free parameter's trace with its
bounds, the parameter table with units, the calibration of the file against the fit and the
parameters at their bounds, notices, a multi-start's starts, a screen's ranking, and the
provenance (versions of ingrained and every plugin, the resolved config, the command).
:func:`compare_runs` puts several runs side by side on one page.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.plugin import files as atomic
from ingrained_core.plugin.errors import RunDirectoryError

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1200px;
color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em;margin:.4em 0} td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto} .traces{display:flex;flex-wrap:wrap;gap:.5em} .traces figure{margin:0;width:380px}
.warn{color:#a15c00} .bound{background:#fff1d6} pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:.8em;max-height:28em}
.cmp{display:grid;gap:1em} .muted{color:#777}
"""


# -- small helpers -------------------------------------------------------------------------
def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _fig_png(fig: Any, dpi: int = 100) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return _png_data_uri(buf.getvalue())


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        text = f"{v:.6g}"
    else:
        text = str(v)
    return f"{text} {unit}".strip()


def _img(uri: str, alt: str, cls: str = "", extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<img{c} src="{uri}" alt="{_e(alt)}"{extra}>'


def _table(header: list[str], rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    out = ["<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for k, r in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


# -- plots -----------------------------------------------------------------------------------
def _progress(run_dir: Path) -> tuple[list[str], list[dict[str, Any]]]:
    from ingrained_core.engine.progress import read_progress

    return read_progress(run_dir / "progress.csv")


def _feasible(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("d_trans", 0) >= 0 and math.isfinite(float(r.get("fom", math.nan)))]


def fom_plot(rows: list[dict[str, Any]]) -> str:
    """FOM (and best so far) against evaluations and against time, per start."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.4))
    ax_n, ax_t = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.15, top=0.96, wspace=0.2)
    by_start: dict[int, list[dict[str, Any]]] = {}
    for r in _feasible(rows):
        by_start.setdefault(int(r.get("start", 0)), []).append(r)
    for s, rs in sorted(by_start.items()):
        n = np.array([r["eval"] for r in rs])
        t = np.array([r["elapsed_s"] for r in rs])
        f = np.array([r["fom"] for r in rs])
        best = np.minimum.accumulate(f)
        label = f"start {s:02d}" if len(by_start) > 1 else "FOM"
        line, = ax_n.plot(n, f, ".", ms=2, alpha=0.35)
        ax_n.plot(n, best, "-", color=line.get_color(), lw=1.4, label=label + " (best so far)")
        ax_t.plot(t, f, ".", ms=2, alpha=0.35, color=line.get_color())
        ax_t.plot(t, best, "-", color=line.get_color(), lw=1.4)
    foms = np.array([r["fom"] for r in _feasible(rows)], dtype=float)
    if foms.size > 10:  # a few wild proposals must not flatten the curve that matters
        lo, hi = float(foms.min()), float(np.percentile(foms, 95))
        if hi > lo:
            for ax in (ax_n, ax_t):
                ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
    ax_n.set_xlabel("evaluation")
    ax_t.set_xlabel("fit time (s)")
    for ax in (ax_n, ax_t):
        ax.set_ylabel("FOM")
        ax.grid(alpha=0.3)
    if by_start:
        ax_n.legend(fontsize=7, loc="upper right")
    return _fig_png(fig)


def trace_plot(rows: list[dict[str, Any]], name: str, lo: float, hi: float, unit: str, fitted: float | None) -> str:
    """One free parameter against evaluation, with its bounds and the fitted value."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.8, 2.4))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.17, right=0.97, bottom=0.19, top=0.88)
    by_start: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        if name in r:
            by_start.setdefault(int(r.get("start", 0)), []).append(r)
    for _s, rs in sorted(by_start.items()):
        ax.plot([r["eval"] for r in rs], [r[name] for r in rs], "-", lw=0.7)
    for b in (lo, hi):
        ax.axhline(b, color="#c03000", ls="--", lw=0.8)
    if fitted is not None:
        ax.axhline(fitted, color="#2a7", lw=0.8)
    ax.set_title(f"{name} ({unit})" if unit else name, fontsize=9)
    ax.set_xlabel("evaluation", fontsize=8)
    ax.tick_params(labelsize=7)
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    ax.set_ylim(lo - pad, hi + pad)
    return _fig_png(fig)


# -- one run ------------------------------------------------------------------------------------
def _file_uri(path: Path) -> str | None:
    try:
        return _png_data_uri(path.read_bytes()) if path.exists() else None
    except OSError:
        return None


def run_sections(run_dir: Path, *, heading_level: int = 2) -> tuple[str, str]:
    """(title, HTML body) of one run directory."""
    from ingrained_core.apps.figures import bound_sides
    from ingrained_core.apps.outputs import bounds_reached, free_parameters, load_run_files, model_description

    files = load_run_files(run_dir)
    best = files.best
    described = model_description(files.config_data)
    free = free_parameters(files, described)
    at_bound = bound_sides(best.get("at_bound")) if best.get("at_bound") is not None else bounds_reached(best, free)
    units = {n: d.get("unit", "") for n, d in described.items()}
    h = f"h{heading_level}"
    parts = []
    title = files.name + (f" - start {int(best.get('start', 0)):02d}" if files.is_start else "")
    alpha, beta = best.get("alpha"), best.get("beta")
    terms = (f" = {alpha:g} x d_trans {best['d_trans']} px + {beta:g} x d_sim {best['d_sim']:.5f}"
             if alpha is not None and beta is not None else f" (d_trans {best['d_trans']}, d_sim {best['d_sim']:.5f})")
    parts.append(
        f"<p><b>FOM {best['fom']:.5f}</b>{_e(terms)}; model <b>{_e(best.get('forward_model', '?'))}</b>, "
        f"optimizer {_e(best.get('optimizer', '?'))}, status {_e(best.get('status', '?'))} "
        f"({_e(best.get('stop_reason', '?'))}); best at evaluation {_e(best.get('evaluation', '?'))} of "
        f"{_e(best.get('evaluations_all_starts', best.get('evaluations', '?')))}, "
        f"{_fmt(best.get('elapsed_s'), 's')} of fit time.</p>")
    fig = _file_uri(files.run_dir / "fused.png")
    if fig is None:
        from ingrained_core.apps.figures import fused_figure

        f = fused_figure(files.experiment, files.simulation, best["patch"], fom=best["fom"], d_trans=best["d_trans"],
                         d_sim=best["d_sim"], alpha=alpha, beta=beta, pixel_size=files.pixel_size,
                         params=best["params"], units=units, free=[p["name"] for p in free] or None,
                         at_bound=at_bound, title=title, dpi=100)
        fig = _fig_png(f)
    parts.append(f"<{h}>Figure</{h}>" + _img(fig, "experiment, simulation, fused image and residual", "figure"))

    header, rows = _progress(files.run_dir)
    parts.append(f"<{h}>Progress</{h}>")
    if rows:
        parts.append(_img(fom_plot(rows), "FOM against evaluations and time", "fom"))
        traces = []
        for p in free:
            uri = trace_plot(rows, p["name"], p["min"], p["max"], p["unit"], best["params"].get(p["name"]))
            attr = f' data-param="{_e(p["name"])}"'
            traces.append("<figure>" + _img(uri, "trace of " + p["name"], "trace", attr) + "</figure>")
        parts.append(f'<div class="traces">{"".join(traces)}</div>')
    else:
        parts.append('<p class="muted">progress.csv holds no evaluation.</p>')

    parts.append(f"<{h}>Parameters</{h}>")
    free_by = {p["name"]: p for p in free}
    trows, classes = [], []
    for name, value in best["params"].items():
        p = free_by.get(name)
        side = at_bound.get(name)
        trows.append([_e(name), _fmt(value), _e(units.get(name, "")),
                      _fmt(p["min"]) if p else "fixed", _fmt(p["max"]) if p else "",
                      _fmt(p.get("start")) if p else "",
                      f'<span class="warn">at the {_e(side)} bound</span>' if side else ""])
        classes.append("bound" if side else "")
    parts.append(_table(["parameter", "value", "unit", "min", "max", "start", "note"], trows, classes))

    parts.append(f"<{h}>Calibration</{h}>")
    cal = _read_json_or_empty(files.run_dir / "calibration.json")
    fitted = files.pixel_size
    crow = [["fitted pixel size", _fmt(fitted, "Å")]]
    if cal:
        crow.append(["file's pixel size", _fmt(cal.get("file_pixel_size"), "Å")])
        if cal.get("fitted_over_file"):
            crow.append(["fitted / file", f"{cal['fitted_over_file']:.4f}"])
        if cal.get("source"):
            crow.append(["file", _e(cal["source"])])
        if cal.get("note"):
            crow.append(["note", _e(cal["note"])])
    for key, value in (best.get("calibration") or {}).items() if isinstance(best.get("calibration"), dict) else []:
        crow.append([_e(key), _e(_fmt(value))])
    parts.append(_table(["quantity", "value"], crow))

    notices = _notices(best, at_bound)
    parts.append(f"<{h}>Notices</{h}>")
    parts.append("<ul>" + "".join(f'<li class="warn">{_e(n)}</li>' for n in notices) + "</ul>"
                 if notices else '<p class="muted">none</p>')

    if best.get("starts"):
        parts.append(f"<{h}>Starts</{h}>")
        srows = [[f"{int(s['start']):02d}", _fmt(s.get("fom")), _e(s.get("status")), _e(s.get("stop_reason") or ""),
                  _e(s.get("error") or "")] for s in sorted(best["starts"], key=lambda s: (s.get("fom") is None,
                                                                                        s.get("fom") or 0))]
        parts.append(_table(["start", "FOM", "status", "stopped", "error"], srows))

    parts.append(f"<{h}>Files</{h}>")
    names = sorted(p.name for p in files.run_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    parts.append("<p>" + ", ".join(f"<code>{_e(n)}</code>" for n in names) + "</p>")
    parts.append(_provenance(files, heading_level))
    return title, "".join(parts)


def _read_json_or_empty(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _notices(best: dict[str, Any], at_bound: dict[str, str]) -> list[str]:
    out = [str(n) for n in best.get("notices", []) or []]
    for name, side in at_bound.items():
        out.append(f"{name} ended at its {side} bound: widen the bound (forward_model.params.{name}) or fix it")
    if best.get("d_trans", 0) > 0:
        out.append(f"the solution has a translative offset (d_trans = {best['d_trans']} px)")
    if best.get("infeasible"):
        out.append(f"{best['infeasible']} evaluations were refused by the model (logged as infeasible)")
    if best.get("status") == "interrupted":
        out.append("the run was interrupted; 'ingrained resume' continues it")
    for s in best.get("starts", []) or []:
        if s.get("status") == "failed":
            out.append(f"start {int(s['start']):02d} failed: {s.get('error')}")
    return out


def _provenance(files: Any, heading_level: int) -> str:
    h = f"h{heading_level}"
    prov = files.config_data.get("provenance", {}) or {}
    versions = prov.get("versions", {}) or {}
    rows = [[_e(k), _e(v)] for k, v in versions.items()]
    out = [f"<{h}>Provenance</{h}>"]
    if prov.get("command"):
        out.append(f"<p>command: <code>{_e(prov['command'])}</code></p>")
    if prov.get("written"):
        out.append(f"<p>written {_e(prov['written'])}</p>")
    out.append(_table(["distribution", "version"], rows) if rows else '<p class="muted">no versions recorded</p>')
    try:
        text = files.config_path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    out.append(f"<details><summary>resolved config ({_e(files.config_path.name)})</summary><pre>{_e(text)}</pre></details>")
    return "".join(out)


def build_report(run_dir: str | Path) -> str:
    """The report page of a run directory, a start (``starts/NN``), a candidate or a screen."""
    run_dir = Path(run_dir).resolve()
    if (run_dir / "ranking.csv").exists() and not (run_dir / "best.json").exists():
        return build_screen_report(run_dir)
    title, body = run_sections(run_dir)
    return _page(title, f"<h1>{_e(title)}</h1><p class=\"muted\">{_e(run_dir)}</p>{body}")


def write_report(run_dir: str | Path) -> Path:
    """(Re)write ``report.html`` in a run (or screen) directory; its path."""
    run_dir = Path(run_dir).resolve()
    page = build_report(run_dir)
    path = run_dir / "report.html"
    atomic.write_text(path, page)
    return path


# -- a screen ------------------------------------------------------------------------------------
def build_screen_report(out: Path) -> str:
    """A screen's page: the ranking, the contact sheet and each candidate's figure."""
    try:
        with open(out / "ranking.csv", newline="", encoding="utf-8") as fh:
            ranking = list(csv.DictReader(fh))
    except OSError as exc:
        raise RunDirectoryError(f"{out}: ranking.csv cannot be read ({exc})") from None
    parts = [f"<h1>screen: {_e(out.name)}</h1><p class=\"muted\">{_e(out)}</p><h2>Ranking</h2>"]
    rows = []
    for r in ranking:
        rd = Path(r.get("run_dir") or "")
        link = ""
        if (rd / "report.html").exists():
            try:
                link = f'<a href="{_e(rd.relative_to(out).as_posix())}/report.html">report</a>'
            except ValueError:
                link = ""
        rows.append([_e(r.get("rank", "")), _e(Path(r.get("candidate", "")).name), _e(r.get("fom", "")),
                     _e(r.get("d_trans", "")), _e(r.get("d_sim", "")), _e(r.get("evaluations", "")),
                     _e(r.get("status", "")) + (f": {_e(r['error'])}" if r.get("error") else ""), link])
    parts.append(_table(["rank", "candidate", "FOM", "d_trans", "d_sim", "evaluations", "status", ""], rows))
    sheet = _file_uri(out / "contact_sheet.png")
    if sheet:
        parts.append("<h2>Contact sheet</h2>" + _img(sheet, "contact sheet of the candidates", "figure"))
    for r in ranking:
        fig = _file_uri(Path(r.get("run_dir") or "") / "fused.png")
        if fig and r.get("status") == "finished":
            parts.append(f"<h2>#{_e(r.get('rank'))} {_e(Path(r['candidate']).name)}</h2>"
                         + _img(fig, "figure of " + Path(r["candidate"]).name, "figure"))
    return _page(f"screen {out.name}", "".join(parts))


# -- several runs ---------------------------------------------------------------------------------
def compare_runs(run_dirs: list[str | Path]) -> str:
    """One page with the runs side by side: a summary table, then each run's sections."""
    from ingrained_core.apps.outputs import load_run_files

    loaded = [load_run_files(d) for d in run_dirs]
    names = sorted({k for f in loaded for k in f.best["params"]})
    header = ["", *[f.name + (f" / {f.run_dir.name}" if f.run_dir.name != f.name else "") for f in loaded]]
    rows = [["FOM", *[f"{f.best['fom']:.5f}" for f in loaded]],
            ["d_trans (px)", *[_e(f.best["d_trans"]) for f in loaded]],
            ["d_sim", *[f"{f.best['d_sim']:.5f}" for f in loaded]],
            ["model", *[_e(f.best.get("forward_model", "")) for f in loaded]],
            ["evaluations", *[_e(f.best.get("evaluations_all_starts", f.best.get("evaluations", ""))) for f in loaded]]]
    for n in names:
        rows.append([_e(n), *[_fmt(f.best["params"].get(n)) for f in loaded]])
    cols = " ".join(["minmax(0,1fr)"] * len(loaded))
    sections = []
    for d in run_dirs:
        title, body = run_sections(Path(d), heading_level=3)
        sections.append(f"<div><h2>{_e(title)}</h2>{body}</div>")
    body = (f"<h1>ingrained: {len(loaded)} runs compared</h1>" + _table(header, rows)
            + f'<div class="cmp" style="grid-template-columns:{cols}">{"".join(sections)}</div>')
    return _page("ingrained comparison", body)
