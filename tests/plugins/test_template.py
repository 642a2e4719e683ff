"""The plugin template is complete: its own tests (the conformance kit) pass as an author runs them."""

from __future__ import annotations

import os
import subprocess
import sys

from ..conftest import REPO

TEMPLATE = REPO / "examples" / "plugin-template"


def test_template_tests_pass() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TEMPLATE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TEMPLATE / "tests")],
                          capture_output=True, text=True, env=env, cwd=TEMPLATE, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" in proc.stdout
