"""Plugins whose import misbehaves (adversarial round 2026-12, P02 and P03).

P02: an entry module calling ``sys.exit(3)`` or raising ``KeyboardInterrupt`` used to end
every command with no output (exit 3, or ``Aborted.`` and 130), the plugin never named.
P03: an entry module printing at import put its text before ``plugins list --json`` and
``fuse --json-log`` output, which then was not JSON. Now the first two are load errors
naming the plugin (the other plugins and the command work), and the printed text goes to
stderr as a notice naming the plugin.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ..conftest import write_config
from ..plugins.conftest import HOOK, make_dist


@pytest.fixture(scope="module")
def noisy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("import-misbehaving-site")
    make_dist(d, "exits-at-import", "1.0", {"exits-at-import": "ingrained_test_exits"},
              {"ingrained_test_exits": "import sys\nsys.exit(3)\n"})
    make_dist(d, "interrupts-at-import", "1.0", {"interrupts-at-import": "ingrained_test_interrupts"},
              {"ingrained_test_interrupts": "raise KeyboardInterrupt\n"})
    make_dist(d, "prints-at-import", "1.0", {"prints-at-import": "ingrained_test_prints"}, {
        "ingrained_test_prints": "print('hello from a chatty plugin')\n" + HOOK + (
            "@hookimpl\ndef ingrained_optimizers():\n"
            "    print('hook output too')\n"
            "    return []\n")})
    return d


def _env(noisy_site: Path, site: Path) -> dict[str, str]:
    # not strict: the broken plugins must be isolated and listed, not fatal (CI sets strict mode)
    return {"PYTHONPATH": os.pathsep.join([str(noisy_site), str(site)]), "INGRAINED_STRICT_PLUGINS": "0"}


def test_p02_p03_plugins_list(cli, noisy_site: Path, site: Path) -> None:
    proc = cli("plugins", "list", "--json", env=_env(noisy_site, site))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    rows = json.loads(proc.stdout)  # P03: stdout is JSON only
    by_name = {r["name"]: r for r in rows}
    assert by_name["exits-at-import"]["status"] == "load error"
    assert "called sys.exit(3) at import" in by_name["exits-at-import"]["message"]
    assert by_name["interrupts-at-import"]["status"] == "load error"
    assert "raised KeyboardInterrupt at import" in by_name["interrupts-at-import"]["message"]
    assert by_name["gaussian-lattice"]["status"] == "ok"  # the other plugins still work
    assert "hello from a chatty plugin" not in proc.stdout
    notes = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert "note: plugin 'prints-at-import' printed at import (kept off stdout): hello from a chatty plugin" in notes
    assert "note: plugin 'prints-at-import' printed in ingrained_optimizers (kept off stdout): hook output too" in notes


def test_p02_p03_fuse_json_log(cli, noisy_site: Path, site: Path, lattice_npy: Path, tmp_path: Path) -> None:
    """A run with the misbehaving plugins installed: it completes, and --json-log stdout is JSON lines."""
    shutil.copy(lattice_npy, tmp_path / "experiment.npy")
    cfg = write_config(tmp_path, "experiment.npy", max_evals=5)
    proc = cli("fuse", cfg, "--out", tmp_path / "run", "--json-log", env=_env(noisy_site, site))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert events[0]["event"] == "begin" and events[-1]["event"] == "end"
    assert "prints-at-import" in proc.stderr


def test_a_real_interrupt_still_interrupts() -> None:
    """A SIGINT that arrives while a plugin is imported is the user's: it is passed on."""
    import signal

    from ingrained_core.engine.registry import _isolated

    def import_interrupted() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # delivered to the handler before kill() returns to Python code
        for _ in range(1000):
            pass

    # Python's own Ctrl-C handler, also when the suite was started with SIGINT ignored (a
    # shell's background job)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _isolated("some-plugin", "at import", import_interrupted)
    finally:
        signal.signal(signal.SIGINT, previous)

    def raises_itself() -> None:
        raise KeyboardInterrupt

    with pytest.raises(Exception, match="raised KeyboardInterrupt at import"):
        _isolated("some-plugin", "at import", raises_itself)
