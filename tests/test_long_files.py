"""The long-files-first order of the suite (tests/conftest.py) names real files, and they run first."""

from __future__ import annotations

import subprocess
import sys

from .conftest import LONG_FILES, REPO


def test_every_long_file_exists() -> None:
    missing = [f for f in LONG_FILES if not (REPO / f).is_file()]
    assert not missing, f"LONG_FILES names files that are gone: {missing}"


def test_long_files_are_collected_first(request) -> None:  # noqa: ANN001 - pytest's FixtureRequest
    order: list[str] = []
    for item in request.session.items:
        rel = item.path.resolve().relative_to(REPO).as_posix()
        if not order or order[-1] != rel:
            order.append(rel)
    wanted = [f for f in LONG_FILES if f in order]  # a run of a few files collects only some
    assert order[: len(wanted)] == wanted


def _collect(*args: str) -> str:
    """``pytest --collect-only`` of this repository (no xdist) with ``args``: its output."""
    proc = subprocess.run(check=False, args=[sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider",
                           "-p", "no:xdist", *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr
    return proc.stdout


def _collected(*args: str) -> list[str]:
    return [line for line in _collect("-q", *args).splitlines() if "::" in line]


def test_default_run_leaves_the_slow_tests_out_and_says_how_to_run_them() -> None:
    """Without -m the slow tests are deselected (the fast suite) and the header says how to run
    them; a marker expression (here -m "slow or not slow") and a test named by its id bring them
    back. Three collections: each costs a fresh interpreter (about 4 s on 2 cores)."""
    slow = "tests/run/test_twin.py::test_twin_converges_to_an_excellent_fit"
    fast = "tests/run/test_twin.py::test_twin_short_run_through_the_cli"
    default = _collect("tests/run/test_twin.py")  # not -q: the header is printed
    functions = [line.strip() for line in default.splitlines() if "<Function " in line]
    assert functions == [f"<Function {fast.split('::')[1]}>"], default
    assert 'slow tests left out (the fast suite): -m slow runs them, -m "slow or not slow" everything' in default
    assert sorted(_collected("tests/run/test_twin.py", "-m", "slow or not slow")) == sorted([fast, slow])
    assert _collected(slow) == [slow]
