"""A bicrystal recipe is screened when it is fused (issue 13, item 4).

A recipe (``[structure] builder = "bicrystal"`` built from its slabs) has several discrete
realisations (:mod:`ingrained_core.builtins.structures.enumerate`). Fusing it:

1. enumerates the distinct candidates (``screen = "auto"``; a list of indices screens
   those only; ``"none"`` or a single candidate is a plain fuse) — more than
   ``screen_limit`` is an error naming the constraint to tighten; ``also = [files]`` adds
   structure files (e.g. a published structure) as candidates;
2. fuses each candidate with ``screen_budget`` evaluations into ``candidates/NN-<name>/``
   (its config pins the candidate's choices, so each is an ordinary run directory); with
   scan-powell, each candidate's search begins with a scan round (``scan_first``, unless
   the config sets it), so that a short budget sees every parameter's neighbourhood
   instead of spending itself on a Powell line search into the basin nearest the start
   (on Ni/M3B2 the published-equivalent candidate needs shear_x -0.07 from a start of 0:
   after 111 evaluations it is first, at 0.316, where Powell-first left it last of 24);
3. continues the best ``screen_refine_keep`` to ``screen_refine_budget`` evaluations
   (successive halving: a short screen separates the good basins from the bad, not the
   good candidates from each other), then gives the best ``screen_keep`` of them the full
   fit (each stage a resume of the candidate's run with a larger budget, so no evaluation
   is repeated);
4. ranks them (``ranking.csv``, ``ranking.md``, ``contact_sheet.png``, the machinery of
   :mod:`.screen`) and makes the run directory the winner's: its ``config.toml``,
   ``best.json`` (with ``screen`` — the winner, its choices, the ranking — and
   ``structure_choices``), images and structure files, so that ``simulate --from-run``
   regenerates it. ``screen.json`` records the progress; ``resume`` continues an interrupted
   screen without repeating finished candidates.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingrained_core.engine.config import RunConfig, validate_config
from ingrained_core.engine.run import FuseResult
from ingrained_core.engine.screen_options import (
    SCREEN_KEYS,
    ScreenOptions,
    split_screen_options,
)
from ingrained_core.plugin import files as atomic
from ingrained_core.plugin.errors import ConfigError, IngrainedError

STATE = "screen.json"
#: the stages' records in screen.json and their names in the ranking, the last stage first
STAGE_LABELS = {"full": "full fit", "refined": "refine", "screened": "screen"}
WINNER_FILES = ("config.toml", "best.json", "experiment.npy", "simulation.npy", "fused.png", "structure.cif",
                "structure.vasp", "strain.json", "progress.csv")


@dataclass
class Plan:
    """The candidates of a recipe screen: (name, structure section) each, and the options."""

    options: ScreenOptions
    entries: list[dict[str, Any]]  # {"name", "structure", "choices", "kind"}


def _write_state(out: Path, state: dict[str, Any]) -> None:
    """The screen's own state file (failed candidates keep a NaN FOM: Python's JSON reads it back)."""
    atomic.write_text(out / STATE, json.dumps(state, indent=2, allow_nan=True) + "\n")


def plan_screen(cfg: RunConfig) -> Plan | None:
    """The screen of ``cfg`` when it fuses a bicrystal recipe with more than one candidate,
    else None (a plain fuse)."""
    st = cfg.structure
    if st is None or st.builder != "bicrystal":
        return None
    options, fields = split_screen_options(st.builder_fields(), cfg.base_dir)
    if options.screen == "none":
        return None
    from ingrained_core.builtins.structures.bicrystal import BicrystalConfig
    from ingrained_core.builtins.structures.enumerate import enumerate_candidates, pin

    bc = BicrystalConfig.model_validate(fields, context={"base_dir": cfg.base_dir})
    if bc.structure_file is not None and not bc.rebuild:
        return None
    cands = enumerate_candidates(bc, limit=options.screen_limit if options.screen == "auto" else None)
    if isinstance(options.screen, list):
        bad = [i for i in options.screen if not 0 <= i < len(cands)]
        if bad:
            raise ConfigError(f"[structure] screen: candidate index(es) {bad} out of range; the recipe has "
                              f"{len(cands)} distinct candidates (0..{len(cands) - 1})")
        cands = [c for c in cands if c.index in options.screen]
    if len(cands) <= 1 and not options.also:
        return None
    recipe = bc.model_dump(mode="json", exclude_unset=True, exclude={"structure_file", "rebuild"})
    entries = []
    for c in cands:
        section = {"builder": "bicrystal", **pin(recipe, c.result.report), "screen": "none"}
        entries.append({"name": f"{c.index:02d}-{c.name}", "structure": section, "kind": "recipe",
                        "choices": c.result.report["choices"], "candidate": c.index,
                        "placement_range": placement_range(c.result.report),
                        "placement_start": float(c.result.report["choices"].get("centred_interface", {})
                                                 .get("centre_offset", 0.0))})
    ranges = [e["placement_range"] for e in entries if e["placement_range"]]
    for k, path in enumerate(options.also):
        if not path.is_file():
            raise ConfigError(f"[structure] also: {path} not found")
        entries.append({"name": f"{len(cands) + k:02d}-also-{path.stem}", "kind": "file", "choices": None,
                        "structure": {"builder": "file", "path": str(path)}, "candidate": str(path),
                        "placement_range": max(ranges) if ranges else None})
    if options.screen_placement == "fixed" or not _frees_placement(cfg):
        for e in entries:
            e["placement_range"] = None
    _structures.clear()
    _structures.update({i: c.result.structure for i, c in enumerate(cands)})
    return Plan(options, entries)


#: the candidates' structures of the last plan (index -> Structure), for the probe stage
_structures: dict[int, Any] = {}


def placement_range(report: dict[str, Any]) -> float | None:
    """Half the larger vertical period (Å) of the two grains: the range of ``cell_shift``
    either side of the centred interface that covers every placement of the crop window in
    the grains' lattices (None when neither grain has a vertical period)."""
    periods = [g.get("orientation", {}).get("height_period") for g in report.get("grains", {}).values()]
    periods = [float(p) for p in periods if p]
    return round(0.5 * max(periods), 6) if periods else None


def _frees_placement(cfg: RunConfig) -> bool:
    """Whether the run's model has ``cell_shift`` and the config leaves it unset."""
    from ingrained_core.engine.registry import get_registry

    model_cls = get_registry().get("forward_model", cfg.forward_model.name)
    fields = getattr(getattr(model_cls, "Params", None), "model_fields", {})
    return "cell_shift" in fields and "cell_shift" not in cfg.forward_model.params


def default_budget(cfg: RunConfig, plan: Plan | None = None) -> int:
    """Evaluations per candidate in the screen: a scan-powell first round (13 points per free
    parameter, the placement ``cell_shift`` that the screen frees included) and a short
    Powell line search besides."""
    from ingrained_core.engine.problem import build_model

    _, space = build_model(cfg)
    free = len(space.free_names)
    if plan is not None and any(e.get("placement_range") for e in plan.entries) and "cell_shift" not in space.free_names:
        free += 1
    return 13 * max(1, free) + 20


def _candidate_data(cfg: RunConfig, entry: dict[str, Any], max_evals: int) -> dict[str, Any]:
    data = cfg.model_dump(mode="json")
    data["base_dir"] = str(cfg.base_dir) if cfg.base_dir else None
    data["structure"] = dict(entry["structure"])
    half = entry.get("placement_range")
    if half:
        fm = dict(data.get("forward_model") or {})
        params = dict(fm.get("params") or {})
        start = float(entry.get("placement_start") or 0.0)  # the crop starts centred on the centred interface
        params["cell_shift"] = {"start": start, "min": start - float(half), "max": start + float(half), "fixed": False}
        fm["params"] = params
        data["forward_model"] = fm
    opt = dict(data.get("optimizer") or {})
    opt["max_evals"] = int(max_evals)
    if opt.get("name") == "scan-powell":  # the short screen begins with a scan round (see scan_first)
        opt["options"] = {"scan_first": True, **(opt.get("options") or {})}
    data["optimizer"] = opt
    return data


def candidate_task(config_data: dict[str, Any], run_dir: str, index: int, max_evals: int) -> dict[str, Any]:
    """One candidate (module level, so that processes and dask can run it): fuse it into
    ``run_dir``, or continue it there (resume) when it has a log, up to ``max_evals``."""
    from ingrained_core.apps.api import LIGHT_FINISHERS
    from ingrained_core.engine.reporting import QuietReporter
    from ingrained_core.engine.run import fuse, resume

    t0 = time.monotonic()
    rd = Path(run_dir)
    if (rd / "config.toml").exists() and (rd / "progress.csv").exists():
        result = resume(rd, overrides=[f"optimizer.max_evals={int(max_evals)}"], reporter=QuietReporter(),
                        finishers=LIGHT_FINISHERS)
    else:
        cfg = validate_config(config_data, Path(config_data.get("base_dir") or "."), source=f"candidate {run_dir}")
        result = fuse(cfg, rd, force=True, reporter=QuietReporter(), finishers=LIGHT_FINISHERS)
    best = result.best
    return {"index": index, "fom": float(best["fom"]), "d_trans": int(best["d_trans"]), "d_sim": float(best["d_sim"]),
            "evaluations": int(best.get("evaluations_all_starts", best.get("evaluations", 0))),
            "elapsed_s": round(time.monotonic() - t0, 3), "status": "finished", "error": "",
            "run_dir": str(rd), "stop_reason": best.get("stop_reason")}


def _run_all(tasks: list[tuple[Any, ...]], executor: str, scheduler: str | None):  # type: ignore[no-untyped-def]
    """The candidates on the run's executor (engine.parallel.parallel_map, as multi-start)."""
    from ingrained_core.engine.parallel import parallel_map

    yield from parallel_map(candidate_task, tasks, executor=executor, scheduler=scheduler)


def fuse_screened(cfg: RunConfig, out: str | Path, plan: Plan, *, force: bool = False, reporter: Any = None,
                  scheduler: str | None = None) -> FuseResult:
    """Screen the recipe's candidates, fit the best fully, make ``out`` the winner's run."""
    from ingrained_core.engine.reporting import QuietReporter
    from ingrained_core.engine.run import prepare_run_dir

    reporter = reporter or QuietReporter()
    out = Path(out).resolve()
    prepare_run_dir(out, force=force)
    if force:
        import shutil

        shutil.rmtree(out / "candidates", ignore_errors=True)
        (out / STATE).unlink(missing_ok=True)
    budget = plan.options.screen_budget or default_budget(cfg, plan)
    full = cfg.optimizer.max_evals or 10**9
    refine_budget = min(plan.options.screen_refine_budget or 4 * budget, full)
    state = {"kind": "recipe-screen", "budget": budget, "keep": plan.options.screen_keep, "full_max_evals": full,
             "refine_keep": plan.options.screen_refine_keep, "refine_budget": refine_budget, "refined": {},
             "entries": plan.entries, "config": {**cfg.model_dump(mode="json"),
                                                 "base_dir": str(cfg.base_dir) if cfg.base_dir else None},
             "screened": {}, "full": {}, "probe_keep": plan.options.screen_probe_keep,
             "probe_points": plan.options.screen_probe_points}
    _write_state(out, state)
    return _continue(out, state, reporter, scheduler)


def resume_screened(run_dir: str | Path, *, reporter: Any = None, scheduler: str | None = None) -> FuseResult:
    """Continue an interrupted recipe screen (finished candidates are not run again)."""
    from ingrained_core.engine.reporting import QuietReporter

    run_dir = Path(run_dir).resolve()
    state = json.loads((run_dir / STATE).read_text())
    return _continue(run_dir, state, reporter or QuietReporter(), scheduler)


def is_screen_dir(run_dir: str | Path) -> bool:
    return (Path(run_dir) / STATE).is_file()


def _continue(out: Path, state: dict[str, Any], reporter: Any, scheduler: str | None) -> FuseResult:
    base = state["config"]
    cfg = validate_config(dict(base), Path(base.get("base_dir") or out))
    entries = state["entries"]
    executor = cfg.optimizer.executor
    scheduler = scheduler or getattr(cfg.optimizer, "scheduler", None)
    refine_keep = int(state.get("refine_keep") or 0)  # absent in a screen.json of an older version
    refine = f", the best {refine_keep} continued to {state['refine_budget']}" if refine_keep else ""
    reporter.message(f"ingrained fuse: screening {len(entries)} structure candidates of the recipe "
                     f"({state['budget']} evaluations each{refine}, the best {state['keep']} fitted fully) -> {out}")
    probe_keep = state.get("probe_keep")
    if probe_keep and len(entries) > probe_keep and "probe" not in state:
        state["probe"] = _probe(cfg, entries, int(state.get("probe_points") or 1), int(probe_keep), reporter)
        _write_state(out, state)
    stages = [("screened", state["budget"])]
    if refine_keep > state["keep"] and state.get("refine_budget", 0) > state["budget"]:
        stages.append(("refined", state["refine_budget"]))
    stages.append(("full", state["full_max_evals"]))
    for k, (stage, max_evals) in enumerate(stages):
        if stage in ("refined", "full"):
            before = stages[k - 1][0]
            ok = sorted((int(i), r) for i, r in state[before].items() if r["status"] == "finished")
            ok.sort(key=lambda t: (t[1]["fom"], t[0]))
            todo_idx = [i for i, _ in ok[: refine_keep if stage == "refined" else state["keep"]]]
            state.setdefault(stage, {})
        elif "probe" in state:
            probed = [(r["fom"], i) for i, r in enumerate(state["probe"]) if math.isfinite(r["fom"])]
            todo_idx = sorted(i for _, i in sorted(probed)[:probe_keep])
        else:
            todo_idx = list(range(len(entries)))
        tasks = []
        for i in todo_idx:
            if str(i) in state[stage]:
                continue
            run_dir = out / "candidates" / entries[i]["name"]
            tasks.append((_candidate_data(cfg, entries[i], max_evals), str(run_dir), i, max_evals))
        for i, rec, err in _run_all(tasks, executor, scheduler):
            name = entries[i]["name"]
            if err is not None:
                msg = str(err).strip() if isinstance(err, IngrainedError) else f"{type(err).__name__}: {err}"
                reporter.message(f"candidate {name} failed: {msg}", "error")
                rec = {"index": i, "fom": math.nan, "d_trans": "", "d_sim": math.nan, "evaluations": 0,
                       "elapsed_s": "", "status": "failed", "error": msg,
                       "run_dir": str(out / "candidates" / name)}
            elif rec.get("stop_reason") == "interrupted":  # not finished: resume runs it on
                reporter.message(f"candidate {name} interrupted; 'ingrained resume {out}' continues", "warning")
                _write_state(out, state)
                return FuseResult({"status": "interrupted", "stop_reason": "interrupted", "candidate": name}, out, [])
            else:
                reporter.message(f"candidate {name} ({STAGE_LABELS[stage]}): FOM {rec['fom']:.5f} ({rec['evaluations']} evaluations)")
            state[stage][str(i)] = rec
            _write_state(out, state)
    return _finish(out, state, reporter)


def _probe(cfg: RunConfig, entries: list[dict[str, Any]], points: int, keep: int, reporter: Any) -> list[dict[str, Any]]:
    """The probe stage (:mod:`.recipe_probe`): every candidate at ``points`` fixed points, in this process."""
    from ingrained_core.apps.recipe_probe import probe_candidates
    from ingrained_core.engine.problem import build_problem
    from ingrained_core.engine.registry import get_registry

    t0 = time.monotonic()
    first = validate_config(_candidate_data(cfg, entries[0], 1), cfg.base_dir or Path("."))
    problem = build_problem(first)
    structures = []
    for i, e in enumerate(entries):
        s = _structures.get(i) if e["kind"] == "recipe" else None
        if s is None:
            sec = {k: v for k, v in e["structure"].items() if k not in SCREEN_KEYS and k != "builder"}
            builder = get_registry().get("structure_builder", e["structure"]["builder"])()
            s = builder.build(builder.Config.model_validate(sec, context={"base_dir": cfg.base_dir})).structure
        structures.append(s)
    recs = probe_candidates(problem, structures, points)
    reporter.message(f"probe: {len(entries)} candidates at {points} point(s) each in "
                     f"{time.monotonic() - t0:.1f} s; the best {keep} go on to the screen")
    return recs


def _finish(out: Path, state: dict[str, Any], reporter: Any) -> FuseResult:
    from ingrained_core.apps.screen import rank_rows, write_contact_sheet, write_ranking

    entries = state["entries"]
    rows = []
    for i, e in enumerate(entries):
        rec = state["full"].get(str(i)) or state.get("refined", {}).get(str(i)) or state["screened"].get(str(i))
        if rec is None and "probe" in state:  # pruned by the probe: listed, never the winner
            pr = state["probe"][i]
            rec = {"index": i, "fom": pr["fom"], "d_trans": "", "d_sim": math.nan, "evaluations": pr["evaluations"],
                   "elapsed_s": pr["elapsed_s"], "status": "pruned", "error": pr["error"],
                   "run_dir": ""}
        if rec is None:
            continue
        row = {**rec, "candidate": e["name"], "index": i,
               "stage": next((label for key, label in STAGE_LABELS.items() if str(i) in state.get(key, {})),
                             "probe")}
        rows.append(row)
    ranked = rank_rows(rows)
    write_ranking(out, ranked)
    write_contact_sheet(out / "contact_sheet.png", ranked)
    best = next((r for r in ranked if r["status"] == "finished"), None)
    if best is None:
        raise IngrainedError("every structure candidate failed: " + "; ".join(
            f"{r['candidate']}: {r['error']}" for r in ranked))
    win_dir = Path(best["run_dir"])
    for name in WINNER_FILES:
        if (win_dir / name).exists():
            atomic.write_bytes(out / name, (win_dir / name).read_bytes())
    record = json.loads((win_dir / "best.json").read_text())
    winner = entries[best["index"]]
    record["structure_choices"] = ({**(winner["choices"] or {}), "candidate": winner["candidate"]}
                                   if winner["choices"] else {"candidate": winner["candidate"], "file": True})
    record["screen"] = {
        "winner": winner["name"], "candidates": len(entries), "budget": state["budget"], "keep": state["keep"],
        "refine": ({"keep": int(state.get("refine_keep") or 0), "budget": state.get("refine_budget")}
                   if state.get("refined") else None),
        "probe": ({"keep": state["probe_keep"], "points": state["probe_points"]} if "probe" in state else None),
        "placement_range": winner.get("placement_range"),
        "ranking": [{"rank": r["rank"], "candidate": r["candidate"], "fom": r["fom"], "stage": r.get("stage"),
                     "status": r["status"]} for r in ranked],
    }
    atomic.write_json(out / "best.json", record)
    from ingrained_core.apps.outputs import finish_run

    try:  # the winner's talk figure, calibrated files and the screen's report in the top folder
        finish_run(out, reporter=reporter)
    except IngrainedError as exc:
        reporter.message(f"{out}: no figure or report: {exc}", "warning")
    reporter.message(f"structure candidate {winner['name']} wins (FOM {record['fom']:.5f})")
    reporter.end(record)
    return FuseResult(record, out, [record])


__all__ = ["SCREEN_KEYS", "Plan", "fuse_screened", "is_screen_dir", "plan_screen", "resume_screened"]
