"""Plugin discovery: entry points in the ``ingrained`` group, each isolated from the rest.

Every entry point is loaded inside its own try/except, and each of its hooks is called on
its own, so one broken plugin is reported (status, message) and never breaks the CLI or
the other plugins. ``INGRAINED_STRICT_PLUGINS=1`` turns load errors and name conflicts into
hard errors (CI). Missing optional dependencies are a status, never an error at discovery.

Contracts are checked when a contribution is loaded (:meth:`Registry.get`): the target
resolves, the object has its role's attributes (:mod:`ingrained_core.engine.contracts`),
and its ``api_version`` has the core's major version (checked at discovery, without
import: status ``incompatible``). A failed check makes the record a ``load error`` naming
the plugin and what is missing. ``ingrained plugins check`` loads and checks every target;
strict mode does the same at discovery, so that a broken target is fatal there.

A plugin's own code (its entry module, its hooks, its targets' modules) runs through
:func:`_isolated`: ``sys.exit`` or a ``KeyboardInterrupt`` it raises is a load error naming
it (a real Ctrl-C still interrupts), and whatever it prints goes to stderr as a notice
naming it, never into the command's stdout (``--json`` output stays JSON).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from ingrained_core.plugin import hookspecs
from ingrained_core.plugin.contribution import PLUGIN_API_VERSION, Contribution, api_major
from ingrained_core.plugin.errors import PluginError

ENTRY_POINT_GROUP = "ingrained"
STRICT_ENV = "INGRAINED_STRICT_PLUGINS"

OK = "ok"
MISSING = "missing dependency"
LOAD_ERROR = "load error"
CONFLICT = "conflict"
INCOMPATIBLE = "incompatible"

KINDS = tuple(hookspecs.HOOK_KINDS.values())


def strict_mode() -> bool:
    """Whether ``INGRAINED_STRICT_PLUGINS`` asks for load errors to be fatal."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class ContributionRecord:
    """One row of ``ingrained plugins list``: a contribution (or a plugin that failed)."""

    kind: str
    name: str
    plugin: str
    distribution: str
    version: str
    status: str
    message: str = ""
    description: str = ""
    contribution: Contribution | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "message": self.message,
            "description": self.description,
            "target": self.contribution.target if self.contribution else None,
        }


class _PluginAbort(Exception):
    """A plugin's code tried to end or interrupt the process (its message says how)."""


def _short_error(exc: BaseException) -> str:
    if isinstance(exc, _PluginAbort):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


T = TypeVar("T")

#: at most this many characters of what a plugin printed are repeated on stderr
PRINTED_LIMIT = 500


@contextlib.contextmanager
def _sigint_seen() -> Iterator[Callable[[], bool]]:
    """Yields a function telling whether a real SIGINT arrived inside the block.

    Only the main thread can install a handler; elsewhere every ``KeyboardInterrupt``
    counts as real (it is passed on). With SIGINT ignored or at its default action a
    ``KeyboardInterrupt`` cannot come from Ctrl-C, so none counts as real.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: True
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield lambda: False
        return
    seen = [False]

    def handler(signum: int, frame: Any) -> None:
        seen[0] = True
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: seen[0]
    finally:
        signal.signal(signal.SIGINT, previous)


def _isolated(plugin: str, what: str, func: Callable[[], T]) -> T:
    """``func()`` (a plugin's import or hook) with its stdout kept off ours.

    What it prints is repeated on stderr, naming the plugin. ``SystemExit`` and a
    ``KeyboardInterrupt`` it raises itself become a :class:`_PluginAbort` naming what it did (the
    caller records a load error); a real Ctrl-C is passed on.
    """
    buf = io.StringIO()
    try:
        with _sigint_seen() as interrupted, contextlib.redirect_stdout(buf):
            try:
                return func()
            except SystemExit as exc:
                raise _PluginAbort(f"called sys.exit({exc.code!r}) {what}") from None
            except KeyboardInterrupt:
                if interrupted():
                    raise
                raise _PluginAbort(f"raised KeyboardInterrupt {what}") from None
    finally:
        printed = " ".join(buf.getvalue().split())
        if printed:
            if len(printed) > PRINTED_LIMIT:
                printed = printed[: PRINTED_LIMIT - 3] + "..."
            print(f"note: plugin {plugin!r} printed {what} (kept off stdout): {printed}", file=sys.stderr)


class Registry:
    """All contributions found through the ``ingrained`` entry points (or added by hand)."""

    def __init__(self, *, strict: bool | None = None, discover: bool = True) -> None:
        self.strict = strict_mode() if strict is None else strict
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: list[ContributionRecord] = []
        self._loaded: dict[tuple[str, str], Any] = {}
        if discover:
            self.discover()

    # -- discovery ---------------------------------------------------------------------
    def discover(self, eps: Iterable[EntryPoint] | None = None) -> None:
        """Load every entry point of the group, each in isolation."""
        seen: set[tuple[str, str]] = set()
        for ep in eps if eps is not None else entry_points(group=ENTRY_POINT_GROUP):
            key = (ep.name, ep.value)
            if key in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(key)
            dist = getattr(ep, "dist", None)
            dist_name = dist.name if dist is not None else "?"
            version = dist.version if dist is not None else "?"
            try:
                plugin = _isolated(ep.name, "at import", ep.load)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self._fail(ep.name, dist_name, version, f"cannot import {ep.value}: {_short_error(exc)}")
                continue
            self.register(plugin, name=ep.name, distribution=dist_name, version=version)
        self._mark_conflicts()
        if self.strict:
            self.check()
            bad = [r for r in self.records if r.status in (LOAD_ERROR, CONFLICT, INCOMPATIBLE)]
            if bad:
                lines = "; ".join(f"{r.name!r} from {r.distribution} {r.version}: {r.message}" for r in bad)
                raise PluginError(f"{len(bad)} plugin problem(s) ({STRICT_ENV} is set): {lines}")

    def register(self, plugin: ModuleType | object, *, name: str, distribution: str = "?", version: str = "?") -> None:
        """Register one plugin object and collect its contributions, hook by hook."""
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - e.g. a hookimpl with a wrong signature
            self._fail(name, distribution, version, f"invalid plugin: {_short_error(exc)}")
            return
        for hook_name, kind in hookspecs.HOOK_KINDS.items():
            caller = getattr(self.pm.hook, hook_name)
            for impl in caller.get_hookimpls():
                if impl.plugin_name != name:
                    continue
                try:
                    contributions = list(_isolated(name, f"in {hook_name}", impl.function) or [])
                    for c in contributions:
                        if not isinstance(c, Contribution):
                            raise TypeError(f"{hook_name} returned {type(c).__name__}, expected Contribution")
                except Exception as exc:  # noqa: BLE001
                    self._fail(name, distribution, version, f"{hook_name} failed: {_short_error(exc)}", kind=kind)
                    continue
                for c in contributions:
                    missing = c.missing_requirements()
                    status, message = OK, ""
                    if api_major(c.api_version) != api_major(PLUGIN_API_VERSION):
                        status = INCOMPATIBLE
                        message = (f"incompatible: written for plugin API {c.api_version}, this ingrained "
                                   f"provides {PLUGIN_API_VERSION} (update the plugin or ingrained)")
                    elif missing:
                        status = MISSING
                        message = f"missing dependency: {', '.join(missing)}"
                        if c.install_hint:
                            message += f" (install with: {c.install_hint})"
                    self.records.append(
                        ContributionRecord(kind, c.name, name, distribution, version, status, message, c.description, c)
                    )

    def _fail(self, name: str, dist: str, version: str, message: str, kind: str = "plugin") -> None:
        self.records.append(ContributionRecord(kind, name, name, dist, version, LOAD_ERROR, message))

    def _mark_conflicts(self) -> None:
        by_key: dict[tuple[str, str], list[ContributionRecord]] = {}
        for r in self.records:
            if r.contribution is not None:
                by_key.setdefault((r.kind, r.name), []).append(r)
        for (kind, cname), group in by_key.items():
            if len(group) < 2:
                continue
            sources = [f"{r.distribution} (plugin {r.plugin})" for r in group]
            for r in group:
                others = [s for s, o in zip(sources, group) if o is not r]
                r.status = CONFLICT
                r.message = f"conflict: {kind} {cname!r} is also provided by {', '.join(others)}"

    # -- lookup ------------------------------------------------------------------------
    def names(self, kind: str, *, usable_only: bool = True) -> list[str]:
        """Names of the contributions of ``kind`` (only the usable ones by default)."""
        return sorted(
            {r.name for r in self.records if r.kind == kind and (r.status == OK or not usable_only)}
        )

    def record(self, kind: str, name: str) -> ContributionRecord:
        """The record for ``kind``/``name``; a clear error lists the available names."""
        if kind not in KINDS:
            raise PluginError(f"unknown contribution kind {kind!r}; known: {', '.join(KINDS)}")
        matches = [r for r in self.records if r.kind == kind and r.name == name]
        if not matches:
            available = self.names(kind, usable_only=False)
            close = difflib.get_close_matches(name, available, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise PluginError(
                f"unknown {kind.replace('_', ' ')} {name!r}; available: {', '.join(available) or '(none)'}.{hint}"
            )
        r = matches[0]
        if r.status != OK:
            raise PluginError(f"{kind.replace('_', ' ')} {name!r} from {r.distribution} is not usable: {r.message}")
        return r

    def get(self, kind: str, name: str) -> Any:
        """Import (once), check and return the implementation of ``kind``/``name``."""
        key = (kind, name)
        if key not in self._loaded:
            r = self.record(kind, name)
            obj = self._load_checked(r)
            if obj is None:
                raise PluginError(f"{kind.replace('_', ' ')} {name!r} from {r.distribution} is not usable: {r.message}")
            self._loaded[key] = obj
        return self._loaded[key]

    def _load_checked(self, r: ContributionRecord) -> Any | None:
        """Import ``r``'s target and check its contract; on failure mark ``r`` a load error."""
        assert r.contribution is not None
        try:
            obj = _isolated(r.plugin, f"importing {r.contribution.target}", r.contribution.load)
        except Exception as exc:  # noqa: BLE001 - a broken target is a status, then an error
            problems = [f"target {r.contribution.target} does not resolve: {_short_error(exc)}"]
        else:
            from ingrained_core.engine.contracts import contract_problems  # pydantic: only when loading

            problems = contract_problems(r.kind, obj)
        if problems:
            r.status = LOAD_ERROR
            r.message = f"load error (plugin {r.plugin}, {r.contribution.target}): " + "; ".join(problems)
            return None
        return obj

    def check(self, name: str | None = None) -> list[ContributionRecord]:
        """Import and check every usable contribution (named ``name``, if given); the records checked.

        A contribution that fails becomes a ``load error`` (it cannot be selected); the
        others are loaded once and kept, as :meth:`get` would.
        """
        checked = []
        for r in self.records:
            if r.contribution is None or (name is not None and r.name != name):
                continue
            checked.append(r)
            if r.status != OK or (r.kind, r.name) in self._loaded:
                continue
            obj = self._load_checked(r)
            if obj is not None:
                self._loaded[(r.kind, r.name)] = obj
        return checked

    def as_dicts(self) -> list[dict[str, Any]]:
        order = {k: i for i, k in enumerate(("plugin", *KINDS))}
        rows = sorted(self.records, key=lambda r: (order.get(r.kind, 99), r.name, r.distribution))
        return [r.as_dict() for r in rows]


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, discovered on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the process-wide registry (tests, or after installing a plugin)."""
    global _REGISTRY
    _REGISTRY = None


def versions() -> dict[str, str]:
    """Distribution -> version of the core and every discovered plugin (for run records)."""
    from ingrained_core import __version__

    out = {"ingrained": __version__}
    for r in get_registry().records:
        out.setdefault(r.distribution, r.version)
    return out
