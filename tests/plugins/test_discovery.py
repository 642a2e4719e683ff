"""Plugin discovery: built-ins, the example third-party plugin, broken plugins, strict mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingrained_core.plugin.errors import PluginError
from ingrained_core.engine.registry import CONFLICT, LOAD_ERROR, MISSING, OK, Registry

from ..conftest import run_cli


def _env(site: Path, strict: bool = False) -> dict[str, str]:
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env["INGRAINED_STRICT_PLUGINS"] = "1" if strict else "0"
    return env


def _rows(proc: subprocess.CompletedProcess) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _find(rows: list[dict], **kw: str) -> list[dict]:
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def test_builtins_registered_through_entry_point() -> None:
    reg = Registry(strict=True)
    assert {"ssim", "ssim-float7"} <= set(reg.names("similarity"))
    assert {"powell", "nelder-mead", "cobyla"} <= set(reg.names("optimizer"))
    assert "file" in reg.names("structure_builder")
    rec = reg.record("similarity", "ssim")
    assert rec.plugin == "builtins" and rec.distribution == "ingrained" and rec.status == OK


def test_unknown_name_lists_available() -> None:
    reg = Registry(strict=True)
    with pytest.raises(PluginError) as exc:
        reg.get("optimizer", "powel")
    msg = str(exc.value)
    assert "powell" in msg and "nelder-mead" in msg and "Did you mean 'powell'" in msg


def test_json_listing_of_fresh_install() -> None:
    rows = _rows(run_cli(["plugins", "list", "--json"], env={"INGRAINED_STRICT_PLUGINS": "1"}))
    for r in rows:
        assert set(r) >= {"kind", "name", "distribution", "version", "status", "message"}
    assert _find(rows, kind="similarity", name="ssim", status=OK)
    # Every plugin distribution of the project is either usable or says what it misses.
    for name in ("haadf", "stm", "haadf-multislice"):
        found = _find(rows, kind="forward_model", name=name)
        if found:
            assert found[0]["status"] in (OK, MISSING)
            if found[0]["status"] == MISSING:
                assert "missing dependency: " in found[0]["message"]


def test_table_listing_runs() -> None:
    proc = run_cli(["plugins", "list"])
    assert proc.returncode == 0, proc.stderr
    assert "ssim" in proc.stdout and "powell" in proc.stdout


def test_example_plugin_is_discovered_and_usable(example_plugin_site: Path) -> None:
    rows = _rows(run_cli(["plugins", "list", "--json"], env=_env(example_plugin_site, strict=True)))
    row = _find(rows, kind="forward_model", name="gaussian-lattice")
    assert row and row[0]["status"] == OK and row[0]["distribution"] == "ingrained-gaussian-lattice"
    assert row[0]["version"] == "0.1.0"
    code = (
        "from ingrained_core.engine.registry import get_registry\n"
        "cls = get_registry().get('forward_model', 'gaussian-lattice')\n"
        "img = cls().simulate(cls.Params(crop_height=41, crop_width=51))\n"
        "print(img.array.shape, img.pixel_size)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **_env(example_plugin_site, strict=True)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(41, 51) 0.2"


def test_broken_plugins_are_reported_and_cli_survives(broken_plugins_site: Path) -> None:
    env = _env(broken_plugins_site)
    help_proc = run_cli(["--help"], env=env)
    assert help_proc.returncode == 0 and "plugins" in help_proc.stdout
    rows = _rows(run_cli(["plugins", "list", "--json"], env=env))
    broken = _find(rows, name="broken-import")[0]
    assert broken["status"] == LOAD_ERROR and "boom: this plugin is broken on purpose" in broken["message"]
    missing_module = _find(rows, name="missing-module")[0]
    assert missing_module["status"] == LOAD_ERROR
    assert "ingrained_test_no_such_module" in missing_module["message"]
    dep = _find(rows, name="needs-absent")[0]
    assert dep["status"] == MISSING and "ingrained_absent_dependency_xyz" in dep["message"]
    assert "pip install absent-xyz" in dep["message"]
    conflicts = _find(rows, kind="similarity", name="ssim")
    assert len(conflicts) == 2 and all(r["status"] == CONFLICT for r in conflicts)
    by_dist = {r["distribution"]: r["message"] for r in conflicts}
    assert "conflicting-ssim" in by_dist["ingrained"] and "ingrained" in by_dist["conflicting-ssim"]
    bad_hook = _find(rows, name="bad-hook")[0]
    assert bad_hook["status"] == LOAD_ERROR and "hook exploded" in bad_hook["message"]
    # The other plugins still work.
    assert _find(rows, kind="optimizer", name="powell", status=OK)
    table = run_cli(["plugins", "list"], env=env)
    assert table.returncode == 0 and "load error" in table.stdout


def test_strict_mode_makes_load_errors_fatal(broken_plugins_site: Path) -> None:
    proc = run_cli(["plugins", "list", "--json"], env=_env(broken_plugins_site, strict=True))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for name in ("broken-import", "missing-module", "bad-hook", "conflicting-ssim"):
        assert name in proc.stderr
    assert "needs-absent" not in proc.stderr  # a missing optional dependency stays a status


def test_conflicting_name_is_unusable_with_both_sources(broken_plugins_site: Path) -> None:
    code = (
        "from ingrained_core.engine.registry import get_registry\n"
        "try:\n    get_registry().get('similarity', 'ssim')\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **_env(broken_plugins_site)})
    assert "PluginError" in proc.stdout and "conflicting-ssim" in proc.stdout


def test_discovery_is_lazy() -> None:
    code = (
        "import sys\n"
        "from ingrained_core.cli import main\n"
        "main(['plugins', 'list'])\n"
        "main(['plugins', 'list', '--json'])\n"
        "heavy = [m for m in ('abtem', 'numba', 'dask', 'pymatgen', 'distributed') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_every_hook_is_documented(repo_root: Path) -> None:
    from ingrained_core.plugin import hookspecs

    doc = (repo_root / "docs" / "plugin-authors.md").read_text()
    for hook in hookspecs.HOOK_KINDS:
        assert f"`{hook}`" in doc, f"{hook} is not documented in docs/plugin-authors.md"
        assert getattr(hookspecs, hook).__doc__, f"{hook} has no docstring"
