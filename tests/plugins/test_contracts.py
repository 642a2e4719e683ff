"""Contracts checked at load time, plugin API versions, ``plugins check`` / ``show`` / ``list``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from ingrained_core.engine.registry import INCOMPATIBLE, LOAD_ERROR, OK, Registry
from ingrained_core.plugin.errors import PluginError

from ..conftest import run_cli

BROKEN = {
    "ghost-model": "does not resolve",
    "no-params": "no Params",
    "plain-params": "expected a ModelParams subclass",
    "no-simulate": "no method simulate()",
    "wrong-unit": "pixel_size is in 'nm'",
    "bad-options": "expected a pydantic BaseModel subclass",
}


def _env(site: Path, strict: bool = False) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
            "INGRAINED_STRICT_PLUGINS": "1" if strict else "0"}


@pytest.fixture()
def registry(contract_plugins_site: Path):
    sys.path.insert(0, str(contract_plugins_site))
    try:
        import importlib

        module = importlib.import_module("ingrained_test_contracts")
        reg = Registry(strict=False, discover=False)
        reg.register(module, name="broken-contracts", distribution="broken-contracts", version="0.9")
        yield reg
    finally:
        sys.path.remove(str(contract_plugins_site))
        sys.modules.pop("ingrained_test_contracts", None)


def _rec(reg: Registry, name: str):
    return next(r for r in reg.records if r.name == name)


def test_listing_stays_lazy_and_get_checks_the_contract(registry: Registry) -> None:
    for name in BROKEN:
        assert _rec(registry, name).status == OK  # discovery imports no target
    for name, problem in BROKEN.items():
        kind = "optimizer" if name == "bad-options" else "forward_model"
        with pytest.raises(PluginError) as err:
            registry.get(kind, name)
        assert problem in str(err.value) and "broken-contracts" in str(err.value), str(err.value)
        assert _rec(registry, name).status == LOAD_ERROR
    assert registry.get("forward_model", "fine-model").__name__ == "FineModel"


def test_check_marks_every_broken_target(registry: Registry) -> None:
    checked = {r.name: r for r in registry.check()}
    for name, problem in BROKEN.items():
        assert checked[name].status == LOAD_ERROR and problem in checked[name].message
        assert "plugin broken-contracts" in checked[name].message
    assert checked["fine-model"].status == OK


def test_other_major_api_version_is_incompatible(registry: Registry) -> None:
    rec = _rec(registry, "future-model")
    assert rec.status == INCOMPATIBLE and "2.0" in rec.message and "1." in rec.message
    with pytest.raises(PluginError, match="not usable"):
        registry.get("forward_model", "future-model")


def test_strict_mode_is_fatal_for_broken_targets_and_versions(contract_plugins_site: Path) -> None:
    proc = run_cli(["plugins", "list", "--json"], env=_env(contract_plugins_site, strict=True))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for name in (*BROKEN, "future-model"):
        assert repr(name) in proc.stderr, name
    assert "'fine-model'" not in proc.stderr


def test_plugins_check_cli(contract_plugins_site: Path) -> None:
    env = _env(contract_plugins_site)
    proc = run_cli(["plugins", "check"], env=env)
    assert proc.returncode == 1, proc.stderr
    for name in BROKEN:
        line = next(ln for ln in proc.stdout.splitlines() if f" {name} " in ln)
        assert "load error" in line
    ok = run_cli(["plugins", "check", "fine-model"], env=env)
    assert ok.returncode == 0 and "1 checked, 0 with problems" in ok.stdout
    unknown = run_cli(["plugins", "check", "no-such-thing"], env=env)
    assert unknown.returncode == 2 and "no contribution named 'no-such-thing'" in unknown.stderr


def test_plugins_show_a_model_and_an_optimizer() -> None:
    proc = run_cli(["plugins", "show", "haadf", "--json"])
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["kind"] == "forward_model" and info["input_kind"] == "structure"
    px = info["parameters"]["pixel_size"]
    assert px["unit"] == "Å" and px["free"] is True and px["min"] < px["default"] < px["max"]
    assert info["parameters"]["energy"]["free"] is False
    assert "tiles" in info["options"]["properties"]
    table = run_cli(["plugins", "show", "scan-powell"], env={"COLUMNS": "100"})
    assert table.returncode == 0 and "options" in table.stdout and "xtol" in table.stdout
    assert run_cli(["plugins", "show", "nope"]).returncode == 2


def test_plugins_list_fits_80_columns(contract_plugins_site: Path) -> None:
    proc = run_cli(["plugins", "list"], env={**_env(contract_plugins_site), "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= 80, max(lines, key=len)
    rows = json.loads(run_cli(["plugins", "list", "--json"], env=_env(contract_plugins_site)).stdout)
    for r in rows:  # every name whole, on a line of its own row
        assert any(f" {r['name']} " in f" {ln} " for ln in lines), r["name"]
    assert "incompatible" in proc.stdout
