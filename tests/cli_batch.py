"""Run many ``ingrained`` command lines in one interpreter: the batch driver of
:func:`tests.conftest.run_cli_batch`.

Each job goes through the real entry point, :func:`ingrained_core.cli.main` (the same error
handling, messages and exit codes as the console script), with its own stdout and stderr
captured; only the interpreter's start-up and imports (about a second of CPU each) are
shared. Reads a JSON list of ``{"args": [...], "cwd": "..."}`` on stdin; writes a JSON list of
``{"returncode", "stdout", "stderr"}``, one per job, to the file named by argv[1].
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout


def run_one(args: list[str], cwd: str) -> dict[str, object]:
    """One command line, as the console script would run it (``sys.exit`` becomes a code)."""
    from ingrained_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_filters, saved_show = list(warnings.filters), warnings.showwarning
    here = os.getcwd()
    os.chdir(cwd)
    code: object = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(args)
            except SystemExit as exc:
                code = exc.code
    finally:
        os.chdir(here)
        warnings.filters[:] = saved_filters
        warnings.showwarning = saved_show
        warnings._filters_mutated()  # every job sees its warnings afresh (no "once" across jobs)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        err.write(f"{code}\n")
        code = 1
    return {"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    jobs = json.load(sys.stdin)
    results = [run_one(j["args"], j["cwd"]) for j in jobs]
    with open(sys.argv[1], "w", encoding="utf-8", errors="surrogateescape") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main()
