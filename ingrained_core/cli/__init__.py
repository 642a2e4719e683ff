"""The ``ingrained`` command line: a click group whose subcommands are imported lazily.

``ingrained --help`` and ``ingrained plugins list`` import no heavy dependency; each
subcommand lives in its own module and is loaded only when invoked. User errors
(:class:`~ingrained_core.plugin.errors.IngrainedError`, pydantic validation errors) are printed as
one clear message with exit code 2; ``--debug`` shows the traceback.
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


def _user_error_types() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from ingrained_core.plugin.errors import IngrainedError

    return (IngrainedError, ValidationError, FileNotFoundError, PermissionError, IsADirectoryError)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: run the CLI, turning user errors into one-line messages."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or os.environ.get("INGRAINED_DEBUG")
    try:
        return cli.main(args=argv, prog_name="ingrained", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except _user_error_types() as exc:
        if debug:
            raise
        click.echo(f"error: {format_user_error(exc)}", err=True)
        sys.exit(2)
