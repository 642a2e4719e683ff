"""Calling into a plugin's code: an error raised there names the plugin and becomes a
:class:`PluginFailure` (exit status 3), never a bare traceback or a silent exit.

``SystemExit`` and ``MemoryError`` raised by a plugin are failures of that plugin too (a
forward model calling ``sys.exit(0)`` must not end a run as a success). ``KeyboardInterrupt``
passes through (it is the user's Ctrl-C).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingrained_core.plugin.errors import ParameterError, PluginError

#: at most this many characters of a plugin's error message are shown
MESSAGE_LIMIT = 300


class PluginFailure(PluginError):
    """Code of a plugin raised an error or returned something unusable (exit status 3)."""


def short(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def call_plugin(what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)``; a failure in it is raised as :class:`PluginFailure` naming ``what``."""
    try:
        return func(*args, **kwargs)
    except (KeyboardInterrupt, ParameterError, PluginFailure):
        raise
    except SystemExit as exc:
        raise PluginFailure(f"{what} called sys.exit({exc.code!r})") from None
    except MemoryError:
        raise PluginFailure(f"{what} ran out of memory") from None
    except Exception as exc:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            errs = exc.errors()
            loc = ".".join(str(p) for p in errs[0].get("loc", ())) if errs else ""
            msg = f"returned an invalid {exc.title}: {loc}: {errs[0].get('msg') if errs else exc}"
        else:
            msg = f"raised {type(exc).__name__}: {exc}"
        raise PluginFailure(short(f"{what} {msg}")) from exc


def check_simulation(what: str, sim: Any) -> Any:
    """A forward model's result must be a simulated image with a finite 2-D real array."""
    import numpy as np

    array = getattr(sim, "array", None)
    if sim is None or array is None:
        raise PluginFailure(f"{what} returned {type(sim).__name__}, not a SimulatedImage")
    a = np.asarray(array)
    if a.ndim != 2 or np.iscomplexobj(a) or not np.isfinite(a).all():
        bad = ("a complex array" if np.iscomplexobj(a) else f"a {a.ndim}-D array" if a.ndim != 2
               else "non-finite values (NaN or inf)")
        raise PluginFailure(f"{what} returned {bad}; a simulation must be a finite 2-D real array")
    return sim
