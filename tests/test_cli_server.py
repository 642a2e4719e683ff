"""The CLI server of the error-case tests (tests/conftest.py :class:`CliServer`) answers as the
console script does, command after command, and starts afresh after it is stopped."""

from __future__ import annotations

from pathlib import Path

from .conftest import CliServer, run_cli


def test_the_server_answers_as_the_console_script(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[experiment]\npath = 3\n")
    cases = [["fuse", tmp_path / "missing.toml", "--out", tmp_path / "r"],
             ["fuse", "bad.toml", "--out", "r"],
             ["--version"]]
    wanted = [run_cli([str(a) for a in args], cwd=tmp_path) for args in cases]
    assert [w.returncode for w in wanted] == [2, 2, 0]
    server = CliServer()
    try:
        for args, want in [*zip(cases, wanted), *zip(cases, wanted)]:  # twice in the same interpreter
            got = server.run(args, cwd=tmp_path)
            assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr), args
        server.close()
        assert server.run(["--version"]).returncode == 0  # a fresh server after close
    finally:
        server.close()
    assert not (tmp_path / "r").exists()
