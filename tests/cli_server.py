"""A long-lived ``ingrained`` interpreter that runs command lines on request: the server of
:class:`tests.conftest.CliServer`.

For the suite's many user-error cases (a bad file, a bad config value), whose cost is the
interpreter's start-up and imports (2-3 s on 2 cores), not the command: each job still goes
through the real entry point (:func:`cli_batch.run_one`: the same error handling, messages and
exit codes as the console script) with its own stdout and stderr captured. Jobs arrive one JSON
object a line (``{"args": [...], "cwd": "..."}``) on stdin; each result
(``{"returncode", "stdout", "stderr"}``) goes back as one JSON line on the file descriptor
named by argv[1], which no job writes to.
"""

from __future__ import annotations

import json
import os
import sys

from cli_batch import run_one


def main() -> None:
    with os.fdopen(int(sys.argv[1]), "w", encoding="utf-8", errors="surrogateescape") as reply:
        for line in sys.stdin:
            if not line.strip():
                continue
            job = json.loads(line)
            reply.write(json.dumps(run_one(job["args"], job["cwd"])) + "\n")
            reply.flush()


if __name__ == "__main__":
    main()
