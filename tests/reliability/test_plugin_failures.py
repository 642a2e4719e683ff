"""A forward model that misbehaves: errors name the plugin, exit status 3, no traceback, and
``--time-limit`` holds even when ``simulate`` never returns.

The plugin ``misbehaving-lattice`` (built here into a private site directory) is the
example model, except that from call N on its ``simulate`` does what ``MISBEHAVE=mode:N``
says: sleep forever, raise, return None / a list / NaN / a complex or 1-D array, call
``sys.exit(0)`` or raise ``MemoryError``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from ..conftest import write_config
from ..plugins.conftest import HOOK, make_dist

MODEL = '''
import os, sys, time
import numpy as np
from ingrained_gaussian_lattice.model import GaussianLattice
from ingrained_core.plugin.protocols import SimulatedImage

CALLS = [0]


class Misbehaving(GaussianLattice):
    def simulate(self, params):
        CALLS[0] += 1
        mode, _, n = os.environ.get("MISBEHAVE", "none:0").partition(":")
        if CALLS[0] < int(n or 0) or mode == "none":
            return super().simulate(params)
        if mode == "sleep":
            while True:
                time.sleep(3600)
        if mode == "raise":
            raise RuntimeError("the detector model diverged")
        if mode == "return-none":
            return None
        if mode == "list":
            return super().simulate(params).array.tolist()
        if mode == "nan":
            a = super().simulate(params).array.copy(); a[3, 3] = np.nan
            return SimulatedImage(array=a, pixel_size=params.pixel_size)
        if mode == "complex":
            a = super().simulate(params).array
            return SimulatedImage(array=a * (1 + 0.5j), pixel_size=params.pixel_size)
        if mode == "one-d":
            return SimulatedImage(array=np.ones(10), pixel_size=params.pixel_size)
        if mode == "exit":
            sys.exit(0)
        if mode == "memory":
            raise MemoryError()
        raise AssertionError(mode)
'''


@pytest.fixture(scope="module")
def bad_site(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("misbehaving-site")
    make_dist(d, "misbehaving-lattice", "1.0", {"misbehaving-lattice": "ingrained_test_misbehaving"}, {
        "ingrained_test_misbehaving": HOOK + (
            "@hookimpl\ndef ingrained_forward_models():\n"
            "    return [Contribution('misbehaving-lattice', 'ingrained_test_misbehaving_model:Misbehaving', 'x')]\n"),
        "ingrained_test_misbehaving_model": MODEL,
    })
    return d


@pytest.fixture()
def bad_cli(cli, bad_site: Path, site: Path):
    def run(*args, mode: str, **kw):
        env = {"PYTHONPATH": os.pathsep.join([str(bad_site), str(site)]), "MISBEHAVE": mode}
        return cli(*args, env=env, **kw)
    return run


def _config(tmp_path: Path, lattice_npy: Path, **kw) -> Path:
    cfg = write_config(tmp_path, lattice_npy, **kw)
    cfg.write_text(cfg.read_text().replace('name = "gaussian-lattice"', 'name = "misbehaving-lattice"'))
    return cfg


def _plugin_error(proc, *needles: str) -> str:
    err = proc.stderr
    assert proc.returncode == 3, f"exit {proc.returncode}\n{err}"
    assert "Traceback" not in err + proc.stdout, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "misbehaving-lattice" in lines[0], err
    assert len(lines[0]) < 500, lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("mode,needle", [
    ("raise:20", "raised RuntimeError: the detector model diverged"),
    pytest.param("return-none:1", "returned NoneType", marks=pytest.mark.slow),
    pytest.param("list:1", "returned list", marks=pytest.mark.slow),
    pytest.param("nan:5", "array", marks=pytest.mark.slow),
    pytest.param("one-d:1", "array", marks=pytest.mark.slow),
    ("complex:3", "must be real, got a complex array"),  # P07: used to be cast silently (ComplexWarning)
    pytest.param("exit:15", "called sys.exit(0)", marks=pytest.mark.slow),
    pytest.param("memory:3", "ran out of memory", marks=pytest.mark.slow),
])
def test_a_failing_model_names_the_plugin(bad_cli, lattice_npy: Path, tmp_path: Path, mode: str, needle: str) -> None:
    cfg = _config(tmp_path, lattice_npy, max_evals=40)
    run = tmp_path / "run"
    proc = bad_cli("fuse", cfg, "--out", run, "--quiet", mode=mode)
    _plugin_error(proc, needle)
    assert "Warning" not in proc.stderr
    if int(mode.split(":")[1]) > 2:  # the rows before the failure are kept, best.json describes them
        best = json.loads((run / "best.json").read_text())
        assert best["status"] == "failed" and best["stop_reason"] == "plugin_failure"
        assert not (run / ".ingrained.lock").exists()


@pytest.mark.parametrize("starts", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_time_limit_holds_when_simulate_never_returns(bad_cli, lattice_npy: Path, tmp_path: Path, starts: int) -> None:
    cfg = _config(tmp_path, lattice_npy, max_evals=100000)
    run = tmp_path / "run"
    limit = 8.0  # set-up counts too (the workers' own included): room for it on a loaded machine
    t0 = time.monotonic()
    proc = bad_cli("fuse", cfg, "--out", run, "--quiet", "--time-limit", str(limit), "--starts", str(starts),
                   "--set", 'optimizer.executor="processes"', mode="sleep:4", timeout=60)
    wall = time.monotonic() - t0
    assert wall < limit + 10, f"took {wall:.1f} s"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    best = json.loads((run / "best.json").read_text())
    assert best["stop_reason"] == "time_limit" if starts == 1 else best["starts"]
    assert best["evaluations"] >= 2  # call 1 is the set-up check, calls 2 and 3 logged, call 4 never returns
    assert not (run / ".ingrained.lock").exists()
