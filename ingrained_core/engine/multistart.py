"""Several starts of one run: the start points, one start as an independent task, running
the starts in parallel (:func:`~ingrained_core.engine.parallel.parallel_map`), and merging
their results into the run directory.

Each start writes ``starts/NN/`` (its own log, best.json, images); the run's ``best.json``
is the best start's record with a summary of all starts, and the run's ``progress.csv``
is every start's rows with a trailing ``start`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.engine.config import RunConfig
from ingrained_core.engine.lock import Fence
from ingrained_core.engine.payload import config_to_payload
from ingrained_core.engine.problem import Problem
from ingrained_core.engine.progress import read_progress
from ingrained_core.engine.reporting import Reporter
from ingrained_core.engine.rundir import FINAL_REASONS, read_json
from ingrained_core.engine.start_runner import Budget, Finisher, StartRunner
from ingrained_core.plugin import files as atomic
from ingrained_core.plugin.errors import IngrainedError


def start_points(problem: Problem, starts: int, seed: int) -> list[np.ndarray]:
    """Start 0 is the configured start, starts 1, 2, ... the config's ``optimizer.start_values``
    (clipped into the bounds); the others are sampled uniformly in the box (seeded)."""
    rng = np.random.default_rng(seed)
    space = problem.space
    x0 = space.x0
    base = space.values(x0)
    given = problem.config.optimizer.start_values
    points = [x0]
    for i in range(1, starts):
        draw = rng.uniform(0.0, 1.0, size=x0.shape)  # drawn for every start: a sampled start never moves
        if i - 1 < len(given):
            points.append(np.clip(space.to_unit({**base, **given[i - 1]}), 0.0, 1.0))
        else:
            points.append(draw)
    return points


def start_record(run_dir: Path, i: int) -> dict[str, Any] | None:
    """Start ``i``'s ``best.json`` in a run directory (None: missing or unreadable)."""
    return read_json(run_dir / "starts" / f"{i:02d}" / "best.json")


def start_finished(rec: dict[str, Any] | None, race_evals: int | None = None) -> bool:
    """A start (its best.json) with nothing left to do: converged or at its target, or, with
    ``race_evals``, stopped by a race of that many evaluations (:mod:`.race`)."""
    if not rec or rec.get("status") != "finished":
        return False
    if rec.get("stop_reason") in FINAL_REASONS:
        return True
    return race_evals is not None and rec.get("stop_reason") == "max_evals" and int(rec.get("evaluations", 0)) >= race_evals


def run_start_task(config_data: dict[str, Any], out_dir: str, start_index: int, x0: list[float],
                   budget: dict[str, Any], finishers: Sequence[Finisher] = (),
                   fence: dict[str, Any] | None = None) -> dict[str, Any]:
    """One start as an independent task (process pool or dask worker); returns its best record.

    The problem comes from the worker's last one when the config is the same
    (:mod:`.problem_cache`): the starts of a run build it once per worker."""
    from ingrained_core.engine.problem_cache import cached_problem
    from ingrained_core.engine.reporting import QuietReporter

    problem = cached_problem(config_data)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runner = StartRunner(problem, out, np.asarray(x0), Budget(**budget), QuietReporter(f"start {start_index:02d}"), start_index,
                         finishers=finishers, fence=Fence.from_payload(fence))
    return runner.run()


def execute_starts(cfg: RunConfig, run_dir: Path, points: list[np.ndarray], budget: Budget,
                   reporter: Reporter, todo: list[int], finishers: Sequence[Finisher] = (),
                   fence: Fence | None = None) -> list[dict[str, Any]]:
    """Run the starts ``todo`` (in parallel as the config says); their records, failures included."""
    from ingrained_core.engine.parallel import parallel_map

    data = config_to_payload(cfg)
    fdict = fence.payload() if fence is not None else None
    tasks = [(data, str(run_dir / "starts" / f"{i:02d}"), i, points[i].tolist(), budget.payload(),
              tuple(finishers), fdict) for i in todo]
    results: list[dict[str, Any]] = []
    opt = cfg.optimizer
    executor = "dask" if (opt.executor == "dask" or opt.scheduler) else opt.executor
    for i, rec, err in parallel_map(run_start_task, tasks, executor=executor, scheduler=opt.scheduler,
                                    workers=opt.workers):
        if err is not None:
            reporter.message(f"start {i:02d} failed: {err}", "error")
            results.append({"start": i, "status": "failed", "error": str(err)})
        else:
            reporter.message(f"start {i:02d}: FOM {rec['fom']:.5f} after {rec['evaluations']} evaluations "
                             f"({rec['stop_reason']})")
            results.append(rec)
    from ingrained_core.engine.problem_cache import clear

    clear()  # where the starts ran here (serially), this process does not keep their problem
    return results


def aggregate(run_dir: Path, records: list[dict[str, Any]], race: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the starts into the run directory (best.json, images, merged progress.csv);
    ``race``: the race's record (:mod:`.race`), kept in best.json."""
    ok = [r for r in records if r.get("status") != "failed" and "fom" in r]
    if not ok:
        errors = "; ".join(f"start {r['start']}: {r.get('error')}" for r in records)
        raise IngrainedError(f"every start failed: {errors}")
    best = min(ok, key=lambda r: (r["fom"], r["start"]))
    src = run_dir / "starts" / f"{best['start']:02d}"
    for name in ("simulation.npy", "fused.png", "structure.cif", "structure.vasp"):
        if (src / name).exists():
            atomic.write_bytes(run_dir / name, (src / name).read_bytes())
    total = dict(best)
    total["evaluations_all_starts"] = sum(r.get("evaluations", 0) for r in ok)
    total["starts"] = [{"start": r["start"], "fom": r.get("fom"), "status": r.get("status"),
                        "stop_reason": r.get("stop_reason"), "error": r.get("error")}
                       for r in sorted(records, key=lambda r: r["start"])]  # completion order varies
    if race is not None:
        total["race"] = race
    atomic.write_json(run_dir / "best.json", total)
    # Merged log: every start's rows with a trailing 'start' column.
    lines = []
    for r in sorted(ok, key=lambda r: r["start"]):
        header, rows = read_progress(run_dir / "starts" / f"{r['start']:02d}" / "progress.csv")
        if not lines:
            lines.append(",".join(header + ["start"]))
        for row in rows:
            lines.append(",".join(repr(row[h]) if isinstance(row[h], float) else str(row[h]) for h in header)
                         + f",{r['start']}")
    atomic.write_text(run_dir / "progress.csv", "\n".join(lines) + "\n")
    return total
