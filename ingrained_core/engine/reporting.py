"""Progress reporting for runs: a live terminal view (rich), JSON lines, or silence.

The run calls ``begin``, ``evaluation``, ``message`` and ``end``; ``plan`` (the budget, the
number of starts, the run directory) and ``stage`` (what the optimizer is doing, e.g. a
scan-powell round and its scan radius) are optional events with no-op defaults, so a
reporter written for the four events keeps working.

The console view is honest about what it knows: with an evaluation or time budget it shows
a progress bar against the budget and an ETA; without one, the optimizer's stage. A run with
several starts shows one live line per start (read from each start's ``progress.csv``, since
the starts run in other processes). The summary counts set-up time (from the reporter's
creation to ``begin``) and fit time separately. Warnings name their start and carry one
prefix only.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

_PREFIX = re.compile(r"^\s*(warning|error)\s*(:|-)\s*", re.IGNORECASE)


def clean_message(text: str) -> str:
    """The text without a leading ``Warning - `` / ``warning: `` (the level is shown once)."""
    return _PREFIX.sub("", text, count=1)


class Reporter:
    """Receives run events; the base class ignores them (``--quiet``)."""

    #: set by ``begin``: the set-up is over and the fit has started
    began: bool = False

    def begin(self, label: str, free: list[str]) -> None:
        self.began = True

    def plan(self, info: dict[str, Any]) -> None:
        """Optional: ``{"run_dir", "starts", "max_evals", "time_limit", "optimizer"}`` of the run."""

    def stage(self, text: str) -> None:
        """Optional: what the optimizer is doing now (e.g. ``round 3: scan radius 0.12``)."""

    def evaluation(self, start: int, n: int, fom: float, best: float, d_trans: int, elapsed: float, replayed: bool) -> None: ...

    def message(self, text: str, level: str = "info") -> None: ...

    def end(self, summary: dict[str, Any]) -> None: ...


class QuietReporter(Reporter):
    """Prints only warnings and errors, to stderr; ``label`` (e.g. ``start 03``) names the source."""

    def __init__(self, label: str = "") -> None:
        self.label = label

    def message(self, text: str, level: str = "info") -> None:
        if level in ("warning", "error"):
            text = clean_message(text)
            if self.label and not text.startswith(self.label):
                text = f"{self.label}: {text}"
            print(f"{level}: {text}", file=sys.stderr)


class JsonLinesReporter(Reporter):
    """One JSON object per event on stdout, for scripts (``--json-log``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def _emit(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj) + "\n")
        self.stream.flush()

    def begin(self, label: str, free: list[str]) -> None:
        self.began = True
        self._emit({"event": "begin", "label": label, "free": free})

    def evaluation(self, start: int, n: int, fom: float, best: float, d_trans: int, elapsed: float, replayed: bool) -> None:
        self._emit({"event": "evaluation", "start": start, "eval": n, "fom": fom, "best": best,
                    "d_trans": d_trans, "elapsed_s": round(elapsed, 3), "replayed": replayed})

    def message(self, text: str, level: str = "info") -> None:
        self._emit({"event": "message", "level": level, "text": text})

    def end(self, summary: dict[str, Any]) -> None:
        self._emit({"event": "end", **summary})


def eta_seconds(n: int, elapsed: float, max_evals: int | None, time_limit: float | None) -> float | None:
    """Seconds left: the sooner of the evaluation budget (at the rate so far) and the time limit."""
    left = []
    if max_evals and n > 0 and elapsed > 0:
        left.append(max(0, max_evals - n) * elapsed / n)
    if time_limit:
        left.append(max(0.0, time_limit - elapsed))
    return min(left) if left else None


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class _StartWatch:
    """Evaluations and best FOM of one start, read incrementally from its progress.csv."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.columns: list[str] = []
        self.n = 0
        self.best = float("inf")
        self.elapsed = 0.0
        self.buffer = ""
        self.done = ""

    def poll(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
                self.offset = fh.tell()
        except OSError:
            return
        text = self.buffer + chunk
        lines = text.split("\n")
        self.buffer = lines.pop()  # a torn tail waits for the next poll
        for line in lines:
            fields = line.split(",")
            if not self.columns:
                self.columns = fields
                continue
            if len(fields) != len(self.columns):
                continue
            row = dict(zip(self.columns, fields))
            try:
                self.n = int(row["eval"])
                self.elapsed = float(row["elapsed_s"])
                if int(row["d_trans"]) >= 0:
                    self.best = min(self.best, float(row["fom"]))
            except (KeyError, ValueError):
                continue


class ConsoleReporter(Reporter):
    """The live terminal view: budget and ETA, or the optimizer's stage; one line per start."""

    def __init__(self, refresh_s: float = 0.2) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.refresh_s = refresh_s
        self._created = time.monotonic()
        self._begun: float | None = None
        self._last = 0.0
        self._live: Any = None
        self._plan: dict[str, Any] = {}
        self._stage = ""
        self._line: tuple[int, int, float, float, int, float, bool] | None = None
        self._watches: dict[int, _StartWatch] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def setup_s(self) -> float:
        return (self._begun or time.monotonic()) - self._created

    # -- events ------------------------------------------------------------------------------
    def begin(self, label: str, free: list[str]) -> None:
        from rich.live import Live

        self._begun = time.monotonic()
        self.began = True
        self.console.print(f"[bold]{label}[/bold]  free parameters: {', '.join(free) or 'none'}  "
                           f"(set-up {self.setup_s:.1f} s)")
        self._live = Live(self._render(), console=self.console, refresh_per_second=5, transient=True)
        self._live.start()

    def plan(self, info: dict[str, Any]) -> None:
        from ingrained_core.builtins.optimizers import set_stage_listener

        from rich.live import Live

        self._plan = dict(info)
        set_stage_listener(self.stage)
        starts = int(info.get("starts") or 1)
        run_dir = info.get("run_dir")
        if starts > 1 and run_dir:
            self._watches = {f"start {i:02d}": _StartWatch(Path(run_dir) / "starts" / f"{i:02d}" / "progress.csv")
                             for i in range(starts)}
        for label, path in (info.get("watch") or {}).items():  # e.g. a screen's candidates
            self._watches[str(label)] = _StartWatch(Path(path))
        if self._live is None and self._watches:
            self._live = Live(self._render(), console=self.console, refresh_per_second=5, transient=True)
            self._live.start()
        if self._watches:
            self._thread = threading.Thread(target=self._poll_starts, name="ingrained-starts", daemon=True)
            self._thread.start()
        self._refresh(force=True)

    def stage(self, text: str) -> None:
        self._stage = text
        self._refresh(force=True)

    def evaluation(self, start: int, n: int, fom: float, best: float, d_trans: int, elapsed: float, replayed: bool) -> None:
        self._line = (start, n, fom, best, d_trans, elapsed, replayed)
        self._refresh()

    def message(self, text: str, level: str = "info") -> None:
        text = clean_message(text)
        for label, watch in self._watches.items():
            if text.startswith(label + ":") or text.startswith(label + " failed"):
                watch.poll()
                watch.done = "failed" if text.startswith(label + " failed") else "done"
        if level in ("warning", "error") and self._line is not None and int(self._plan.get("starts") or 1) > 1 \
                and not text.startswith("start "):
            text = f"start {self._line[0]:02d}: {text}"
        style = {"warning": "yellow", "error": "red"}.get(level, "")
        prefix = f"{level}: " if level in ("warning", "error") else ""
        if style:
            self.console.print(f"{prefix}{text}", style=style, markup=False, highlight=False)
        else:
            self.console.print(text, markup=False, highlight=False)

    def end(self, summary: dict[str, Any]) -> None:
        self.close()
        fit_s = summary.get("elapsed_s")  # one start: its evaluations' time, from the log
        if (fit_s is None or "starts" in summary) and self._begun is not None:
            fit_s = time.monotonic() - self._begun  # several starts: wall time of the fit
        n = summary.get("evaluations_all_starts", summary.get("evaluations", "?"))
        self.console.print(
            f"[bold green]best FOM {summary['fom']:.5f}[/bold green] (d_trans {summary['d_trans']}, "
            f"d_sim {summary['d_sim']:.5f}) at evaluation {summary['evaluation']}"
            + (f" of start {summary['start']}" if "start" in summary else "")
            + f"; {n} evaluations; set-up {self.setup_s:.1f} s, fit {float(fit_s or 0):.1f} s; "
            f"stopped: {summary.get('stop_reason', '?')}"
        )

    def close(self) -> None:
        """Stop the live view and the start watcher (idempotent; also on errors)."""
        from ingrained_core.builtins.optimizers import set_stage_listener

        set_stage_listener(None)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._live is not None:
            self._live.stop()
            self._live = None

    # -- drawing -----------------------------------------------------------------------------
    def _poll_starts(self) -> None:
        while not self._stop.wait(0.5):
            for w in self._watches.values():
                w.poll()
            self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._live is None or (not force and now - self._last < self.refresh_s):
            return
        self._last = now
        with self._lock:
            self._live.update(self._render())

    def _render(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        max_evals = self._plan.get("max_evals")
        time_limit = self._plan.get("time_limit")
        grid = Table.grid(padding=(0, 1))
        if self._watches:
            width = max(len(k) for k in self._watches)
            for label, w in self._watches.items():
                eta = eta_seconds(w.n, w.elapsed, max_evals, time_limit)
                best = f"{w.best:.4f}" if w.best < float("inf") else "-"
                state = w.done or ("waiting" if w.n == 0 else "running")
                budget = f"/{max_evals}" if max_evals else ""
                cells: list[Any] = [label.ljust(width)]
                if max_evals or time_limit:
                    total = float(max_evals) if max_evals else float(time_limit)
                    done = float(w.n) if max_evals else w.elapsed
                    cells.append(ProgressBar(total=total, completed=min(done, total), width=24))
                cells.append(f"eval {w.n}{budget}  best {best}  {w.elapsed:6.1f} s"
                             + (f"  ETA {_clock(eta)}" if state == "running" and eta is not None else "")
                             + f"  {state}")
                grid.add_row(*cells)
            return grid
        if self._line is None:
            grid.add_row(f"first evaluation ...{('  ' + self._stage) if self._stage else ''}")
            return grid
        start, n, fom, best, d_trans, elapsed, replayed = self._line
        tag = "  (replaying log)" if replayed else ""
        text = f"eval {n}{f'/{max_evals}' if max_evals else ''}  FOM {fom:.4f} (d_trans {d_trans})  best {best:.4f}  " \
               f"{elapsed:7.1f} s{tag}"
        if max_evals or time_limit:
            eta = eta_seconds(n, elapsed, max_evals, time_limit)
            total = float(max_evals) if max_evals else float(time_limit)
            done = float(n) if max_evals else elapsed
            limit = f"  limit {time_limit:g} s" if time_limit else ""
            grid.add_row(ProgressBar(total=total, completed=min(done, total), width=30),
                         text + f"  ETA {_clock(eta)}{limit}" + (f"  [{self._stage}]" if self._stage else ""))
        else:
            grid.add_row(text + f"  {self._stage or 'no budget: until the optimizer converges'}")
        return grid
