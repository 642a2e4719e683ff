"""Candidate screening (the paper's Case 4): fuse each candidate into one image, rank by FOM.

One run configuration describes the experiment, the forward model, the FOM and the
optimizer. Each candidate replaces the model's input: a structure file (models that
simulate a structure, e.g. HAADF: ``[structure]`` becomes ``builder = "file"`` with the
candidate's path) or an input file (models that read one, e.g. an STM charge density:
``forward_model.input``). Every candidate is an independent ``fuse`` with its own run
directory ``candidates/NN-<name>`` and runs as its own task (dask by default, so a
screening scales from a laptop to a cluster through ``scheduler``); a candidate that fails
(corrupt file, model refusing the start point) is reported with its error and the others
go on.

Outputs in ``out``: ``ranking.csv``, ``ranking.md`` (best FOM first; failed candidates
last, with their error) and ``contact_sheet.png`` (each candidate's fused image: the
experiment with the candidate's best simulation set in, titled by rank and FOM).
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ingrained_core.plugin import files as atomic
from ingrained_core.engine.config import RunConfig, apply_overrides, load_config, validate_config
from ingrained_core.plugin.errors import ConfigError, IngrainedError
from ingrained_core.engine.reporting import QuietReporter, Reporter

Executor = Literal["dask", "processes", "serial"]
#: what each candidate's run directory gets besides its run files (:func:`screen_task`)
CandidateOutputs = Literal["light", "full"]
RANKING_FIELDS = ["rank", "candidate", "fom", "d_trans", "d_sim", "evaluations", "elapsed_s",
                  "status", "error", "run_dir"]


@dataclass
class ScreenResult:
    """What :func:`screen` returns: rows ranked by FOM (failed last) and the output folder."""

    rows: list[dict[str, Any]]
    out: Path
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> dict[str, Any] | None:
        ok = [r for r in self.rows if r["status"] == "finished"]
        return ok[0] if ok else None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "candidate"


def candidate_input_kind(cfg: RunConfig) -> str:
    """``"structure"`` when candidates replace the structure, else ``"input"`` (forward_model.input)."""
    from ingrained_core.engine.registry import get_registry

    model_cls = get_registry().get("forward_model", cfg.forward_model.name)
    kind = getattr(model_cls, "input_kind", "structure")
    if kind == "none":
        raise ConfigError(
            f"forward model {cfg.forward_model.name!r} takes neither a structure nor an input file: "
            "there is nothing for screening candidates to replace"
        )
    return "structure" if kind == "structure" else "input"


def candidate_config(data: dict[str, Any], candidate: Path, kind: str) -> dict[str, Any]:
    """The raw config mapping ``data`` with the candidate in place of the structure or input."""
    out = dict(data)
    if kind == "structure":
        section = dict(out.get("structure") or {})
        if section.get("builder", "file") != "file":
            section = {}
        section["builder"] = "file"
        section["path"] = str(candidate)
        out["structure"] = section
    else:
        fm = dict(out["forward_model"])
        fm["input"] = str(candidate)
        out["forward_model"] = fm
    return out


def expand_candidates(paths: list[str | Path]) -> list[Path]:
    """Candidate files: the given files, and every file (not hidden) in a given folder, sorted."""
    out: list[Path] = []
    for item in paths:
        p = Path(item).expanduser().resolve()
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith(".")))
        else:
            out.append(p)
    if not out:
        raise ConfigError("screen needs at least one candidate file (--candidates PATH...)")
    seen: set[Path] = set()
    unique = []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def screen_task(config_data: dict[str, Any], run_dir: str, index: int, candidate: str,
                outputs: CandidateOutputs = "light") -> dict[str, Any]:
    """One candidate as an independent task: a full ``fuse`` into ``run_dir``; returns its record.

    ``outputs="light"`` (default): the outputs of a start, a 100-dpi ``fused.png`` (no 300-dpi
    figure set, TIFFs or report a candidate: they cost more than a short fit, and
    ``ingrained report --outputs`` writes them for the candidates a user opens); ``"full"``:
    every output of a run directory."""
    from ingrained_core.apps.api import FINISHERS, LIGHT_FINISHERS
    from ingrained_core.engine.run import fuse as run_fuse

    t0 = time.monotonic()
    cfg = validate_config(config_data, Path(config_data.get("base_dir") or "."), source=f"candidate {candidate}")
    result = run_fuse(cfg, run_dir, force=True, reporter=QuietReporter(),
                      finishers=FINISHERS if outputs == "full" else LIGHT_FINISHERS)
    best = result.best
    return {
        "index": index, "candidate": candidate, "fom": float(best["fom"]), "d_trans": int(best["d_trans"]),
        "d_sim": float(best["d_sim"]),
        "evaluations": int(best.get("evaluations_all_starts", best.get("evaluations", 0))),
        "elapsed_s": round(time.monotonic() - t0, 3), "status": "finished", "error": "",
        "run_dir": str(result.run_dir),
    }


def screen(
    config: RunConfig | str | Path,
    candidates: list[str | Path],
    out: str | Path,
    *,
    starts: int | None = None,
    overrides: list[str] | None = None,
    executor: Executor = "dask",
    scheduler: str | None = None,
    workers: int | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
    candidate_outputs: CandidateOutputs = "light",
) -> ScreenResult:
    """Fuse every candidate into the experiment of ``config``; rank them by best FOM.

    ``candidate_outputs``: ``"light"`` (a 100-dpi ``fused.png`` a candidate) or ``"full"``
    (every output of a run directory a candidate; :func:`screen_task`).

    ``starts`` sets ``optimizer.starts`` of each candidate's fuse (run inside its task).
    ``executor``: ``"dask"`` (default; a local cluster sized to the machine, or the
    scheduler at ``scheduler``), ``"processes"`` or ``"serial"``. Writes ``ranking.csv``,
    ``ranking.md`` and ``contact_sheet.png`` into ``out`` and returns the ranking.
    """
    if candidate_outputs not in ("light", "full"):
        raise ConfigError(f"screen: candidate_outputs must be 'light' or 'full', got {candidate_outputs!r}")
    reporter = reporter or QuietReporter()
    extra = list(overrides or [])
    if starts is not None:
        extra.append(f"optimizer.starts={int(starts)}")
    # each candidate's own starts run serially inside its task: the candidates are the parallel work
    extra.append('optimizer.executor="serial"')
    if isinstance(config, RunConfig):
        data = apply_overrides(config.model_dump(mode="json"), extra)
        base = config.base_dir or Path.cwd()
        cfg = validate_config(data, base)
    else:
        cfg = load_config(config, extra)
    kind = candidate_input_kind(cfg)
    files = expand_candidates(candidates)
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise ConfigError(f"candidate file(s) not found: {', '.join(missing)}")
    out = Path(out).resolve()
    _prepare_out(out, force)
    data = cfg.model_dump(mode="json")
    data["base_dir"] = str(cfg.base_dir) if cfg.base_dir else None
    tasks = []
    for i, path in enumerate(files):
        run_dir = out / "candidates" / f"{i:02d}-{_slug(path.stem)}"
        tasks.append((candidate_config(data, path, kind), str(run_dir), i, str(path), candidate_outputs))
    reporter.message(f"ingrained screen: {len(files)} candidates -> {out}")
    getattr(reporter, "plan", lambda info: None)({
        "watch": {f"candidate {p.name}": Path(t[1]) / "progress.csv" for p, t in zip(files, tasks)},
        "max_evals": cfg.optimizer.max_evals, "time_limit": cfg.optimizer.time_limit})
    try:
        rows = _collect(tasks, files, executor, scheduler, workers, reporter)
    finally:
        close = getattr(reporter, "close", None)
        if close is not None:
            close()
    ranked = rank_rows(rows)
    write_ranking(out, ranked)
    write_contact_sheet(out / "contact_sheet.png", ranked)
    from ingrained_core.apps.report import write_report

    try:
        write_report(out)
    except OSError as exc:
        reporter.message(f"could not write {out / 'report.html'}: {exc.strerror or exc} (the ranking is intact)",
                         "warning")
    failed = [r for r in ranked if r["status"] != "finished"]
    return ScreenResult(ranked, out, failed)


def _collect(tasks: list[tuple[Any, ...]], files: list[Path], executor: Executor, scheduler: str | None,
             workers: int | None, reporter: Reporter) -> list[dict[str, Any]]:
    """Run the candidates; one row per candidate as each finishes (a failure is a row too)."""
    rows: list[dict[str, Any]] = []
    for i, rec, err in _run(tasks, executor, scheduler, workers):
        if err is not None:
            msg = _error_text(err)
            reporter.message(f"candidate {files[i].name} failed: {msg}", "error")
            rows.append({"index": i, "candidate": str(files[i]), "fom": math.nan, "d_trans": "", "d_sim": math.nan,
                         "evaluations": 0, "elapsed_s": "", "status": "failed", "error": msg,
                         "run_dir": tasks[i][1]})
        else:
            reporter.message(f"candidate {files[i].name}: FOM {rec['fom']:.5f} ({rec['evaluations']} evaluations)")
            rows.append(rec)
    return rows


def _error_text(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text if isinstance(err, IngrainedError) else f"{type(err).__name__}: {text}"


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"screen output {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise ConfigError(f"screen output {out} is not empty; use --force to replace it, or another --out")
    if force:
        import shutil

        shutil.rmtree(out / "candidates", ignore_errors=True)
        for name in ("ranking.csv", "ranking.md", "contact_sheet.png", "report.html"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _run(tasks: list[tuple[Any, ...]], executor: Executor, scheduler: str | None, workers: int | None):  # type: ignore[no-untyped-def]
    from ingrained_core.engine.parallel import parallel_map

    return parallel_map(screen_task, tasks, executor=executor, scheduler=scheduler, workers=workers)


def rank_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Finished candidates by FOM (ties: input order), then the failed ones in input order."""
    ok = sorted((r for r in rows if r["status"] == "finished"), key=lambda r: (r["fom"], r["index"]))
    bad = sorted((r for r in rows if r["status"] != "finished"), key=lambda r: r["index"])
    out = []
    for k, r in enumerate(ok + bad, start=1):
        out.append({**r, "rank": k if r["status"] == "finished" else ""})
    return out


def write_ranking(out: Path, ranked: list[dict[str, Any]]) -> None:
    """``ranking.csv`` (every field) and ``ranking.md`` (a readable table)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RANKING_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in ranked:
        writer.writerow({k: ("" if isinstance(r.get(k), float) and math.isnan(r[k]) else r.get(k, "")) for k in RANKING_FIELDS})
    atomic.write_text(out / "ranking.csv", buf.getvalue())
    lines = ["| rank | candidate | FOM | d_trans | d_sim | evaluations | status |", "|---|---|---|---|---|---|---|"]
    for r in ranked:
        name = Path(r["candidate"]).name
        if r["status"] == "finished":
            lines.append(f"| {r['rank']} | {name} | {r['fom']:.5f} | {r['d_trans']} | {r['d_sim']:.5f} | "
                         f"{r['evaluations']} | finished |")
        else:
            err = str(r["error"]).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| - | {name} | - | - | - | - | failed: {err} |")
    atomic.write_text(out / "ranking.md", "\n".join(lines) + "\n")


def write_contact_sheet(path: Path, ranked: list[dict[str, Any]], columns: int = 4) -> None:
    """One panel per finished candidate: the experiment with its best simulation set in.

    Drawn like the run figures (:func:`ingrained_core.apps.figures.image_row`): one common
    magnification, a scale bar from each candidate's fitted pixel size; for a model whose
    image is a height map (STM constant current) each candidate's simulation is shown
    beside it with a height colour bar.
    """
    import json

    from ingrained_core.apps.figures import fused_image, height_label, image_row
    from ingrained_core.engine.config import read_config_file
    from ingrained_core.plugin.files import write_figure

    ok = [r for r in ranked if r["status"] == "finished"]
    panels: list[dict[str, Any]] = []
    for r in ok:
        run = Path(r["run_dir"])
        best = json.loads((run / "best.json").read_text())
        exp = np.load(run / "experiment.npy", allow_pickle=False)
        sim = np.load(run / "simulation.npy", allow_pickle=False)
        p = best["patch"]
        px = best.get("pixel_size")
        panels.append({"image": fused_image(exp, sim, p["row"], p["col"]), "pixel_size": px,
                       "label": f"#{r['rank']} {Path(r['candidate']).name}\nFOM {r['fom']:.4f} (d_trans {r['d_trans']})",
                       "boxes": [(p["row"], p["col"], p["height"], p["width"])]})
        fm = read_config_file(run / "config.toml").get("forward_model", {}) if (run / "config.toml").exists() else {}
        label = height_label(best.get("forward_model", ""), fm.get("options"))
        if label:
            panels.append({"image": sim, "pixel_size": px, "colorbar": label,
                           "label": f"#{r['rank']} simulation\n{sim.shape[0]} x {sim.shape[1]} px"})
    if not panels:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(4, 2))
        fig.text(0.5, 0.5, "no candidate finished", ha="center", va="center")
        write_figure(path, fig)
        return
    fig = image_row(panels, title=f"screen: {len(ok)} candidate{'s' if len(ok) != 1 else ''} ranked by FOM",
                    columns=columns, width_in=3.3 * min(columns, len(panels)), dpi=150)
    write_figure(path, fig, dpi=150)
