"""Progress reporting for runs: live terminal line (rich), JSON lines, or silence."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO


class Reporter:
    """Receives run events; the base class ignores them (``--quiet``)."""

    def begin(self, label: str, free: list[str]) -> None: ...

    def evaluation(self, start: int, n: int, fom: float, best: float, d_trans: int, elapsed: float, replayed: bool) -> None: ...

    def message(self, text: str, level: str = "info") -> None: ...

    def end(self, summary: dict[str, Any]) -> None: ...


class QuietReporter(Reporter):
    """Prints only warnings and errors, to stderr."""

    def message(self, text: str, level: str = "info") -> None:
        if level in ("warning", "error"):
            print(f"{level}: {text}", file=sys.stderr)


class JsonLinesReporter(Reporter):
    """One JSON object per event on stdout, for scripts (``--json-log``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def _emit(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj) + "\n")
        self.stream.flush()

    def begin(self, label: str, free: list[str]) -> None:
        self._emit({"event": "begin", "label": label, "free": free})

    def evaluation(self, start: int, n: int, fom: float, best: float, d_trans: int, elapsed: float, replayed: bool) -> None:
        self._emit({"event": "evaluation", "start": start, "eval": n, "fom": fom, "best": best,
                    "d_trans": d_trans, "elapsed_s": round(elapsed, 3), "replayed": replayed})

    def message(self, text: str, level: str = "info") -> None:
        self._emit({"event": "message", "level": level, "text": text})

    def end(self, summary: dict[str, Any]) -> None:
        self._emit({"event": "end", **summary})


class ConsoleReporter(Reporter):
    """A live status line on the terminal: evaluations, current and best FOM, elapsed time."""

    def __init__(self, refresh_s: float = 0.2) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.refresh_s = refresh_s
        self._last = 0.0
        self._status: Any = None

    def begin(self, label: str, free: list[str]) -> None:
        self.console.print(f"[bold]{label}[/bold]  free parameters: {', '.join(free)}")
        self._status = self.console.status("starting ...")
        self._status.start()

    def evaluation(self, start: int, n: int, fom: float, best: float, d_trans: int, elapsed: float, replayed: bool) -> None:
        now = time.monotonic()
        if self._status is None or now - self._last < self.refresh_s:
            return
        self._last = now
        tag = " (replaying log)" if replayed else ""
        self._status.update(
            f"start {start}  eval {n}  FOM {fom:.4f} (d_trans {d_trans})  best {best:.4f}  {elapsed:7.1f} s{tag}"
        )

    def message(self, text: str, level: str = "info") -> None:
        style = {"warning": "yellow", "error": "red"}.get(level, "")
        self.console.print(f"[{style}]{text}[/{style}]" if style else text)

    def end(self, summary: dict[str, Any]) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        self.console.print(
            f"[bold green]best FOM {summary['fom']:.5f}[/bold green] (d_trans {summary['d_trans']}, "
            f"d_sim {summary['d_sim']:.5f}) at evaluation {summary['evaluation']}"
            + (f" of start {summary['start']}" if "start" in summary else "")
            + f"; {summary.get('evaluations', '?')} evaluations, {summary.get('elapsed_s', 0):.1f} s; "
            f"stopped: {summary.get('stop_reason', '?')}"
        )
