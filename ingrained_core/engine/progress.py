"""``progress.csv``: one row per evaluation, appended and flushed as it happens.

Columns: ``eval, elapsed_s, <every parameter by name>, d_trans, d_sim, fom``. Floats are
written with ``repr`` so they read back bit for bit, which is what lets ``resume`` replay
the log and put a deterministic optimizer back exactly where it stopped. A torn last line
(a kill during the write) is detected and dropped on reopening.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from ingrained_core.plugin.errors import RunDirectoryError

TAIL = ("d_trans", "d_sim", "fom")


def columns(param_names: list[str]) -> list[str]:
    return ["eval", "elapsed_s", *param_names, *TAIL]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else repr(value))
    return str(value)


def _parse(value: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        return float(value)


def read_progress(path: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and parsed rows of a progress log; a torn final line is ignored."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise RunDirectoryError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RunDirectoryError(f"{path}: line {line} holds bytes that are not text (the file was overwritten "
                                "or damaged); restore it, or start over with 'ingrained fuse --force'") from None
    lines = text.splitlines(keepends=True)
    if not lines:
        return [], []
    if not lines[0].endswith("\n"):  # a kill while the header was written: no evaluation was logged
        return [], []
    header = next(csv.reader([lines[0]]))
    rows: list[dict[str, Any]] = []
    for i, line in enumerate(lines[1:], start=2):
        complete = line.endswith("\n")
        fields = next(csv.reader([line]), [])
        if not complete or len(fields) != len(header):
            if i == len(lines):  # torn tail from an interrupted write
                break
            raise RunDirectoryError(f"{path}: line {i} is malformed ({len(fields)} fields, expected {len(header)})")
        try:
            rows.append({k: _parse(v) for k, v in zip(header, fields)})
        except ValueError as exc:
            raise RunDirectoryError(f"{path}: line {i} holds a non-number: {exc}") from exc
    return header, rows


class ProgressLog:
    """Appends evaluation rows to ``progress.csv``, creating or continuing it."""

    def __init__(self, path: str | Path, param_names: list[str]) -> None:
        self.path = Path(path)
        self.columns = columns(param_names)
        if self.path.is_symlink():
            raise RunDirectoryError(f"{self.path} is a symbolic link; a run's log must be a file of the run "
                                    "directory itself (evaluations are never appended elsewhere)")
        header, rows = read_progress(self.path)
        if header and header != self.columns:
            raise RunDirectoryError(
                f"{self.path}: columns {header} do not match this run's parameters {self.columns}"
            )
        #: the rows logged before this log was opened (what resume replays); appended rows are
        #: not kept in memory (40 000 of them held 36 MB), only the last and the count
        self.rows = rows
        self.last: dict[str, Any] | None = rows[-1] if rows else None
        self.count = len(rows)
        try:
            if header:
                self._rewrite_clean(rows)
                self._fh = open(self.path, "a", encoding="utf-8", newline="")
            else:
                self._fh = open(self.path, "w", encoding="utf-8", newline="")
                self._fh.write(",".join(self.columns) + "\n")
                self._fh.flush()
        except OSError as exc:
            raise RunDirectoryError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def _rewrite_clean(self, rows: list[dict[str, Any]]) -> None:
        """Drop a torn tail so appends start on a fresh line (rows already parsed are kept)."""
        with open(self.path, "rb") as fh:
            data = fh.read()
        if data.endswith(b"\n") or not data:
            return
        cut = data.rfind(b"\n") + 1
        with open(self.path, "r+b") as fh:
            fh.truncate(cut)

    def append(self, row: dict[str, Any]) -> None:
        buf = io.StringIO()
        buf.write(",".join(_fmt(row[c]) for c in self.columns) + "\n")
        try:
            self._fh.write(buf.getvalue())
            self._fh.flush()
        except OSError as exc:
            raise RunDirectoryError(f"cannot append to {self.path}: {exc.strerror or exc}") from exc
        self.last = row
        self.count += 1

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError:
            pass
