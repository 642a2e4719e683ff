"""One readable line for an error the user can fix: pydantic errors list the field paths,
OS errors name the file, long messages are cut, and secrets are masked (plugin/redact.py).

The command line prints it after ``error:``; engine code that wraps a validation error in
its own message (a plugin's option table, a builder's config) uses it too.
"""

from __future__ import annotations


def is_symlink_loop(exc: BaseException) -> bool:
    """pathlib's ``resolve()`` of Python 3.11 reports a symlink loop as a RuntimeError."""
    return type(exc) is RuntimeError and str(exc).startswith("Symlink loop")


def validation_secrets(exc: BaseException) -> list[str]:
    """String inputs of a pydantic error under secret-looking field names."""
    from pydantic import ValidationError

    from ingrained_core.plugin.redact import is_secret_name

    out: list[str] = []
    if isinstance(exc, ValidationError):
        for err in exc.errors():
            if any(is_secret_name(p) for p in err.get("loc", ())):
                value = err.get("input")
                values = value if isinstance(value, (list, tuple)) else [value]
                out += [v for v in values if isinstance(v, str) and v]
    return out


#: the longest message printed for one error (the rest is cut, with a note)
MAX_MESSAGE = 2000


def format_user_error(exc: BaseException) -> str:
    """One readable line for a user error (pydantic errors list field paths), secrets masked."""
    from pydantic import ValidationError

    from ingrained_core.plugin.redact import is_secret_name, redact

    if isinstance(exc, ValidationError):
        parts = []
        errors = exc.errors()
        for err in errors[:10]:
            loc = ".".join(str(p) if str(p).isprintable() and str(p).strip() == str(p) and str(p) else repr(p)
                           for p in err.get("loc", ()))
            got = ""
            if "input" in err and not isinstance(err["input"], dict):
                secret = any(is_secret_name(p) for p in err.get("loc", ()))
                got = " (got ***)" if secret else f" (got {_short_repr(err['input'])})"
            parts.append(f"{loc}: {err.get('msg')}{got}")
        if len(errors) > 10:
            parts.append(f"... and {len(errors) - 10} more")
        text = f"invalid {exc.title}: " + "; ".join(parts)
    elif isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else ""
        text = f"{exc.strerror or type(exc).__name__}: {where}" if where else (exc.strerror or str(exc))
    elif is_symlink_loop(exc):
        text = f"{exc}: a symbolic link points (through others) back at itself; fix or remove it"
    elif isinstance(exc, RecursionError):
        text = "input nested too deeply to read"
    elif isinstance(exc, UnicodeError):
        text = f"a file or path name is not valid text ({exc})"
    else:
        text = str(exc)
    text = redact(" ".join(text.split()), validation_secrets(exc))
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + f" ... ({len(text) - MAX_MESSAGE} more characters)"
    return text


def _short_repr(value: object, limit: int = 80) -> str:
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 3] + "..."
