"""No secret in any message, file or traceback: a fake Materials Project key fed through every
path the adversarial round found (a misspelled field, the wrong case, ``--set``, the wrong
type, the wrong section, ``--debug``, the benchmark's recorded command, the environment)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingrained_core.plugin.redact import MASK, is_secret_name, redact, redact_args

KEY = "FAKEk3yK3yk3y0123456789abcdefZZ"

CONFIG = """
[experiment]
path = "experiment.npy"

[structure]
builder = "materials-project"
formula = "CdTe"
space_group = "F-43m"
{structure_line}

[forward_model]
name = "haadf"
{extra}
"""


def _case(tmp_path: Path, structure_line: str = "", extra: str = "") -> Path:
    np.save(tmp_path / "experiment.npy", np.random.default_rng(0).random((60, 60)))
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(CONFIG.format(structure_line=structure_line, extra=extra))
    return cfg


@pytest.mark.parametrize("structure_line,extra,sets", [
    (f'api_kye = "{KEY}"', "", []),                                   # misspelled field
    (f'API_KEY = "{KEY}"', "", []),                                   # wrong case
    ("", "", [f'structure.apikey="{KEY}"']),                          # --set, misspelled
    ("", "", [f"structure.apikey={KEY}"]),                            # --set, bare string
    (f'api_key = ["{KEY}"]', "", []),                                 # wrong type
    ("", f'[fom]\napi_key = "{KEY}"', []),                            # wrong section
])
@pytest.mark.parametrize("debug", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_key_never_echoed(cli, tmp_path: Path, structure_line: str, extra: str, sets: list[str], debug: bool) -> None:
    cfg = _case(tmp_path, structure_line, extra)
    args = (["--debug"] if debug else []) + ["fuse", cfg, "--out", tmp_path / "run"]
    for s in sets:
        args += ["--set", s]
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert KEY not in proc.stderr and KEY not in proc.stdout
    assert MASK in proc.stderr or "api" in proc.stderr.lower()
    if not debug:
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists() or KEY not in "".join(
        p.read_text(errors="replace") for p in (tmp_path / "run").rglob("*") if p.is_file())


def test_key_from_the_environment_is_masked_in_any_message(cli, tmp_path: Path) -> None:
    """A value equal to the configured key is masked wherever it shows up (here: as a path)."""
    np.save(tmp_path / "experiment.npy", np.zeros((5, 5)))
    cfg = tmp_path / "fuse.toml"
    cfg.write_text(f'[experiment]\npath = "{KEY}.npy"\n[forward_model]\nname = "haadf"\n')
    proc = cli("fuse", cfg, "--out", tmp_path / "run", env={"MP_API_KEY": KEY})
    assert proc.returncode == 2 and KEY not in proc.stderr, proc.stderr
    assert MASK in proc.stderr


def test_recorded_commands_are_masked() -> None:
    args = ["--set", f"structure.api_key={KEY}", f"--token={KEY}", "--api-key", KEY, "--cases", "twin"]
    out = " ".join(redact_args(args))
    assert KEY not in out and "--cases twin" in out


def test_benchmark_cli_records_a_masked_command() -> None:
    from ingrained_core.cli import benchmark_cmd

    source = Path(benchmark_cmd.__file__).read_text()
    assert "redact_args(sys.argv[2:])" in source


def test_secret_names() -> None:
    for name in ("api_key", "apikey", "API_KEY", "api_kye", "token", "mp_secret", "password"):
        assert is_secret_name(name), name
    for name in ("alpha", "path", "crop_height", "builder", "formula"):
        assert not is_secret_name(name), name
    assert redact(f"got {KEY!r}", [KEY]) == f"got '{MASK}'"
