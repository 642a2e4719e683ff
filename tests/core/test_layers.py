"""The layers are import-linter contracts (pyproject.toml [tool.importlinter]): ``lint-imports`` keeps them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_contracts_have_no_ignored_imports() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert config["contracts"], "no import-linter contracts"
    for contract in config["contracts"]:
        assert "ignore_imports" not in contract, contract["name"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")
    assert layers["layers"] == ["cli", "apps", "engine", "builtins", "plugin"]


def test_lint_imports_keeps_every_contract() -> None:
    pytest.importorskip("importlinter", reason="import-linter comes with the test extra: pip install -e '.[test]'")
    exe = shutil.which("lint-imports", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                              os.environ.get("PATH", "")]))
    assert exe, "lint-imports is not on PATH"
    plugins = [str(REPO / "plugins" / p) for p in ("ingrained_stem", "ingrained_stm", "ingrained_abtem")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *plugins, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([exe, "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
