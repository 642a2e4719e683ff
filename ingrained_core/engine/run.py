"""Run orchestration: ``fuse`` (a new run) and ``resume`` (continue one) over a locked run
directory, one start (:mod:`~ingrained_core.engine.start_runner`) or several
(:mod:`~ingrained_core.engine.multistart`).

The run directory is a contract (:mod:`~ingrained_core.engine.rundir`). Every evaluation is
appended to ``progress.csv`` as it happens; ``best.json`` and the images are written
atomically. Because the objective is deterministic, ``resume`` replays logged evaluations
(no recomputation), which puts the optimizer back exactly where it stopped; it refuses a
run whose objective changed (:mod:`~ingrained_core.engine.fingerprint`).

Outputs beyond the run files (``fused.png``) come from ``finishers`` the caller passes
(apps/api.py): the engine does not import the apps layer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingrained_core.engine.config import RunConfig, dump_config, read_config_file, recorded_command
from ingrained_core.engine.deadline import TimeLimitReached, hard_deadline, start_time
from ingrained_core.engine.fingerprint import (
    check_fingerprint,
    check_overrides,
    write_fingerprint,
)
from ingrained_core.engine.lock import Fence, RunLock
from ingrained_core.engine.multistart import (
    aggregate,
    execute_starts,
    run_start_task,
    start_finished,
    start_points,
    start_record,
)
from ingrained_core.engine.problem import Problem, build_problem, check_evaluation
from ingrained_core.engine.race import RACE_FILE, races, run_race
from ingrained_core.engine.autostart.resolve import calibration_notes, write_start_json
from ingrained_core.engine.reporting import Reporter
from ingrained_core.engine.run_records import report_at_bound, write_build_record
from ingrained_core.engine.rundir import (
    FINAL_REASONS,
    RUN_FILES,
    FuseResult,
    clear_run_files,
    load_run_config,
    prepare_run_dir,
    read_json,
    remove_temporaries,
)
from ingrained_core.engine.start_runner import Budget, Finisher, StartRunner, blas_limit, run_finishers
from ingrained_core.engine.structure_files import write_structure
from ingrained_core.plugin import files as atomic

__all__ = [
    "FINAL_REASONS", "RUN_FILES", "Budget", "FuseResult", "StartRunner", "execute", "fuse", "load_run_config",
    "prepare_run_dir", "resume", "run_start_task", "start_points", "write_structure",
]

_blas_limit = blas_limit  # the name tests/core/test_blas_threads.py imports


def provenance() -> dict[str, Any]:
    from ingrained_core.engine.registry import versions

    return {"versions": versions(), "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def resumed_provenance(run_dir: Path, overrides: list[str]) -> dict[str, Any]:
    """The provenance of a config a resume with ``overrides`` rewrites: the stored one kept
    (config file, command, ``start_from``, secrets removed), this write's versions and time,
    and the resume (its command line and overrides, secrets masked) appended to ``resumed``."""
    from ingrained_core.plugin.redact import redact_args

    stored = read_config_file(run_dir / "config.toml").get("provenance")
    stored = stored if isinstance(stored, dict) else {}
    earlier = stored.get("resumed")
    entry = {"command": recorded_command(), "overrides": redact_args([str(o) for o in overrides])}
    return {**stored, **provenance(), "resumed": [*(earlier if isinstance(earlier, list) else []), entry]}


def _not_utf8(obj: Any, prefix: str = "") -> tuple[str, str] | None:
    """The first (dotted field, value) whose text cannot be written as UTF-8 (a file name's
    bytes of another encoding, held as surrogates), else None."""
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return prefix.rstrip("."), obj
        return None
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        found = _not_utf8(value, f"{prefix}{key}.")
        if found:
            return found
    return None


def check_recordable(cfg: RunConfig) -> None:
    """Refuse, before the run directory is made, a config its ``config.toml`` cannot record.

    TOML is UTF-8; a path under a directory whose name holds other bytes (``bad\\xffdir``)
    cannot be written into it (it used to fail with a ``UnicodeEncodeError`` traceback after
    the run directory was created, leaving it empty).
    """
    import os

    from ingrained_core.plugin.errors import ConfigError

    data = cfg.model_dump(mode="json", exclude_none=True)
    data["provenance"] = dict(cfg.provenance)
    found = _not_utf8(data)
    if found is None:
        return
    field, value = found
    shown = repr(os.fsencode(value))[2:-1]
    what = "the config file's path" if field == "provenance.config_file" else field
    raise ConfigError(
        f"{what} '{shown}' is not valid UTF-8 (a file or directory name holds bytes of another encoding); the run's "
        "config.toml records every path in UTF-8: rename it, or copy the files to a directory with a UTF-8 name"
    )


def execute(cfg: RunConfig, run_dir: Path, reporter: Reporter, *, resume: bool = False,
            problem: Problem | None = None, finishers: Sequence[Finisher] = (),
            fence: Fence | None = None, started: float | None = None) -> FuseResult:
    """Run (or continue) all starts of ``cfg`` in ``run_dir`` (which the caller has locked).

    The time limit counts from ``started`` (epoch s; default now).
    """
    opt = cfg.optimizer
    deadline = ((started or time.time()) + opt.time_limit) if opt.time_limit else None
    budget = Budget(opt.max_evals, deadline, opt.target_fom)
    problem = problem or build_problem(cfg)
    if resume:
        remove_temporaries(run_dir)
        if not check_fingerprint(run_dir, cfg, problem.experiment.data):
            write_fingerprint(run_dir, cfg, problem.experiment.data)  # a run of an older version
    else:
        atomic.write_text(run_dir / "config.toml", dump_config(cfg, {**cfg.provenance, **provenance()}))
        # the fingerprint of the config as resume will read it back (config.toml), so that a
        # field the file cannot spell the same way (an empty value, say) never looks edited
        write_fingerprint(run_dir, load_run_config(run_dir), problem.experiment.data)
    if not resume or not (run_dir / "experiment.npy").exists():  # a kill may fall between the two writes
        atomic.write_npy(run_dir / "experiment.npy", problem.experiment.data)
    write_build_record(problem, run_dir)
    reporter.begin(f"ingrained fuse -> {run_dir}", problem.space.free_names)
    if not resume:  # start = "auto": the estimate, its notices and start.json
        for note in problem.autostart.get("notices", []):
            reporter.message(note, "warning")
        write_start_json(problem, run_dir)
    getattr(reporter, "plan", lambda info: None)({"run_dir": str(run_dir), "starts": opt.starts, "max_evals": opt.max_evals,
                                                  "time_limit": opt.time_limit, "optimizer": opt.name})
    points = start_points(problem, opt.starts, opt.seed)
    if opt.starts == 1:
        rec = StartRunner(problem, run_dir, points[0], budget, reporter, 0, finishers=finishers,
                          fence=fence).run()
        _closing_notes(reporter, rec)
        reporter.end(rec)
        return FuseResult(rec, run_dir, [rec])
    try:
        if races(cfg):  # optimizer.race_evals: a short race first, then the best go on
            records = run_race(cfg, run_dir, points, budget, reporter, finishers, fence, resume=resume)
        else:
            done, todo = [], []
            for i in range(opt.starts):
                rec = start_record(run_dir, i) if resume else None
                if start_finished(rec):
                    done.append(rec)
                else:
                    todo.append(i)
            records = done + execute_starts(cfg, run_dir, points, budget, reporter, todo, finishers, fence)
    except TimeLimitReached:  # a start blocked past the deadline: its worker was stopped and wrote its files
        records = [start_record(run_dir, i) or {"start": i, "status": "failed", "error": "stopped by the time limit"}
                   for i in range(opt.starts)]
        reporter.message("the time limit ran out inside an evaluation; the starts were stopped", "warning")
    if fence is not None:
        fence.check()
    total = aggregate(run_dir, records, race=read_json(run_dir / RACE_FILE) if races(cfg) else None)
    run_finishers(finishers, run_dir, problem, reporter, total, deadline=budget.deadline)  # the merged run directory's own outputs
    _closing_notes(reporter, total)
    reporter.end(total)
    return FuseResult(total, run_dir, records)


def _closing_notes(reporter: Reporter, record: dict[str, Any]) -> None:
    """Before the summary: parameters at a bound, and the file's calibration against the fit."""
    report_at_bound(reporter, record)
    for note in calibration_notes(record):
        reporter.message(*note)


def fuse(cfg: RunConfig, run_dir: str | Path, *, force: bool = False, reporter: Reporter | None = None,
         finishers: Sequence[Finisher] = ()) -> FuseResult:
    """Run the main job: fit the forward model into the experiment and write ``run_dir``."""
    from ingrained_core.engine.reporting import QuietReporter

    run_dir = Path(run_dir).absolute()
    reporter = reporter or QuietReporter()
    started = start_time()
    with hard_deadline(_deadline(cfg, started)):
        # Validate everything that can fail before anything in the run directory is touched.
        check_recordable(cfg)
        problem = build_problem(cfg)
        from ingrained_core.engine.thickness import choose_thickness  # a thickness series: scanned, not searched

        problem = choose_thickness(problem, reporter)
        cfg = problem.config  # with forward_model.start_from resolved into start values
        check_evaluation(problem)
        prepare_run_dir(run_dir, force=force)
        with RunLock(run_dir) as lock:
            if force:
                clear_run_files(run_dir)
            return execute(cfg, run_dir, reporter, problem=problem, finishers=finishers, fence=lock.fence,
                           started=started)


def resume(run_dir: str | Path, *, overrides: list[str] | None = None, reporter: Reporter | None = None,
           finishers: Sequence[Finisher] = ()) -> FuseResult:
    """Continue an interrupted run: replay its log, then go on (no evaluation lost or repeated)."""
    from ingrained_core.engine.reporting import QuietReporter

    run_dir = Path(run_dir).absolute()
    reporter = reporter or QuietReporter()
    started = start_time()
    check_overrides(list(overrides or []))
    cfg = load_run_config(run_dir, overrides)
    with hard_deadline(_deadline(cfg, started)), RunLock(run_dir) as lock:
        best = read_json(run_dir / "best.json")
        if cfg.optimizer.starts == 1 and start_finished(best):
            reporter.message(f"{run_dir} already finished ({best['stop_reason']}); nothing to resume")
            return FuseResult(best, run_dir, [best])
        if overrides:
            atomic.write_text(run_dir / "config.toml", dump_config(cfg, resumed_provenance(run_dir, overrides)))
        return execute(cfg, run_dir, reporter, resume=True, finishers=finishers, fence=lock.fence,
                       started=started)


def _deadline(cfg: RunConfig, started: float) -> float | None:
    limit = cfg.optimizer.time_limit
    return started + limit if limit else None
