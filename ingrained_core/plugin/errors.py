"""User-facing error types: the CLI prints these as one clear message, no traceback."""

from __future__ import annotations


class IngrainedError(Exception):
    """Base class of every error caused by user input (files, configs, names)."""


class ConfigError(IngrainedError):
    """A configuration value is missing, of the wrong type or out of range."""


class InputFileError(IngrainedError):
    """An input file is missing, unreadable, truncated or not of the expected kind."""


class PluginError(IngrainedError):
    """A plugin is unknown, broken, conflicting or missing a dependency."""


class RunDirectoryError(IngrainedError):
    """A run directory cannot be created, is locked, or would be overwritten."""


class ParameterError(ConfigError):
    """A forward-model parameter name, bound or value is invalid."""


def format_user_error(exc: BaseException) -> str:
    """One readable message for a user error (pydantic errors list field paths; secrets masked).

    Lives in the toolkit, below every layer that raises or reports user errors (the engine,
    the plugins and the CLI all format validation errors alike); the implementation is
    :func:`ingrained_core.plugin.messages.format_user_error`.
    """
    from ingrained_core.plugin.messages import format_user_error as _format

    return _format(exc)
