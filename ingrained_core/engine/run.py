"""Run orchestration: one start (optimizer loop with logging and replay) and multi-start.

The run directory is a contract (ARCHITECTURE.md, "Run directory"). Every evaluation is
appended to ``progress.csv`` as it happens; ``best.json`` and the images are written
atomically. Because the objective is deterministic, ``resume`` replays logged evaluations
(no recomputation), which puts the optimizer back exactly where it stopped.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingrained_core.plugin import files as atomic
from ingrained_core.engine.config import RunConfig, dump_config, read_config_file, validate_config
from ingrained_core.plugin.errors import IngrainedError, RunDirectoryError
from ingrained_core.engine.lock import LOCK_NAME, RunLock
from ingrained_core.engine.memory import tune_allocator
from ingrained_core.builtins.optimizers import StopOptimization
from ingrained_core.engine.problem import (
    Evaluation,
    Problem,
    build_problem,
    check_evaluation,
    validate_optimizer,
)
from ingrained_core.engine.progress import ProgressLog, read_progress
from ingrained_core.engine.reporting import Reporter
from ingrained_core.engine.start_from import simulated_structure_hash

RUN_FILES = (
    "config.toml", "progress.csv", "best.json", "experiment.npy", "simulation.npy",
    "fused.png", "structure.cif", "structure.vasp",
)
FINAL_REASONS = ("converged", "target_fom")
BEST_WRITE_INTERVAL_S = 1.0


@dataclass
class Budget:
    """Limits of one start: evaluations (this start), wall-clock deadline (epoch s), target FOM."""

    max_evals: int | None = None
    deadline: float | None = None
    target_fom: float | None = None


@dataclass
class StartState:
    best: Evaluation | None = None
    best_index: int = 0
    n: int = 0
    stop_reason: str = ""
    replayed: int = 0
    infeasible: int = 0
    warned: set[str] = field(default_factory=set)


def start_points(problem: Problem, starts: int, seed: int) -> list[np.ndarray]:
    """Start 0 is the configured start; the others are sampled uniformly in the box (seeded)."""
    rng = np.random.default_rng(seed)
    x0 = problem.space.x0
    points = [x0]
    for _ in range(1, starts):
        points.append(rng.uniform(0.0, 1.0, size=x0.shape))
    return points


def provenance() -> dict[str, Any]:
    from ingrained_core.engine.registry import versions

    return {"versions": versions(), "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


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
    ) -> None:
        self.problem = problem
        self.out_dir = Path(out_dir)
        self.x0 = np.asarray(x0, dtype=float)
        self.budget = budget
        self.reporter = reporter
        self.start_index = start_index
        self.names = problem.space.names
        self.state = StartState()
        self._last_best_write = 0.0

    # -- the objective the optimizer sees ------------------------------------------------
    def _objective(self, x: np.ndarray) -> float:
        st = self.state
        b = self.budget
        replaying = bool(self._replay)
        if not replaying:
            if b.max_evals is not None and st.n >= b.max_evals:
                raise StopOptimization("max_evals")
            if b.deadline is not None and time.time() >= b.deadline:
                raise StopOptimization("time_limit")
        values = self.problem.space.values(x)
        if replaying:
            row = self._replay.pop(0)
            self._check_replay(values, row)
            ev = Evaluation(
                {k: row[k] for k in self.names}, int(row["d_trans"]), float(row["d_sim"]), float(row["fom"]),
            )
            elapsed = float(row["elapsed_s"])
            st.replayed += 1
        else:
            ev = self.problem.evaluate(values)
            elapsed = self._elapsed0 + (time.monotonic() - self._t0)
            row = {"eval": st.n + 1, "elapsed_s": round(elapsed, 6), **ev.values,
                   "d_trans": ev.d_trans, "d_sim": ev.d_sim, "fom": ev.fom}
            self.log.append(row)
            if not ev.feasible:
                st.infeasible += 1
                key = ev.error.split(":")[0]
                if key not in st.warned:
                    st.warned.add(key)
                    self.reporter.message(
                        f"evaluation {st.n + 1}: the model refused these parameters ({ev.error}); "
                        "logged as infeasible", "warning")
        st.n += 1
        if ev.feasible and (st.best is None or ev.fom < st.best.fom):
            st.best, st.best_index = ev, st.n
            if not replaying:
                self._write_best(status="running")
        best_fom = st.best.fom if st.best else math.inf
        self.reporter.evaluation(self.start_index, st.n, ev.fom, best_fom, ev.d_trans, elapsed, replaying)
        if b.target_fom is not None and ev.feasible and ev.fom <= b.target_fom:
            raise StopOptimization("target_fom")
        return ev.fom

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
            "pixel_size": ev.values.get("pixel_size"),
            "experiment_shape": list(self.problem.experiment.data.shape),
            "structure_hash": simulated_structure_hash(self.problem.model, ev.values),  # start_from checks it
        }

    def _write_best(self, status: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_best_write < BEST_WRITE_INTERVAL_S:
            return
        self._last_best_write = now
        ev = self.state.best
        if ev is None or ev.placement is None or ev.simulation is None:
            return
        atomic.write_npy(self.out_dir / "simulation.npy", ev.simulation)
        atomic.write_json(self.out_dir / "best.json", self._best_record(status))

    def _finish(self, status: str) -> dict[str, Any]:
        st = self.state
        if st.best is None:
            raise IngrainedError("no feasible evaluation was made; check the start point and bounds")
        if st.best.simulation is None or st.best.placement is None:  # the best came from the replayed log
            again = self.problem.evaluate(st.best.values)
            st.best = Evaluation(st.best.values, st.best.d_trans, st.best.d_sim, st.best.fom,
                                 again.placement, again.simulation)
        self._write_best(status, force=True)
        record = self._best_record(status)
        from ingrained_core.apps.figures import save_fused_png

        save_fused_png(self.out_dir / "fused.png", self.problem.experiment.data, st.best.simulation, record)
        write_structure(self.problem, st.best.values, self.out_dir)
        return record

    # -- main -----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        tune_allocator()  # a flat resident set over long runs (ingrained_core/memory.py)
        problem = self.problem
        self.log = ProgressLog(self.out_dir / "progress.csv", self.names)
        self._replay = list(self.log.rows)
        self._elapsed0 = float(self._replay[-1]["elapsed_s"]) if self._replay else 0.0
        self._t0 = time.monotonic()
        opt_cls, options = validate_optimizer(problem.config)
        optimizer = opt_cls()
        status = "finished"
        blas = _blas_limit(problem.config.optimizer.blas_threads)
        try:
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
        except KeyboardInterrupt:
            self.state.stop_reason = "interrupted"
            status = "interrupted"
        finally:
            self.log.close()
            if blas is not None:
                blas.restore_original_limits()
        if self._replay:  # the log holds more than this optimizer path used: config changed
            self.reporter.message(f"{len(self._replay)} logged evaluations were not replayed", "warning")
        record = self._finish(status)
        record["elapsed_s"] = float(self.log.rows[-1]["elapsed_s"]) if self.log.rows else 0.0
        record["replayed"] = self.state.replayed
        record["infeasible"] = self.state.infeasible
        atomic.write_json(self.out_dir / "best.json", record)
        if record["d_trans"] > 0:
            self.reporter.message(
                f"Warning - solution has significant translative offset (d_trans = {record['d_trans']})", "warning")
        return record


def _blas_limit(threads: int | None):  # type: ignore[no-untyped-def]
    """Limit BLAS threads while a start evaluates (None: leave them alone).

    The matrices of one evaluation are small; on a busy machine BLAS worker threads spin
    waiting for cores (measured 5x slower per evaluation on Ni/M3B2 under load), and
    parallel runs get their parallelism from starts (docs/performance.md, "BLAS threads").
    """
    if threads is None:
        return None
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def write_structure(problem: Problem, values: dict[str, float], out_dir: Path) -> None:
    """Write the structure as simulated at ``values`` (CIF + POSCAR) when the model has one.

    POSCAR cannot hold partial occupancies: a disordered structure (allowed with
    ``allow_partial_occupancy``) is written as CIF only, and a stale POSCAR is removed.
    """
    structure_at = getattr(problem.model, "structure_at", None)
    if structure_at is None:
        return
    s = structure_at(problem.model.Params(**values))
    if s is None:
        return
    from pymatgen.io.cif import CifWriter
    from pymatgen.io.vasp import Poscar

    atomic.write_text(out_dir / "structure.cif", str(CifWriter(s)))
    if not s.is_ordered:
        (out_dir / "structure.vasp").unlink(missing_ok=True)
        return
    atomic.write_text(out_dir / "structure.vasp", Poscar(s).get_str() if hasattr(Poscar(s), "get_str") else str(Poscar(s)))


# -- run directories ------------------------------------------------------------------------
def prepare_run_dir(run_dir: Path, *, force: bool) -> None:
    """Create ``run_dir``; refuse a non-empty one unless ``force`` (which clears run files only)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirectoryError(f"run directory {run_dir} exists and is not a directory")
    if run_dir.exists() and any(p.name != LOCK_NAME for p in run_dir.iterdir()):
        if not force:
            raise RunDirectoryError(
                f"run directory {run_dir} is not empty; use 'ingrained resume {run_dir}' to continue it, "
                "--force to start over, or another --out"
            )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirectoryError(f"cannot create run directory {run_dir}: {exc.strerror or exc}") from exc


def clear_run_files(run_dir: Path) -> None:
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / "starts", ignore_errors=True)


@dataclass
class FuseResult:
    """What ``fuse`` returns: the best record (best.json), the run directory, per-start records."""

    best: dict[str, Any]
    run_dir: Path
    starts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fom(self) -> float:
        return float(self.best["fom"])

    @property
    def params(self) -> dict[str, float]:
        return dict(self.best["params"])

    def simulation(self) -> np.ndarray:
        return np.load(self.run_dir / "simulation.npy", allow_pickle=False)

    def experiment(self) -> np.ndarray:
        return np.load(self.run_dir / "experiment.npy", allow_pickle=False)


def run_start_task(config_data: dict[str, Any], out_dir: str, start_index: int, x0: list[float],
                   budget: dict[str, Any]) -> dict[str, Any]:
    """One start as an independent task (process pool or dask worker); returns its best record."""
    from ingrained_core.engine.reporting import QuietReporter

    cfg = validate_config(config_data, Path(config_data.get("base_dir") or "."))
    problem = build_problem(cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runner = StartRunner(problem, out, np.asarray(x0), Budget(**budget), QuietReporter(), start_index)
    return runner.run()


def _execute_starts(cfg: RunConfig, run_dir: Path, points: list[np.ndarray], budget: Budget,
                    reporter: Reporter, todo: list[int]) -> list[dict[str, Any]]:
    data = cfg.model_dump(mode="json")
    data["base_dir"] = str(cfg.base_dir) if cfg.base_dir else None
    bdict = {"max_evals": budget.max_evals, "deadline": budget.deadline, "target_fom": budget.target_fom}
    tasks = [(data, str(run_dir / "starts" / f"{i:02d}"), i, points[i].tolist(), bdict) for i in todo]
    results: list[dict[str, Any]] = []
    opt = cfg.optimizer

    def collect(i: int, rec: dict[str, Any] | None, err: BaseException | None) -> None:
        if err is not None:
            reporter.message(f"start {i:02d} failed: {err}", "error")
            results.append({"start": i, "status": "failed", "error": str(err)})
        else:
            assert rec is not None
            reporter.message(f"start {i:02d}: FOM {rec['fom']:.5f} after {rec['evaluations']} evaluations ({rec['stop_reason']})")
            results.append(rec)

    if opt.executor == "serial" or len(tasks) == 1:
        for t in tasks:
            try:
                collect(t[2], run_start_task(*t), None)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed start must not kill the others
                collect(t[2], None, exc)
    elif opt.executor == "dask" or opt.scheduler:
        from ingrained_core.engine.parallel import dask_map

        # one task per start, each in its own temporary working directory and starts/NN;
        # records stream back as they finish, a failed start is reported and the others go on
        for i, rec, err in dask_map(run_start_task, tasks, scheduler=opt.scheduler, workers=opt.workers):
            collect(i, rec, err)
    else:
        import os

        workers = opt.workers or min(len(tasks), os.cpu_count() or 1)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_start_task, *t): t[2] for t in tasks}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    collect(i, fut.result(), None)
                except Exception as exc:  # noqa: BLE001
                    collect(i, None, exc)
    return results


def _aggregate(run_dir: Path, names: list[str], records: list[dict[str, Any]]) -> dict[str, Any]:
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
    atomic.write_json(run_dir / "best.json", total)
    # Merged log: every start's rows with a trailing 'start' column.
    lines = []
    for r in sorted(ok, key=lambda r: r["start"]):
        header, rows = read_progress(run_dir / "starts" / f"{r['start']:02d}" / "progress.csv")
        if not lines:
            lines.append(",".join(header + ["start"]))
        for row in rows:
            lines.append(",".join(repr(row[h]) if isinstance(row[h], float) else str(row[h]) for h in header) + f",{r['start']}")
    atomic.write_text(run_dir / "progress.csv", "\n".join(lines) + "\n")
    return total


def execute(cfg: RunConfig, run_dir: Path, reporter: Reporter, *, resume: bool = False,
            problem: Problem | None = None) -> FuseResult:
    """Run (or continue) all starts of ``cfg`` in ``run_dir`` (which the caller has locked)."""
    opt = cfg.optimizer
    deadline = (time.time() + opt.time_limit) if opt.time_limit else None
    budget = Budget(opt.max_evals, deadline, opt.target_fom)
    problem = problem or build_problem(cfg)
    if not resume:
        atomic.write_text(run_dir / "config.toml", dump_config(cfg, {**cfg.provenance, **provenance()}))
    if not resume or not (run_dir / "experiment.npy").exists():  # a kill may fall between the two writes
        atomic.write_npy(run_dir / "experiment.npy", problem.experiment.data)
    reporter.begin(f"ingrained fuse -> {run_dir}", problem.space.free_names)
    points = start_points(problem, opt.starts, opt.seed)
    if opt.starts == 1:
        rec = StartRunner(problem, run_dir, points[0], budget, reporter, 0).run()
        reporter.end(rec)
        return FuseResult(rec, run_dir, [rec])
    todo, done = [], []
    for i in range(opt.starts):
        sdir = run_dir / "starts" / f"{i:02d}"
        prev = _read_json(sdir / "best.json")
        if resume and prev and prev.get("status") == "finished" and prev.get("stop_reason") in FINAL_REASONS:
            done.append(prev)
        else:
            todo.append(i)
    records = done + _execute_starts(cfg, run_dir, points, budget, reporter, todo)
    total = _aggregate(run_dir, problem.space.names, records)
    reporter.end(total)
    return FuseResult(total, run_dir, records)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def fuse(cfg: RunConfig, run_dir: str | Path, *, force: bool = False, reporter: Reporter | None = None) -> FuseResult:
    """Run the main job: fit the forward model into the experiment and write ``run_dir``."""
    from ingrained_core.engine.reporting import QuietReporter

    run_dir = Path(run_dir).resolve()
    reporter = reporter or QuietReporter()
    # Validate everything that can fail before anything in the run directory is touched.
    problem = build_problem(cfg)
    from ingrained_core.engine.thickness import choose_thickness  # a model's thickness series: scanned, not searched
    problem = choose_thickness(problem, reporter)
    cfg = problem.config  # with forward_model.start_from resolved into start values
    check_evaluation(problem)
    prepare_run_dir(run_dir, force=force)
    with RunLock(run_dir):
        if force:
            clear_run_files(run_dir)
        return execute(cfg, run_dir, reporter, problem=problem)


def load_run_config(run_dir: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """The resolved config stored in a run directory (``config.toml``), with overrides."""
    from ingrained_core.engine.config import apply_overrides

    run_dir = Path(run_dir)
    path = run_dir / "config.toml"
    if not path.exists():
        raise RunDirectoryError(f"{run_dir} is not an ingrained run directory (no config.toml)")
    data = apply_overrides(read_config_file(path), list(overrides or []))
    return validate_config(data, Path(data.get("base_dir") or run_dir), source=str(path))


def resume(run_dir: str | Path, *, overrides: list[str] | None = None, reporter: Reporter | None = None) -> FuseResult:
    """Continue an interrupted run: replay its log, then go on (no evaluation lost or repeated)."""
    from ingrained_core.engine.reporting import QuietReporter

    run_dir = Path(run_dir).resolve()
    reporter = reporter or QuietReporter()
    cfg = load_run_config(run_dir, overrides)
    with RunLock(run_dir):
        best = _read_json(run_dir / "best.json")
        if cfg.optimizer.starts == 1 and best and best.get("status") == "finished" and best.get("stop_reason") in FINAL_REASONS:
            reporter.message(f"{run_dir} already finished ({best['stop_reason']}); nothing to resume")
            return FuseResult(best, run_dir, [best])
        if overrides:
            atomic.write_text(run_dir / "config.toml", dump_config(cfg, provenance()))
        return execute(cfg, run_dir, reporter, resume=True)
