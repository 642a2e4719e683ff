"""Stopping a run cleanly: SIGTERM and SIGHUP become an interruption like Ctrl-C, none of them
lands between an evaluation's row and its count, and the final writes of a run are shielded
from a second signal.

A scheduler's time-out (SIGTERM), a closed terminal (SIGHUP) and Ctrl-C (SIGINT) all raise
:class:`KeyboardInterrupt` (SIGTERM/SIGHUP as its subclass :class:`Terminated`) in the main
thread, so the run stops the optimizer, writes ``best.json``/``simulation.npy`` for the best
row of the log, and exits with status 130. Signal handlers can be installed only in the main
thread; elsewhere (a dask worker thread) these helpers do nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ingrained_core.engine.deadline import must_wait, redeliver_later

CATCHABLE = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal other than SIGINT (SIGTERM, SIGHUP)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int) -> KeyboardInterrupt:
    """The interruption a stop signal raises: Ctrl-C as Python's own handler gives it
    (:class:`KeyboardInterrupt`), SIGTERM/SIGHUP as :class:`Terminated`."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def _raise_stop(signum: int, frame: Any) -> None:
    """Raise :func:`_stop` of ``signum``, or deliver it again 20 ms later where
    :func:`~ingrained_core.engine.deadline.must_wait` says so (in a finaliser it would be
    printed as "Exception ignored" and lost; between an evaluation's row and its count)."""
    if must_wait(frame):
        redeliver_later(signum)
        return
    raise _stop(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM and SIGHUP raise :class:`Terminated` (a KeyboardInterrupt), and
    SIGINT, where Python's own handler had it, :class:`KeyboardInterrupt` as before; each waits
    while an evaluation is recorded (:func:`~ingrained_core.engine.deadline.must_wait`). An
    ignored SIGINT (a background job's) stays ignored."""
    if not _main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_stop) for s in CATCHABLE}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _raise_stop)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def shielded() -> Iterator[list[int]]:
    """Defer SIGINT/SIGTERM/SIGHUP during the block (the final writes); re-raise after it.

    Yields the list of signals received meanwhile. A signal that arrived is raised again as
    an interruption when the block ends, unless the block itself raised.
    """
    if not _main_thread():
        yield []
        return
    got: list[int] = []

    def note(signum: int, frame: Any) -> None:
        got.append(signum)

    sigs = (signal.SIGINT, *CATCHABLE)
    previous = {s: signal.signal(s, note) for s in sigs}
    try:
        yield got
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if got:
        raise _stop(got[0])
