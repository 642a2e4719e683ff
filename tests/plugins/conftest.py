"""Fixtures that build plugin distributions in temporary site directories.

Nothing here is installed into the environment the rest of the suite (and strict-mode CI)
uses: each fixture installs into its own directory, used through PYTHONPATH by a
subprocess (or appended to sys.path only inside a test that removes it again).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def make_dist(site: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """Write a minimal installed distribution (dist-info + modules) into ``site``."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ingrained]\n{lines}\n")
    (info / "RECORD").write_text("")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin (examples/plugin-template) pip-installed into a private directory.

    pip builds a local project in its own folder (``build/``, ``*.egg-info``): the template is
    copied into this session's temporary folder first, so concurrent sessions (pytest-xdist
    workers, parallel CI jobs) never build in the same place and the checkout stays clean.
    """
    import shutil

    source = tmp_path_factory.mktemp("example-plugin-source") / "plugin-template"
    shutil.copytree(REPO / "examples" / "plugin-template", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp_path_factory.mktemp("example-plugin-site")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-compile", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"installing the example plugin failed:\n{proc.stdout}\n{proc.stderr}")
    return site


HOOK = "from ingrained_core.plugin.hookspecs import hookimpl\nfrom ingrained_core.plugin.contribution import Contribution\n"


@pytest.fixture(scope="session")
def broken_plugins_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding deliberately broken, incomplete and conflicting plugins."""
    site = tmp_path_factory.mktemp("broken-plugins-site")
    make_dist(site, "broken-import", "1.0", {"broken-import": "ingrained_test_broken_import"},
              {"ingrained_test_broken_import": "raise ImportError('boom: this plugin is broken on purpose')\n"})
    make_dist(site, "missing-module", "1.0", {"missing-module": "ingrained_test_no_such_module"}, {})
    make_dist(site, "missing-dep", "2.0", {"missing-dep": "ingrained_test_missing_dep"}, {
        "ingrained_test_missing_dep": HOOK + (
            "@hookimpl\ndef ingrained_forward_models():\n"
            "    return [Contribution('needs-absent', 'ingrained_test_missing_dep:Model', 'x',\n"
            "            requires=('ingrained_absent_dependency_xyz',), install_hint='pip install absent-xyz')]\n")})
    make_dist(site, "conflicting-ssim", "0.3", {"conflicting-ssim": "ingrained_test_conflict"}, {
        "ingrained_test_conflict": HOOK + (
            "@hookimpl\ndef ingrained_similarities():\n"
            "    return [Contribution('ssim', 'ingrained_test_conflict:Other', 'another ssim')]\n")})
    make_dist(site, "bad-hook", "1.0", {"bad-hook": "ingrained_test_bad_hook"}, {
        "ingrained_test_bad_hook": HOOK + (
            "@hookimpl\ndef ingrained_optimizers():\n    raise RuntimeError('hook exploded')\n")})
    return site


#: A module defining deliberately broken implementations, and the contributions naming them.
CONTRACT_MODULE = '''
from pydantic import BaseModel
from ingrained_core.plugin import Contribution, ModelParams, hookimpl, param_field

class Good(ModelParams):
    pixel_size: float = param_field(0.2, ge=0.1, le=1.0, unit="Å", description="pixel")

class NoParams:
    name = "no-params"
    input_kind = "none"
    def simulate(self, params): ...
    def structure_at(self, params): ...

class PlainParams(NoParams):
    class Params(BaseModel):
        pixel_size: float = 0.2

class NoSimulate:
    Params = Good
    input_kind = "none"
    def structure_at(self, params): ...

class BadOptions:
    Options = {"xtol": 1e-4}
    def minimize(self, objective, x0, options): ...

class WrongUnit(NoParams):
    class Params(ModelParams):
        pixel_size: float = param_field(0.02, ge=0.01, le=0.1, unit="nm", description="pixel")

class FineModel(NoParams):
    Params = Good

@hookimpl
def ingrained_forward_models():
    return [
        Contribution("ghost-model", "ingrained_test_contracts:DoesNotExist", "a target that is not there"),
        Contribution("no-params", "ingrained_test_contracts:NoParams", "no Params"),
        Contribution("plain-params", "ingrained_test_contracts:PlainParams", "Params not a ModelParams"),
        Contribution("no-simulate", "ingrained_test_contracts:NoSimulate", "no simulate()"),
        Contribution("wrong-unit", "ingrained_test_contracts:WrongUnit", "pixel_size in nm"),
        Contribution("future-model", "ingrained_test_contracts:FineModel", "written for API 2", api_version="2.0"),
        Contribution("fine-model", "ingrained_test_contracts:FineModel", "keeps the contract"),
    ]

@hookimpl
def ingrained_optimizers():
    return [Contribution("bad-options", "ingrained_test_contracts:BadOptions", "Options is a dict")]
'''


@pytest.fixture(scope="session")
def contract_plugins_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory with one plugin whose contributions break their role's contract."""
    site = tmp_path_factory.mktemp("contract-plugins-site")
    make_dist(site, "broken-contracts", "0.9", {"broken-contracts": "ingrained_test_contracts"},
              {"ingrained_test_contracts": CONTRACT_MODULE})
    return site
