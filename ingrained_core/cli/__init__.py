"""The ``ingrained`` command line: a click group whose subcommands are imported lazily.

``ingrained --help`` and ``ingrained plugins list`` import no heavy dependency; each
subcommand lives in its own module and is loaded only when invoked. Every error is one
``error:`` line (secrets masked, plugin/redact.py) with exit status 2 for a user error
(:class:`~ingrained_core.plugin.errors.IngrainedError`, pydantic validation errors, unreadable
files), 3 for a plugin's failure (:class:`~ingrained_core.engine.plugin_calls.PluginFailure`)
and 130 for an interruption (Ctrl-C, SIGTERM, SIGHUP); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

import click

from ingrained_core import __version__
from ingrained_core.plugin.errors import format_user_error  # noqa: F401 - re-exported (older import path)

#: subcommand -> "module:attribute" of its click command, imported on use.
COMMANDS: dict[str, tuple[str, str]] = {
    "plugins": ("ingrained_core.cli.plugins_cmd:plugins", "list and inspect plugins and their contributions"),
    "fuse": ("ingrained_core.cli.fuse_cmd:fuse", "fit a simulation into an experimental image (the main job)"),
    "resume": ("ingrained_core.cli.fuse_cmd:resume", "continue an interrupted run from its directory"),
    "simulate": ("ingrained_core.cli.simulate_cmd:simulate", "simulate one image from a config or a run"),
    "frames": ("ingrained_core.cli.frames_cmd:frames", "render progress panels (and a movie) of a run"),
    "report": ("ingrained_core.cli.report_cmd:report", "(re)build a run's report.html; compare runs side by side"),
    "preview": ("ingrained_core.cli.preview_cmd:preview", "show the preprocessed experimental image"),
    "build": ("ingrained_core.cli.build_cmd:build", "build a structure (bicrystal, oriented crystal, ...)"),
    "screen": ("ingrained_core.cli.screen_cmd:screen", "rank candidate structures or densities against one image"),
    "benchmark": ("ingrained_core.cli.benchmark_cmd:benchmark", "run the real-data benchmark against the paper"),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (target, _) in COMMANDS.items() if _module_exists(target))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        target, _ = COMMANDS[name]
        module_name, _, attr = target.partition(":")
        if not _module_exists(target):
            return None
        return getattr(import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(target: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(target.partition(":")[0]) is not None
    except ImportError:
        return False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ingrained")
@click.option("--debug", is_flag=True, envvar="INGRAINED_DEBUG", help="show tracebacks for errors")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """ingrained: fuse atomic-resolution image simulations into experimental images."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


from ingrained_core.plugin.messages import is_symlink_loop, validation_secrets, format_user_error  # noqa: E402,F401


def _user_error_types() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from ingrained_core.plugin.errors import IngrainedError

    return (IngrainedError, ValidationError, OSError, UnicodeError, RecursionError)


TIME_LIMIT_DURING_SETUP = ("the time limit ran out during the set-up or the final writes; the run directory (if "
                           "any) keeps what was written ('ingrained resume' continues it)")
#: exit status: a user error (bad input, config, run directory)
EXIT_USER = 2
#: exit status: code of a plugin failed (raised, returned garbage, exited)
EXIT_PLUGIN = 3
#: exit status: interrupted (Ctrl-C, SIGTERM, SIGHUP), after the run's files were written
EXIT_INTERRUPTED = 130


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    """Warnings as one ``warning:`` line (no source line), secrets masked."""
    from ingrained_core.plugin.redact import redact

    text = " ".join(str(message).split())
    if category.__name__ in ("StaleBestWarning", "ScaledImageWarning") or not str(filename).startswith(("<", "/")):
        click.echo(f"warning: {redact(text)}", err=True)
    else:
        click.echo(f"warning: {redact(text)} ({category.__name__})", err=True)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: run the CLI, turning errors into one-line messages.

    Exit status: 0 success, 2 user error, 3 a plugin's failure, 130 interrupted (Ctrl-C,
    SIGTERM, SIGHUP); ``--debug`` shows the traceback (secrets masked).
    """
    import warnings

    import time

    from ingrained_core.engine import deadline

    deadline.command_started = time.time()  # --time-limit counts from here
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args or os.environ.get("INGRAINED_DEBUG")
    warnings.showwarning = _show_warning
    from ingrained_core.plugin.redact import is_secret_name, remember

    for a in args:  # --set structure.api_key=... : that value is a secret from now on
        key, sep, value = a.partition("=")
        if sep and is_secret_name(key.rsplit(".", 1)[-1]):
            remember(value.strip().strip("'\""))
    try:
        from ingrained_core.engine.stopping import stop_signals_interrupt

        with stop_signals_interrupt():
            return cli.main(args=argv, prog_name="ingrained", standalone_mode=False)
    except click.exceptions.Abort as exc:
        from ingrained_core.engine.deadline import TimeLimitReached

        if isinstance(exc.__context__, TimeLimitReached):  # click turns a KeyboardInterrupt into Abort
            click.echo(f"error: {TIME_LIMIT_DURING_SETUP}", err=True)
        else:
            click.echo("Aborted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        from ingrained_core.engine.deadline import TimeLimitReached

        if isinstance(exc, TimeLimitReached):
            click.echo(f"error: {TIME_LIMIT_DURING_SETUP}", err=True)
            sys.exit(EXIT_INTERRUPTED)
        name = getattr(exc, "signum", None)
        click.echo("Interrupted." if name is None else f"Interrupted ({exc}).", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - one line for every error, a traceback only with --debug
        from ingrained_core.engine.plugin_calls import PluginFailure

        user = isinstance(exc, _user_error_types()) or is_symlink_loop(exc)
        plugin = isinstance(exc, PluginFailure)
        if debug or not (user or plugin):
            _print_traceback(exc)
            if debug:
                sys.exit(EXIT_PLUGIN if plugin else EXIT_USER if user else 1)
            sys.exit(1)
        click.echo(f"error: {format_user_error(exc)}", err=True)
        sys.exit(EXIT_PLUGIN if plugin else EXIT_USER)


def _print_traceback(exc: BaseException) -> None:
    import traceback

    from ingrained_core.plugin.redact import redact

    text = "".join(traceback.format_exception(exc))
    click.echo(redact(text, validation_secrets(exc)), err=True, nl=False)
