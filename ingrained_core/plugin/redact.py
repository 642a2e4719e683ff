"""Keeping secrets (the Materials Project API key, tokens, passwords) out of every message,
file and traceback.

A field whose name looks like a key or a token (:func:`is_secret_name`: ``api_key``,
``apikey``, ``API_KEY``, ``api_kye``, ``token``, ``secret``, ``password``, ...) never has its
value shown; and any text that contains a known secret value (the ``MP_API_KEY``
environment variable, or a value found under such a name) gets it replaced by ``***``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
_SECRET_NAME = re.compile(r"(?i)(api|key|kye|token|secret|passw|credential|auth)")
#: environment variables that hold secrets ingrained may be given
SECRET_ENV = ("MP_API_KEY", "PMG_MAPI_KEY")
_known: set[str] = set()


def is_secret_name(name: object) -> bool:
    """Does a field or option of this name hold a secret (by its look)?"""
    return isinstance(name, str) and bool(_SECRET_NAME.search(name))


def remember(value: object) -> None:
    """Treat ``value`` (a string of 6 characters or more; a list's strings) as a secret from now on."""
    if isinstance(value, str) and len(value) >= 6:
        _known.add(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            remember(v)


def secrets_in(data: Any, _depth: int = 0) -> None:
    """Remember the values under secret-looking names anywhere in a config mapping."""
    if _depth > 50:
        return
    if isinstance(data, dict):
        for k, v in data.items():
            if is_secret_name(k):
                remember(v)
            else:
                secrets_in(v, _depth + 1)
    elif isinstance(data, list):
        for v in data[:1000]:
            secrets_in(v, _depth + 1)


def known_secrets() -> list[str]:
    found = set(_known)
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            found.add(value)
    return sorted(found, key=len, reverse=True)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret value replaced by ``***``."""
    for secret in [*extra, *known_secrets()]:
        if secret:
            text = text.replace(secret, MASK)
    return text


def redact_args(args: list[str]) -> list[str]:
    """A command line with the values of secret-looking options and ``--set`` keys masked."""
    out: list[str] = []
    hide_next = False
    for a in args:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if a.startswith("--") and "=" not in a and is_secret_name(a[2:]):
            out.append(a)
            hide_next = True
            continue
        key, sep, _ = a.partition("=")
        if sep and is_secret_name(key.rsplit(".", 1)[-1].lstrip("-")):
            out.append(f"{key}={MASK}")
        else:
            out.append(redact(a))
    return out
