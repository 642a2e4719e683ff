"""The CI rule of tests/conftest.py: in CI a skipped test fails the run, unless its reason is
an allowed missing platform tool; and a missing real data file fails, never skips."""

from __future__ import annotations

import os

import pytest

from .conftest import ALLOWED_SKIPS, REPO, disallowed_skips, real_file

pytest_plugins = ["pytester"]

CASE = """
import pytest

def test_runs():
    assert True

def test_skips():
    pytest.skip("{reason}")
"""


@pytest.fixture()
def run(pytester: pytest.Pytester, monkeypatch):
    """``run(reason, ci, *args)``: a two-test session (one skips) with tests/conftest.py's hooks."""

    def go(reason: str, ci: str | None, *extra: str) -> pytest.RunResult:
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.delenv("INGRAINED_CI", raising=False)
        if ci is not None:
            monkeypatch.setenv("INGRAINED_CI", ci)
        monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # only the plugins named here
        monkeypatch.syspath_prepend(str(REPO))
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        pytester.makepyfile(test_case=CASE.format(reason=reason))
        return pytester.runpytest("-p", "tests.conftest", "-p", "no:cacheprovider", *extra)

    return go


def test_a_skip_for_missing_data_fails_a_ci_run(run) -> None:
    result = run("real data not found: examples/cdte_twin/HAADF26.dm3", "1")
    assert result.ret == 1
    result.assert_outcomes(passed=1, skipped=1)
    err = result.stderr.str()
    assert "skipped for a reason CI does not accept" in err
    assert "test_case.py::test_skips: real data not found: examples/cdte_twin/HAADF26.dm3" in err


def test_outside_ci_a_skip_is_a_skip(run) -> None:
    assert run("real data not found", None).ret == 0


def test_an_allowed_tool_skip_passes_a_ci_run(run) -> None:
    assert run("mallinfo2 needs glibc >= 2.33", "1").ret == 0


def test_the_rule_under_xdist(run) -> None:
    """With pytest-xdist the controller sees the worker's skips and fails the run."""
    pytest.importorskip("xdist")  # the README's test command installs it: never skipped in CI
    result = run("real data not found", "1", "-p", "xdist.plugin", "-n", "1")
    assert result.ret == 1
    assert "skipped for a reason CI does not accept" in result.stderr.str()


def test_allowed_reasons_are_tools_only() -> None:
    assert disallowed_skips([("a", "needs glibc and /proc (Linux)"), ("b", "could not import 'abtem'"),
                             ("c", "real data not found")]) == [("b", "could not import 'abtem'"),
                                                                ("c", "real data not found")]
    assert all("data" not in pattern for pattern in ALLOWED_SKIPS)


def test_a_missing_real_file_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="real data file missing from the repository"):
        real_file("cdte_twin/no-such-file.dm3")
    assert real_file("cdte_twin/HAADF26.dm3").is_file()
