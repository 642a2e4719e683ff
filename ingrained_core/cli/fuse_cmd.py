"""``ingrained fuse`` and ``ingrained resume``: the main job and its continuation."""

from __future__ import annotations

import time
from pathlib import Path

import click

_budget_options = [
    click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                 help="override any config field, e.g. --set optimizer.name=nelder-mead (repeatable)"),
    click.option("--max-evals", type=int, default=None, help="evaluations per start (optimizer.max_evals)"),
    click.option("--time-limit", type=float, default=None, help="wall-time limit in seconds (optimizer.time_limit)"),
    click.option("--target-fom", type=float, default=None, help="stop once the FOM reaches this (optimizer.target_fom)"),
    click.option("--quiet", is_flag=True, help="print only warnings, errors and the result path"),
    click.option("--json-log", is_flag=True, help="one JSON object per event on stdout"),
]


def _with(options):  # type: ignore[no-untyped-def]
    def deco(f):  # type: ignore[no-untyped-def]
        for opt in reversed(options):
            f = opt(f)
        return f
    return deco


def _reporter(quiet: bool, json_log: bool):  # type: ignore[no-untyped-def]
    from ingrained_core.engine.reporting import ConsoleReporter, JsonLinesReporter, QuietReporter

    if json_log:
        return JsonLinesReporter()
    if quiet:
        return QuietReporter()
    return ConsoleReporter()


#: functions of the set-up, innermost first found wins: what a Ctrl-C interrupted
SETUP_STEPS = (
    ("prepare_experiment", "reading and preprocessing the experimental image"),
    ("_build_model", "building the structure and the forward model"),
    ("Registrar.__init__", "setting up the registration"),
    ("check_evaluation", "the first evaluation (checking the start point)"),
    ("load_config", "reading the config"),
    ("load_run_config", "reading the run's config"),
    ("prepare_run_dir", "creating the run directory"),
    ("_find_and_load", "importing the libraries"),
)


def interrupted_step(exc: BaseException) -> str:
    """What the set-up was doing when ``exc`` (a KeyboardInterrupt) arrived, from its traceback."""
    names = dict(SETUP_STEPS)
    found = "the set-up"
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        qual = getattr(code, "co_qualname", code.co_name)
        if qual in names:
            found = names[qual]
        tb = tb.tb_next
    return found


def _run_with(reporter, call, out: Path):  # type: ignore[no-untyped-def]
    """Call the run; a Ctrl-C during set-up says what it interrupted (exit 130)."""
    t0 = time.monotonic()
    existed = out.exists() and any(out.iterdir()) if out.is_dir() else out.exists()
    try:
        return call()
    except KeyboardInterrupt as exc:
        from ingrained_core.engine.deadline import TimeLimitReached

        if getattr(reporter, "began", True) or isinstance(exc, TimeLimitReached):
            raise  # the run records an interrupted fit; a deadline is reported as the time limit
        from ingrained_core.engine.lock import LOCK_NAME

        step = interrupted_step(exc)
        out = out.resolve()
        kept = out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir())
        if not existed:
            where = f"nothing was written to {out}"
        else:
            where = f"{out} keeps its earlier files" if kept else f"{out} is empty"
        click.echo(f"interrupted during set-up ({step}, after {time.monotonic() - t0:.1f} s): the fit had not "
                   f"started; {where}", err=True)
        raise SystemExit(130) from None
    finally:
        close = getattr(reporter, "close", None)
        if close is not None:
            close()


def _finish(result, quiet: bool, json_log: bool) -> None:  # type: ignore[no-untyped-def]
    if not json_log:
        click.echo(str(result.run_dir))
    if result.best.get("status") == "interrupted":
        raise SystemExit(130)


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), required=True, help="run directory to write")
@click.option("--force", is_flag=True, help="start over in a non-empty run directory (its run files are replaced)")
@click.option("--starts", type=int, default=None, help="number of starts (optimizer.starts)")
@click.option("--seed", type=int, default=None, help="seed of the start sampling (optimizer.seed)")
@click.option("--start-from", "start_from", type=click.Path(path_type=Path), default=None,
              help="a previous run's best.json (or run directory): start from its parameter values")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="run the starts on an existing dask.distributed scheduler (optimizer.scheduler)")
@_with(_budget_options)
def fuse(config: Path, out: Path, force: bool, starts: int | None, seed: int | None, start_from: Path | None,
         scheduler: str | None, overrides: tuple[str, ...], max_evals: int | None, time_limit: float | None,
         target_fom: float | None, quiet: bool, json_log: bool) -> None:
    """Fit a simulation into an experimental image; write the run directory OUT.

    CONFIG is a TOML (or JSON) run configuration; see docs/configuration.md.
    """
    import json

    if start_from is not None:  # relative to the working directory, not to the config file
        overrides += (f"forward_model.start_from={json.dumps(str(start_from.resolve()))}",)
    if scheduler is not None:
        overrides += (f"optimizer.scheduler={json.dumps(scheduler)}", 'optimizer.executor="dask"')
    reporter = _reporter(quiet, json_log)

    def call():  # type: ignore[no-untyped-def]
        from ingrained_core.apps.api import fuse as api_fuse

        return api_fuse(config, out, overrides=list(overrides), force=force, reporter=reporter, max_evals=max_evals,
                        time_limit=time_limit, starts=starts, seed=seed, target_fom=target_fom)

    result = _run_with(reporter, call, out)
    _finish(result, quiet, json_log)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@_with(_budget_options)
def resume(run_dir: Path, overrides: tuple[str, ...], max_evals: int | None, time_limit: float | None,
           target_fom: float | None, quiet: bool, json_log: bool) -> None:
    """Continue an interrupted run without losing or repeating an evaluation."""
    reporter = _reporter(quiet, json_log)

    def call():  # type: ignore[no-untyped-def]
        from ingrained_core.apps.api import resume as api_resume

        return api_resume(run_dir, overrides=list(overrides), reporter=reporter, max_evals=max_evals,
                          time_limit=time_limit, target_fom=target_fom)

    result = _run_with(reporter, call, run_dir)
    _finish(result, quiet, json_log)
