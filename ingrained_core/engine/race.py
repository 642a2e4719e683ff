"""Racing the starts of a run (``optimizer.race_evals``): every start first runs a short
budget, then only the best ``optimizer.race_keep`` go on to the whole budget.

Why: where several starts cannot be told apart before a search (the tied global-stage
starts of an automatic start, docs/autostart.md), running each to the end costs their
number times one search; after a few hundred evaluations their FOMs already say which are
worth going on with. The starts that go on continue their own searches: the second phase
replays each start's ``progress.csv`` (:mod:`.start_runner`: the objective is deterministic)
and goes on from where the race stopped it, so a start that goes on ends exactly where one
uninterrupted search from it ends. The decision is written to ``race.json`` before the
second phase, so ``resume`` continues the same starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.engine.config import RunConfig
from ingrained_core.engine.lock import Fence
from ingrained_core.engine.multistart import execute_starts, start_finished, start_record
from ingrained_core.engine.reporting import Reporter
from ingrained_core.engine.rundir import read_json
from ingrained_core.engine.start_runner import Budget, Finisher
from ingrained_core.plugin import files as atomic

RACE_FILE = "race.json"


def races(cfg: RunConfig) -> bool:
    """Whether the run's starts race: ``race_evals`` set, more starts than go on, and a race
    shorter than the budget."""
    opt = cfg.optimizer
    if opt.race_evals is None or opt.starts <= opt.race_keep:
        return False
    return opt.max_evals is None or opt.race_evals < opt.max_evals


def ranking(records: list[dict[str, Any]], keep: int) -> tuple[list[dict[str, Any]], list[int]]:
    """The race's table (start, FOM, evaluations, stop reason; best first) and the starts that
    go on: the ``keep`` best that have not already ended (converged, at the target)."""
    ok = sorted((r for r in records if r.get("status") != "failed" and "fom" in r), key=lambda r: (r["fom"], r["start"]))
    table = [{"start": r["start"], "fom": r["fom"], "evaluations": r.get("evaluations"),
              "stop_reason": r.get("stop_reason")} for r in ok]
    go_on = [r["start"] for r in ok[:keep] if r.get("stop_reason") == "max_evals"]
    return table, go_on


def run_race(cfg: RunConfig, run_dir: Path, points: list[np.ndarray], budget: Budget, reporter: Reporter,
             finishers: Sequence[Finisher] = (), fence: Fence | None = None, *, resume: bool = False
             ) -> list[dict[str, Any]]:
    """Race the starts (phase 1), write ``race.json``, continue the best (phase 2); every
    start's record. Failures are records, as in :func:`~.multistart.execute_starts`."""
    opt = cfg.optimizer
    assert opt.race_evals is not None
    n = opt.starts
    race_budget = Budget(opt.race_evals, budget.deadline, budget.target_fom)
    decided = read_json(run_dir / RACE_FILE) if resume else None
    if decided is None or decided.get("race_evals") != opt.race_evals:
        done: dict[int, dict[str, Any]] = {}
        for i in range(n):
            rec = start_record(run_dir, i) if resume else None
            if rec is not None and start_finished(rec, opt.race_evals):
                done[i] = rec
        todo = [i for i in range(n) if i not in done]
        reporter.message(f"racing {n} starts: {opt.race_evals} evaluations each, then the best "
                         f"{opt.race_keep} go on (optimizer.race_evals, optimizer.race_keep)")
        first = list(done.values()) + execute_starts(cfg, run_dir, points, race_budget, reporter, todo, (), fence)
        if any(r.get("stop_reason") == "time_limit" for r in first):
            reporter.message("the time limit ran out during the race; no start goes on", "warning")
            return _with_outputs(first, run_dir, points, cfg, race_budget, reporter, finishers, fence)
        table, go_on = ranking(first, opt.race_keep)
        decided = {"race_evals": opt.race_evals, "keep": opt.race_keep, "ranking": table, "go_on": go_on}
        if fence is not None:
            fence.check()
        atomic.write_json(run_dir / RACE_FILE, decided)
    go_on = [int(i) for i in decided.get("go_on", [])]
    reporter.message("after the race, starts " + ", ".join(f"{i:02d}" for i in go_on) + " go on"
                     if go_on else "after the race no start goes on (they ended inside it)")
    todo = [i for i in go_on if not start_finished(start_record(run_dir, i))]
    records = {i: start_record(run_dir, i) or {"start": i, "status": "failed", "error": "no best.json after the race"}
               for i in range(n) if i not in todo}
    for rec in execute_starts(cfg, run_dir, points, budget, reporter, todo, finishers, fence):
        records[rec["start"]] = rec
    stopped = [i for i in range(n) if i not in go_on]
    # the starts the race stopped get their figures now (the race itself writes none, so the
    # starts that go on are not drawn twice)
    return _with_outputs([records[i] for i in range(n)], run_dir, points, cfg, race_budget, reporter, finishers,
                         fence, only=stopped)


def _with_outputs(records: list[dict[str, Any]], run_dir: Path, points: list[np.ndarray], cfg: RunConfig,
                  race_budget: Budget, reporter: Reporter, finishers: Sequence[Finisher], fence: Fence | None,
                  only: list[int] | None = None) -> list[dict[str, Any]]:
    """Write the finishers' outputs (``fused.png``) of the raced starts ``only`` (all: None) by
    replaying each (no evaluation is repeated but the best's check)."""
    if not finishers:
        return records
    which = [r["start"] for r in records if r.get("status") != "failed" and (only is None or r["start"] in only)]
    if not which:
        return records
    from ingrained_core.engine.reporting import QuietReporter

    quiet = QuietReporter()  # their results were reported after the race
    here = cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"executor": "serial", "scheduler": None})})
    # in this process: a replay and one evaluation each, not worth a pool's start-up
    again = {r["start"]: r for r in execute_starts(here, run_dir, points, race_budget, quiet, which, finishers, fence)}
    return [again.get(r["start"], r) for r in records]
