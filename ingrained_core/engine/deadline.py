"""``--time-limit S`` as a hard deadline: the command ends within S + 10 s of its own start,
set-up and final writes included, whatever a plugin does.

Three layers, from gentle to certain:

1. Between evaluations the optimizer stops once the deadline (counted from the command's
   start, :data:`command_started`) has passed; the run writes its files as usual.
2. At S + :data:`ALARM_GRACE_S` a ``SIGALRM`` (main thread) raises :class:`TimeLimitReached`
   wherever the code is, a forward model blocked in a sleep or a read included; the start
   stops as if between evaluations and writes its files (the plugin is not called again).
3. At S + :data:`KILL_AFTER_S` a small watchdog process (started with the run, gone with
   it) sends SIGTERM, and one second later SIGKILL: for code that holds the interpreter in C
   and never returns to Python. Only for the command line (:data:`command_started` set): a
   notebook's kernel is never killed.

The layers cost nothing per evaluation but the clock read of layer 1. Once the deadline
has passed, the outputs written after the run (:func:`outputs_window`) get a last alarm at
S + :data:`KILL_AFTER_S` - :data:`OUTPUT_MARGIN_S`, so they stop themselves before the
watchdog's SIGTERM; a signal that lands inside a finaliser (``__del__``, a weakref callback),
where Python could only print "Exception ignored" and lose it, is delivered again 20 ms later.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: SIGALRM this long after the deadline (time for the between-evaluations stop and the writes)
ALARM_GRACE_S = 3.0
#: the watchdog process stops the command this long after the deadline
KILL_AFTER_S = 8.0
#: the outputs written after a passed deadline stop this long before the watchdog's SIGTERM
OUTPUT_MARGIN_S = 2.0
#: epoch seconds at which the command line started (set by ``ingrained_core.cli.main``)
command_started: float | None = None

_WATCHER = r"""
import os, signal, sys, time
parent, at = int(sys.argv[1]), float(sys.argv[2])
while time.time() < at:
    if os.getppid() != parent:
        sys.exit(0)
    time.sleep(0.1)
if os.getppid() == parent:
    os.kill(parent, signal.SIGTERM)
    time.sleep(1.0)
    if os.getppid() == parent:
        os.kill(parent, signal.SIGKILL)
"""


class TimeLimitReached(KeyboardInterrupt):
    """The time limit passed while the run was inside an evaluation (or another step)."""


_collecting = [False]  # set by the gc callback below while the cyclic collector runs


def _note_collection(phase: str, info: dict[str, Any]) -> None:
    _collecting[0] = phase == "start"


gc.callbacks.append(_note_collection)  # finalisers the collector runs may be C-called, without a telling frame


def in_finalizer(frame: Any) -> bool:
    """Whether ``frame`` runs inside a finaliser (``__del__``, a ``weakref.finalize`` or a
    weakref callback, or anything the cyclic garbage collector runs), where an exception
    raised by a signal handler is printed as "Exception ignored" and dropped instead of
    reaching the run."""
    if _collecting[0]:
        return True
    while frame is not None:
        code = frame.f_code
        if code is _note_collection.__code__:  # the collector's own callback, before it sets the flag
            return True
        if code.co_name == "__del__" or (code.co_filename.endswith("weakref.py")
                                         and code.co_name in ("__call__", "remove", "_remove")):
            return True
        frame = frame.f_back
    return False


#: above 0 while a run records one evaluation (its row appended to ``progress.csv``, counted and
#: compared with the best; :meth:`StartRunner._objective`): a stop signal then waits until the
#: record is whole, so ``best.json``'s evaluation count never disagrees with the log's rows
recording = [0]


def must_wait(frame: Any) -> bool:
    """Whether a stop signal's exception must not be raised at ``frame`` now: inside a
    finaliser (:func:`in_finalizer`) or while an evaluation is being recorded
    (:data:`recording`). The handler then delivers the signal again 20 ms later."""
    return recording[0] > 0 or in_finalizer(frame)


def redeliver_later(signum: int, delay: float = 0.02) -> None:
    """Send ``signum`` to this process again after ``delay`` seconds (out of a finaliser)."""
    if signum == getattr(signal, "SIGALRM", None):
        signal.setitimer(signal.ITIMER_REAL, delay)
        return
    timer = threading.Timer(delay, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()


def _raise_time_limit(signum: int, frame: Any) -> None:
    if must_wait(frame):
        redeliver_later(signum)
        return
    raise TimeLimitReached("time limit")


def start_time() -> float:
    """When the time limit started counting: the command's start, else now (Python API)."""
    return command_started if command_started is not None else time.time()


@contextmanager
def hard_deadline(deadline: float | None) -> Iterator[None]:
    """Layers 2 and 3 for the block (``deadline`` in epoch seconds; None: nothing)."""
    if deadline is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return
    watcher = None
    if command_started is not None:
        try:
            watcher = subprocess.Popen([sys.executable, "-c", _WATCHER, str(os.getpid()),
                                        repr(deadline + KILL_AFTER_S)],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        except OSError:
            watcher = None
    try:
        with _alarm(deadline + ALARM_GRACE_S):
            yield
    finally:
        if watcher is not None:
            watcher.kill()
            watcher.wait()


@contextmanager
def alarm_at(deadline: float | None) -> Iterator[None]:
    """Layer 2 alone, for a start run in a pool worker (the main thread of its process): a
    ``SIGALRM`` at ``deadline + ALARM_GRACE_S`` raises :class:`TimeLimitReached`. Nothing
    when a timer is already armed (the command's own :func:`hard_deadline`)."""
    if deadline is None or not _free_timer():
        yield
        return
    with _alarm(deadline + ALARM_GRACE_S):
        yield


def _free_timer() -> bool:
    """Whether this thread can arm a SIGALRM now: the main thread, a platform with SIGALRM,
    and no timer already armed."""
    return (threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0)


@contextmanager
def _alarm(at: float) -> Iterator[None]:
    """SIGALRM at epoch ``at`` raises :class:`TimeLimitReached`; disarmed and the previous
    handler restored when the block ends."""
    previous = signal.signal(signal.SIGALRM, _raise_time_limit)
    signal.setitimer(signal.ITIMER_REAL, max(at - time.time(), 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def outputs_window(deadline: float | None) -> Iterator[None]:
    """Around the outputs written after a run (structure files, figure, report): when the
    deadline has passed and its alarm has already fired, a last ``SIGALRM`` at
    ``deadline + KILL_AFTER_S - OUTPUT_MARGIN_S`` raises :class:`TimeLimitReached` in them,
    which the caller turns into a warning, before the watchdog would stop the command with
    SIGTERM. Nothing while the run's own alarm is still armed (it comes first)."""
    if deadline is None or time.time() < deadline or not _free_timer():
        yield
        return
    with _alarm(deadline + KILL_AFTER_S - OUTPUT_MARGIN_S):
        yield


@contextmanager
def own_clock() -> Iterator[None]:
    """Inside the block a run's time limit counts from its own start, not the command's:
    for a command that runs several fits one after another (the benchmark's cases)."""
    global command_started
    saved, command_started = command_started, None
    try:
        yield
    finally:
        command_started = saved
