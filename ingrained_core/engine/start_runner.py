"""One start of a run: the optimizer loop with logging, replay and the best-so-far files.

Every evaluation is appended to ``progress.csv`` as it happens. ``best.json`` and
``simulation.npy`` describe the best feasible row; they are rewritten at most every
:data:`~ingrained_core.engine.rundir.BEST_WRITE_INTERVAL_S` seconds, an improvement inside
that interval is *deferred* (written at the next evaluation after it, or at the stop), never
dropped. Because the objective is deterministic, ``resume`` replays logged evaluations
(no recomputation), which puts the optimizer back exactly where it stopped; the best row
taken from the log is evaluated again and must give the logged FOM before it is trusted.

What a start leaves besides its run files is up to the caller: ``finishers`` are called
with ``(out_dir, experiment, simulation, best record)`` once the start has ended
(the apps layer passes the ``fused.png`` writer).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.builtins.optimizers import StopOptimization
from ingrained_core.engine import rundir
from ingrained_core.engine.autostart.resolve import calibration_record
from ingrained_core.engine.deadline import TimeLimitReached, alarm_at, outputs_window, recording
from ingrained_core.engine.lock import Fence
from ingrained_core.engine.memory import tune_allocator
from ingrained_core.engine.plugin_calls import PluginFailure
from ingrained_core.engine.problem import Evaluation, Problem, validate_optimizer
from ingrained_core.engine.progress import ProgressLog
from ingrained_core.engine.reporting import Reporter
from ingrained_core.engine.run_records import best_extras
from ingrained_core.engine.start_from import simulated_structure_hash
from ingrained_core.engine.stopping import shielded, stop_signals_interrupt
from ingrained_core.engine.structure_files import write_structure
from ingrained_core.plugin import files as atomic
from ingrained_core.plugin.errors import IngrainedError, RunDirectoryError

#: ``finisher(out_dir, problem, reporter, best_record)``: extra outputs of a finished start
#: (called once best.json, simulation.npy and the structure files are written), and of a
#: multi-start run directory once its starts are merged
Finisher = Callable[[Path, Any, Any, dict[str, Any]], None]


def run_finishers(finishers: Sequence[Finisher], out_dir: Path, problem: Any, reporter: Any,
                  record: dict[str, Any], deadline: float | None = None,
                  structure_values: dict[str, float] | None = None) -> None:
    """Write the structure files (at ``structure_values``, when given), then call each
    finisher. A time limit that runs out in them (the hard deadline's alarm, or past the
    deadline the last alarm of :func:`outputs_window`) ends the outputs, never the run: its
    files are complete, and a warning says how to write the rest later."""
    stage = "structure files (structure.cif, structure.vasp)"
    with outputs_window(deadline):
        try:
            if structure_values is not None:
                write_structure(problem, structure_values, out_dir, reporter)
            stage = "figure, calibrated files and report"
            for finish in finishers:
                finish(out_dir, problem, reporter, record)
        except TimeLimitReached:
            rest = (f"'ingrained report --outputs {out_dir}' writes them" if stage.startswith("figure")
                    else "they and the figure were not written")
            reporter.message(f"the time limit ran out while the {stage} of {out_dir} were written; best.json, "
                             f"simulation.npy and progress.csv are complete ({rest})", "warning")


@dataclass
class Budget:
    """Limits of one start: evaluations (this start), wall-clock deadline (epoch s), target FOM."""

    max_evals: int | None = None
    deadline: float | None = None
    target_fom: float | None = None

    def payload(self) -> dict[str, Any]:
        return {"max_evals": self.max_evals, "deadline": self.deadline, "target_fom": self.target_fom}


@dataclass
class StartState:
    best: Evaluation | None = None
    best_index: int = 0
    n: int = 0
    stop_reason: str = ""
    replayed: int = 0
    infeasible: int = 0
    warned: set[str] = field(default_factory=set)


def blas_limit(threads: int | None):  # type: ignore[no-untyped-def]
    """Limit BLAS threads while a start evaluates (None: leave them alone).

    The matrices of one evaluation are small; on a busy machine BLAS worker threads spin
    waiting for cores (measured 5x slower per evaluation on Ni/M3B2 under load), and
    parallel runs get their parallelism from starts (docs/performance.md, "BLAS threads").
    """
    if threads is None:
        return None
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


class StartRunner:
    """Runs the optimizer from one start point, writing into ``out_dir``."""

    def __init__(
        self,
        problem: Problem,
        out_dir: Path,
        x0: np.ndarray,
        budget: Budget,
        reporter: Reporter,
        start_index: int = 0,
        *,
        finishers: Sequence[Finisher] = (),
        fence: Fence | None = None,
    ) -> None:
        self.problem = problem
        self.out_dir = Path(out_dir)
        self.x0 = np.asarray(x0, dtype=float)
        self.budget = budget
        self.reporter = reporter
        self.start_index = start_index
        self.finishers = tuple(finishers)
        self.fence = fence
        self.names = problem.space.names
        self.state = StartState()
        self._last_best_write = -math.inf
        self._best_pending = False
        self._hash_memo: tuple[Evaluation, str | None] | None = None
        self._started_at = time.time()

    # -- the objective the optimizer sees ------------------------------------------------
    def _objective(self, x: np.ndarray) -> float:
        st = self.state
        b = self.budget
        replaying = bool(self._replay)
        if not replaying and self._repair_pending:
            self._repair_best()
        if not replaying:
            if b.max_evals is not None and st.n >= b.max_evals:
                raise StopOptimization("max_evals")
            if b.deadline is not None and time.time() >= b.deadline:
                raise StopOptimization("time_limit")
        values = self.problem.space.values(x)
        if replaying:
            row = self._replay.popleft()
            self._check_replay(values, row)
            ev = Evaluation(
                {k: row[k] for k in self.names}, int(row["d_trans"]), float(row["d_sim"]), float(row["fom"]),
            )
            elapsed = float(row["elapsed_s"])
            st.replayed += 1
            self._count(ev, replaying)  # the row is in the log already
        else:
            ev = self.problem.evaluate(values)
            elapsed = self._elapsed0 + (time.monotonic() - self._t0)
            row = {"eval": st.n + 1, "elapsed_s": round(elapsed, 6), **ev.values,
                   "d_trans": ev.d_trans, "d_sim": ev.d_sim, "fom": ev.fom}
            if self.fence is not None:
                self.fence.check()
            recording[0] += 1  # a stop signal waits until the row is logged and counted
            try:
                self.log.append(row)
                self._count(ev, replaying)
            finally:
                recording[0] -= 1
            if not ev.feasible:
                st.infeasible += 1
                key = ev.error.split(":")[0]
                if key not in st.warned:
                    st.warned.add(key)
                    self.reporter.message(
                        f"evaluation {st.n}: the model refused these parameters ({ev.error}); "
                        "logged as infeasible", "warning")
        if self._best_pending and not replaying:
            self._write_best(status="running")
        best_fom = st.best.fom if st.best else math.inf
        self.reporter.evaluation(self.start_index, st.n, ev.fom, best_fom, ev.d_trans, elapsed, replaying)
        if b.target_fom is not None and ev.feasible and ev.fom <= b.target_fom:
            raise StopOptimization("target_fom")
        return ev.fom

    def _count(self, ev: Evaluation, replaying: bool) -> None:
        """One more evaluation, and the best so far if ``ev`` beats it."""
        st = self.state
        st.n += 1
        if ev.feasible and (st.best is None or ev.fom < st.best.fom):
            st.best, st.best_index = ev, st.n
            self._best_pending = not replaying

    def _check_replay(self, values: dict[str, float], row: dict[str, Any]) -> None:
        for p in self.problem.space.free:
            if p.kind != "float":
                continue  # integer sizes are logged as actually used (possibly reduced)
            if float(row[p.name]) != float(values[p.name]):
                raise RunDirectoryError(
                    f"{self.log.path}: evaluation {row['eval']} has {p.name} = {row[p.name]!r} but the optimizer "
                    f"now proposes {values[p.name]!r}; the log does not belong to this configuration"
                )

    # -- outputs --------------------------------------------------------------------------
    def _best_record(self, status: str) -> dict[str, Any]:
        ev = self.state.best
        assert ev is not None and ev.placement is not None
        cfg = self.problem.config
        return {
            "fom": ev.fom, "d_trans": ev.d_trans, "d_sim": ev.d_sim,
            "alpha": cfg.fom.alpha, "beta": cfg.fom.beta,
            "evaluation": self.state.best_index,
            "params": ev.values,
            "patch": ev.patch_dict(),
            "forward_model": cfg.forward_model.name,
            "similarity": cfg.fom.similarity,
            "optimizer": cfg.optimizer.name,
            "start": self.start_index,
            "evaluations": self.state.n,
            "status": status,
            "stop_reason": self.state.stop_reason,
            "started_at": round(self._started_at, 3),  # epoch s: when this start's evaluations began here
            "segments": self._segments,  # epoch s of each run of this start (a race or resume adds one)
            "pixel_size": ev.values.get("pixel_size"),
            "experiment_shape": list(self.problem.experiment.data.shape),
            "structure_hash": self._structure_hash(ev),  # start_from checks it
            **best_extras(self.problem, ev.values),
            **calibration_record(self.problem, ev.values),
        }

    def _structure_hash(self, best: Evaluation) -> str | None:
        """The structure hash at ``best``'s values, made once for a best written more than once
        (a running record and the final one: 24 ms each on the twin, a tenth of a short fit)."""
        if self._hash_memo is None or self._hash_memo[0] is not best:
            self._hash_memo = (best, simulated_structure_hash(self.problem.model, best.values))
        return self._hash_memo[1]

    def _write_best(self, status: str, force: bool = False, extra: dict[str, Any] | None = None) -> None:
        """Write best.json + simulation.npy now if due (or ``force``); else leave it pending."""
        now = time.monotonic()
        if not force and now - self._last_best_write < rundir.BEST_WRITE_INTERVAL_S:
            return
        ev = self.state.best
        if ev is None or ev.placement is None or ev.simulation is None:
            return
        record = {**self._best_record(status), **(extra or {})}
        if self.fence is not None:
            self.fence.check()
        with shielded():  # a signal now would leave best.json and simulation.npy of two rows
            atomic.write_npy(self.out_dir / "simulation.npy", ev.simulation)
            atomic.write_json(self.out_dir / "best.json", record)
        self._last_best_write = now
        self._best_pending = False

    def _repair_best(self) -> None:
        """After the replay: the log's best row, checked, is what best.json and simulation.npy
        describe (they lag the log after a kill -9 within the write interval)."""
        self._repair_pending = False
        if self.state.best is None:
            return
        self._trusted_best()
        self._write_best(status="running", force=True)

    def _trusted_best(self) -> None:
        """Give the best row its simulation; a row taken from the log is evaluated again and
        must reproduce its logged FOM (the objective is deterministic)."""
        st = self.state
        assert st.best is not None
        if st.best.simulation is not None and st.best.placement is not None:
            return
        again = self.problem.evaluate(st.best.values)
        logged = st.best.fom
        if not (again.feasible and math.isclose(again.fom, logged, rel_tol=1e-9, abs_tol=1e-12)):
            raise RunDirectoryError(
                f"{self.log.path}: evaluation {st.best_index} is logged with FOM {logged!r} but evaluates to "
                f"{again.fom!r} now; the log was edited or belongs to another configuration or image "
                "(start over with 'ingrained fuse --force')")
        st.best = Evaluation(st.best.values, st.best.d_trans, st.best.d_sim, st.best.fom,
                             again.placement, again.simulation)

    def _finish(self, status: str) -> dict[str, Any]:
        st = self.state
        if st.best is None:
            if st.stop_reason == "time_limit":
                raise IngrainedError(
                    f"the time limit ({self.problem.config.optimizer.time_limit} s) ran out before a feasible "
                    "evaluation was made; give a longer --time-limit")
            raise IngrainedError("no feasible evaluation was made; check the start point and bounds")
        self._trusted_best()
        extra = {"elapsed_s": float(self.log.last["elapsed_s"]) if self.log.last else 0.0,
                 "replayed": st.replayed, "infeasible": st.infeasible}
        self._write_best(status, force=True, extra=extra)
        record = {**self._best_record(status), **extra}
        run_finishers(self.finishers, self.out_dir, self.problem, self.reporter, record,
                      deadline=self.budget.deadline, structure_values=st.best.values)
        return record

    def _earlier_segments(self) -> list[dict[str, Any]]:
        """The wall-clock segments of the runs of this start before this one (from its
        best.json; none when nothing is replayed): evaluation k of the log ran in the last
        segment with fewer ``evaluations`` than k, at ``started_at + elapsed_s(k) - elapsed_s``
        (epoch s). A race (:mod:`.race`) or a resume continues a start in a new segment."""
        if not self._replay:
            return []
        prior = rundir.read_json(self.out_dir / "best.json") or {}
        segments = prior.get("segments")
        if isinstance(segments, list) and segments:
            return [dict(s) for s in segments]
        if "started_at" in prior:
            return [{"started_at": prior["started_at"], "elapsed_s": 0.0, "evaluations": 0}]
        return []

    # -- main -----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        tune_allocator()  # a flat resident set over long runs (ingrained_core/memory.py)
        problem = self.problem
        if self.fence is not None:
            self.fence.check()
        self.log = ProgressLog(self.out_dir / "progress.csv", self.names)
        self._replay = deque(self.log.rows)
        self.log.rows = []  # the replay list holds them now (and lets them go as it is consumed)
        self._repair_pending = bool(self._replay)
        self._elapsed0 = float(self._replay[-1]["elapsed_s"]) if self._replay else 0.0
        self._t0 = time.monotonic()
        self._started_at = time.time()  # wall clock: when this start's evaluations began (a parallel start may begin late)
        self._segments = self._earlier_segments() + [
            {"started_at": round(self._started_at, 3), "elapsed_s": self._elapsed0, "evaluations": len(self._replay)}]
        opt_cls, options = validate_optimizer(problem.config)
        optimizer = opt_cls()
        status = "finished"
        failure: PluginFailure | None = None
        blas = blas_limit(problem.config.optimizer.blas_threads)
        try:
            with stop_signals_interrupt(), alarm_at(self.budget.deadline):
                if len(self.x0) == 0:  # everything fixed: one evaluation is the answer
                    try:
                        self._objective(self.x0)
                    except StopOptimization as stop:
                        self.state.stop_reason = stop.reason
                    self.state.stop_reason = self.state.stop_reason or "converged"
                else:
                    try:
                        optimizer.minimize(self._objective, self.x0, options)
                        self.state.stop_reason = "converged"
                    except StopOptimization as stop:
                        self.state.stop_reason = stop.reason
        except TimeLimitReached:  # inside an evaluation: stop as if between two
            self.state.stop_reason = "time_limit"
        except KeyboardInterrupt:
            self.state.stop_reason = "interrupted"
            status = "interrupted"
        except PluginFailure as exc:  # the files still describe the best row so far, then the error
            failure = exc
            self.state.stop_reason = "plugin_failure"
            status = "failed"
        finally:
            self.log.close()
            if blas is not None:
                blas.restore_original_limits()
        if self._replay:  # the log holds more than this optimizer path used: config changed
            self.reporter.message(f"{len(self._replay)} logged evaluations were not replayed", "warning")
        if failure is not None:
            if self.state.best is not None:
                try:
                    self._finish(status)
                except IngrainedError:
                    pass  # the plugin's first failure is the one to report
            raise failure
        record = self._finish(status)
        if record["d_trans"] > 0:
            self.reporter.message(
                f"Warning - solution has significant translative offset (d_trans = {record['d_trans']})", "warning")
        return record
