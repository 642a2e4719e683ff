"""Security: no pickle/eval/exec on user input, ``numpy.load`` never unpickles, external
programs run from argument lists, plugin names from a config are never imported as code,
and the Materials Project API key never reaches a run directory, a log or an error message.

The source checks walk the syntax tree of every module of ``ingrained_core`` and the
plugins (a stronger form of grep: comments and strings do not count, keywords do).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from ..conftest import REPO, run_cli_batch
from .conftest import SMALL_HAADF, assert_user_error

SOURCES = sorted(p for root in ("ingrained_core", "plugins") for p in (REPO / root).rglob("*.py")
                 if "build" not in p.relative_to(REPO).parts and ".egg-info" not in str(p))

#: modules that may never be imported by the code (they execute data as code)
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}
#: calls that may never appear
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "os.system", "os.popen", "yaml.load", "torch.load",
                   "pandas.read_pickle", "pd.read_pickle"}
#: (file, call) pairs allowed, with the reason
ALLOWED: dict[tuple[str, str], str] = {}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, _name(node.func)


def test_sources_were_found() -> None:
    assert len(SOURCES) > 40
    assert any(p.name == "frames.py" for p in SOURCES)


def test_no_pickle_eval_or_exec() -> None:
    found = []
    for path in SOURCES:
        rel = str(path.relative_to(REPO))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            for m in mods:
                if m.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{rel}:{node.lineno} imports {m}")
        for call, name in _calls(path):
            if name in FORBIDDEN_CALLS and (rel, name) not in ALLOWED:
                found.append(f"{rel}:{call.lineno} calls {name}")
    assert not found, "\n".join(found)


def test_every_numpy_load_refuses_pickles() -> None:
    loads = []
    for path in SOURCES:
        for call, name in _calls(path):
            if name in ("np.load", "numpy.load") or name.endswith(".np.load"):
                kw = {k.arg: k.value for k in call.keywords}
                ok = isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False
                loads.append((f"{path.relative_to(REPO)}:{call.lineno}", ok))
    assert loads, "expected numpy.load calls (readers, run files)"
    assert all(ok for _, ok in loads), [where for where, ok in loads if not ok]


def test_external_programs_get_argument_lists() -> None:
    """subprocess calls pass a list (no shell parsing of paths from a config) and never shell=True."""
    seen = []
    for path in SOURCES:
        for call, name in _calls(path):
            if name.startswith("subprocess.") and name.split(".")[-1] in ("run", "Popen", "call", "check_call",
                                                                         "check_output"):
                kw = {k.arg: k.value for k in call.keywords}
                shell = kw.get("shell")
                assert not (isinstance(shell, ast.Constant) and shell.value), f"{path}:{call.lineno} shell=True"
                assert shell is None or isinstance(shell, ast.Constant), f"{path}:{call.lineno} computed shell="
                arg = call.args[0] if call.args else kw.get("args")
                assert not isinstance(arg, (ast.Constant, ast.JoinedStr, ast.BinOp)), \
                    f"{path}:{call.lineno}: a command string; pass an argument list"
                seen.append(f"{path.relative_to(REPO)}:{call.lineno}")
    assert any("frames.py" in s for s in seen), seen


def test_ffmpeg_gets_a_hostile_path_as_one_argument(tmp_path: Path) -> None:
    """A frames directory whose name is shell syntax is passed to ffmpeg verbatim (nothing runs)."""
    import numpy as np
    from PIL import Image

    from ingrained_core.apps.frames import make_movie

    evil = tmp_path / "x; touch PWNED; $(touch PWNED2) `touch PWNED3`"
    evil.mkdir()
    for k in range(3):
        Image.fromarray((np.random.default_rng(k).random((32, 48)) * 255).astype(np.uint8)).save(
            evil / f"frame_{k:05d}.png")
    out = make_movie(evil, fps=2)
    assert out.exists() and out.stat().st_size > 0
    assert not any(tmp_path.glob("PWNED*")) and not any(Path.cwd().glob("PWNED*"))


def test_plugin_names_from_a_config_are_never_imported(cli, lattice_npy: Path, tmp_path: Path) -> None:
    """A model, reader or optimizer name that looks like an import target is an unknown name."""
    from ..conftest import write_config

    cfg = write_config(tmp_path, lattice_npy)
    for key in ("forward_model.name", "experiment.reader", "optimizer.name"):
        proc = cli("fuse", cfg, "--out", tmp_path / "run", "--quiet", "--set", f"{key}='os:system'")
        assert_user_error(proc, "unknown", "'os:system'", "available")


# -- the Materials Project key ---------------------------------------------------------------
KEY = "FAKE" + "k3y" * 9 + "Z"  # 32 characters, never a real key

MP_CONFIG = """
[experiment]
path = "{image}"

[structure]
builder = "materials-project"
formula = "CdTe"
space_group = "F-43m"
cache_dir = "mpcache"
{key_line}
"""


@pytest.fixture()
def mp_cache(tmp_path: Path) -> Path:
    """A recorded summary response for CdTe F-43m (emmet's own model) stored in the builder's cache."""
    pytest.importorskip("mp_api")
    pytest.importorskip("emmet.core.summary")
    from emmet.core.summary import SummaryDoc
    from emmet.core.symmetry import SymmetryData

    from ingrained_core.builtins.structures import materials_project as mp
    from ingrained_core.builtins.structures.library import library_structure

    cell, _ = library_structure("CdTe", "F-43m", lattice_a=6.629)
    prim = cell.get_primitive_structure()
    doc = SummaryDoc(material_id="mp-406", structure=prim, energy_above_hull=0.0,
                     symmetry=SymmetryData.from_structure(prim), formula_pretty="CdTe")
    mp.store("CdTe", "F-43m", mp.parse_documents([doc]), tmp_path / "mpcache")
    return tmp_path / "mpcache"


def _all_text(directory: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in directory.rglob("*") if p.is_file())


@pytest.mark.parametrize("where", ["config", "environment"])
def test_mp_key_never_written(cli, real, mp_cache: Path, tmp_path: Path, where: str) -> None:
    """Fuse and resume in their own interpreters (as a user runs them): neither holds the key the
    other was given, so nothing but the stored files can carry it from one to the other."""
    image = real("cdte_twin/HAADF26.dm3")
    key_line = f'api_key = "{KEY}"' if where == "config" else ""
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(MP_CONFIG.format(image=image, key_line=key_line) + SMALL_HAADF)
    run = tmp_path / "run"
    env = {"MP_API_KEY": KEY} if where == "environment" else {}
    proc = cli("fuse", cfg, "--out", run, "--max-evals", "3", "--json-log", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (run / "best.json").exists() and (run / "config.toml").exists()
    assert KEY not in proc.stdout and KEY not in proc.stderr
    assert KEY not in _all_text(run)
    assert KEY not in _all_text(mp_cache)
    if where == "config":
        assert "structure.api_key" in (run / "config.toml").read_text()  # the removal is said, not the key
    # resume reads the stored config (no key in it: the cache answers) and writes no key either
    res = cli("resume", run, "--max-evals", "4", "--quiet", env=env)
    assert res.returncode == 0, res.stderr
    assert KEY not in res.stderr + res.stdout and KEY not in _all_text(run)
    if where == "config":  # the resume's rewrite of config.toml still says what was removed
        assert "# removed: structure.api_key" in (run / "config.toml").read_text()
    json.loads((run / "best.json").read_text())


def test_mp_key_not_in_offline_error(site: Path, real, tmp_path: Path) -> None:
    """No cache and an unreachable server: one clear error that does not echo the key, even with --debug."""
    pytest.importorskip("mp_api")
    image = real("cdte_twin/HAADF26.dm3")
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(MP_CONFIG.format(image=image, key_line='endpoint = "http://127.0.0.1:9/"') + SMALL_HAADF)
    run = tmp_path / "run"
    # both command lines in one interpreter: the real mp_api client is imported once (7 s)
    proc, dbg = run_cli_batch([["fuse", cfg, "--out", run, "--quiet"], ["--debug", "fuse", cfg, "--out", run, "--quiet"]],
                              env={"PYTHONPATH": str(site), "MP_API_KEY": KEY}, processes=1)
    assert_user_error(proc, "cannot reach the Materials Project", "offline")
    assert KEY not in proc.stderr and not run.exists()
    assert dbg.returncode != 0 and KEY not in dbg.stderr + dbg.stdout
    assert "Traceback" in dbg.stderr  # --debug shows where it failed, still without the key
