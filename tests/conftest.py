"""Shared fixtures: the real data of the paper's three cases (as examples/ ships it), CLI
subprocess helpers, and the fast example-plugin run case used by tests/run,
tests/reliability and tests/scale.

The real data is part of the repository (examples/cdte_twin, examples/ni_m3b2,
examples/cu2o_111, each with its image_credit.txt): a real-data test never skips; a missing
file fails the test (:func:`real_file`), and :class:`SkipWatch` fails a CI run
(``CI`` or ``INGRAINED_CI`` set) in which any test skipped for a reason other than an
optional tool the README's test command does not install (:data:`ALLOWED_SKIPS`).

The run case is the example plugin ``gaussian-lattice`` (examples/plugin-template) on a
141 x 151 synthetic experiment rendered by its own model at :data:`TRUTH` plus seeded
noise, so a run has a known answer and takes a few seconds. The plugin is pip-installed
into a private directory (``example_plugin_site``, tests/plugins/conftest.py) and is
importable only inside :func:`plugin_importable` (this process) or through ``PYTHONPATH``
(subprocesses).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from .plugins.conftest import example_plugin_site  # noqa: F401 - re-exported session fixture

REPO = Path(__file__).resolve().parents[1]
#: the bundled examples: the paper's real images, structures and configs
EXAMPLES = REPO / "examples"

#: Skip reasons a CI run accepts (regular expressions, matched against the skip message):
#: only tools or platform features the README's test command cannot install. Everything
#: else that skips (above all missing real data) fails a CI run.
ALLOWED_SKIPS: tuple[str, ...] = (
    r"mallinfo2 needs glibc",  # tests/core/test_memory.py: a C library feature of the platform
    r"needs glibc",  # ibid.: the allocator probes need glibc (musl, macOS, Windows lack it)
    r"root writes into read-only directories",  # tests/reliability: a permission case root cannot see (CI runs as root)
)

#: the example model's parameters at which the synthetic experiment is rendered
TRUTH = {"pixel_size": 0.2, "spacing": 3.0, "sigma": 0.45, "rotation": 12.0}

#: A fast run: the example model on the synthetic experiment (known answer).
LATTICE_CONFIG = """
[experiment]
path = "{path}"

[forward_model]
name = "gaussian-lattice"

[forward_model.params]
pixel_size = {{ start = 0.215, min = 0.15, max = 0.3 }}
sigma = {{ start = 0.6, min = 0.2, max = 1.0 }}
rotation = {{ start = 9.0, min = -20, max = 30 }}
crop_height = 61
crop_width = 71

[registration]
vertical_bias = 0.0

[optimizer]
name = "{optimizer}"
max_evals = {max_evals}
"""


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def real_file(rel: str) -> Path:
    """A real data file of the repository's examples (``"cdte_twin/HAADF26.dm3"``).

    Fails the test (never skips) when it is missing: the repository ships every real file
    its tests read, so a missing one is a broken checkout, not an optional extra.
    """
    path = EXAMPLES / rel
    if not path.is_file():
        pytest.fail(f"real data file missing from the repository: {path} (examples/ ships it; "
                    "a partial checkout or a Git LFS pointer?)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The repository's examples/ folder (fails when one of the three cases is missing)."""
    for case in ("cdte_twin", "ni_m3b2", "cu2o_111"):
        if not (EXAMPLES / case).is_dir():
            pytest.fail(f"example folder missing from the repository: {EXAMPLES / case}", pytrace=False)
    return EXAMPLES


# -- CI: no skip for missing real data ---------------------------------------------------------


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ")


def _ci() -> bool:
    return any(os.environ.get(k, "").strip().lower() not in ("", "0", "false", "no") for k in ("CI", "INGRAINED_CI"))


def disallowed_skips(skips: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The skips whose reason matches none of :data:`ALLOWED_SKIPS`."""
    import re

    return [(node, why) for node, why in skips if not any(re.search(p, why) for p in ALLOWED_SKIPS)]


class SkipWatch:
    """Collects a session's skips; in CI, fails the session on one CI does not accept.

    Under pytest-xdist the controller receives the workers' reports, so it sees every skip
    and sets the exit status; the workers' own instances stay silent.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.skips: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skips.append((report.nodeid, _skip_reason(report)))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput") or not _ci():
            return  # an xdist worker (the controller decides), or not a CI run
        bad = disallowed_skips(self.skips)
        if bad:
            lines = "\n".join(f"  {node}: {why}" for node, why in bad)
            sys.stderr.write(f"\nCI: {len(bad)} test(s) skipped for a reason CI does not accept "
                             f"(real data or an installed tool missing):\n{lines}\n")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("ingrained-skip-watch"):
        config.pluginmanager.register(SkipWatch(config), "ingrained-skip-watch")


def benchmark_module(name: str):  # noqa: ANN201 - a module
    """``benchmarks/<name>.py`` imported as a module (the benchmarks are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m ingrained_core ARGS`` in a subprocess and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "ingrained_core", *args],
        capture_output=True, text=True, env=_cli_env(env), cwd=cwd, timeout=timeout, check=False,
    )


def _cli_env(env: dict[str, str] | None) -> dict[str, str]:
    """This environment plus ``env``, with the checkout under test first on PYTHONPATH (not
    an installed copy of ingrained)."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p)
    return full_env


def run_cli_batch(jobs: list[list[str]], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                  processes: int = 2, timeout: float = 600) -> list[subprocess.CompletedProcess]:
    """Run many ``ingrained ARGS`` command lines through the real entry point, in
    ``processes`` fresh interpreters that each run a share of them one after another
    (tests/cli_batch.py): one result per job, as :func:`run_cli` gives it. For batches of
    error cases, whose cost is the interpreter's start-up, not the command."""
    import json
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    full_env = _cli_env(env)
    where = str(cwd or Path.cwd())
    shares = [list(range(k, len(jobs), processes)) for k in range(max(1, processes))]

    def run_share(idx: list[int]) -> list[tuple[int, subprocess.CompletedProcess]]:
        if not idx:
            return []
        with tempfile.TemporaryDirectory() as tmp:
            result = Path(tmp) / "results.json"
            payload = json.dumps([{"args": [str(a) for a in jobs[i]], "cwd": where} for i in idx])
            proc = subprocess.run([sys.executable, str(REPO / "tests" / "cli_batch.py"), str(result)],
                                  input=payload, capture_output=True, text=True, env=full_env,
                                  timeout=timeout, check=False)
            assert proc.returncode == 0 and result.exists(), f"the CLI batch driver failed:\n{proc.stderr}"
            got = json.loads(result.read_text(encoding="utf-8", errors="surrogateescape"))
        return [(i, subprocess.CompletedProcess(["ingrained", *map(str, jobs[i])], r["returncode"], r["stdout"],
                                                r["stderr"])) for i, r in zip(idx, got)]

    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        done = dict(pair for share in pool.map(run_share, shares) for pair in share)
    return [done[i] for i in range(len(jobs))]


class CliServer:
    """One long-lived interpreter (tests/cli_server.py) that runs ``ingrained`` command lines
    one after another: :meth:`run` gives what :func:`run_cli` gives, less the start-up.

    For the user-error cases (a bad file or config value: exit code 2, one ``error:`` line),
    whose cost is the interpreter's start-up and imports, not the command. What one command
    leaves in the interpreter (imported plugins, secrets remembered for masking) the next one
    sees: a secrets test, or a command whose outcome could depend on an earlier one, uses
    :func:`run_cli`. A command that kills the interpreter or hangs past ``timeout`` fails its
    test with the server's stderr; the next command starts a fresh server.
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        import threading

        self._env = _cli_env(env)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None

    def _start(self) -> None:
        import tempfile

        read_fd, write_fd = os.pipe()
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self._proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "cli_server.py"), str(write_fd)],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log,
                                      env=self._env, pass_fds=(write_fd,), text=True)
        os.close(write_fd)
        self._reply = os.fdopen(read_fd, "r", encoding="utf-8", errors="surrogateescape")

    def run(self, args: list[object], *, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run ``ingrained ARGS`` (in ``cwd``) in the server; its exit code, stdout and stderr."""
        import json
        import select

        argv = [str(a) for a in args]
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            assert self._proc is not None and self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"args": argv, "cwd": str(cwd or Path.cwd())}) + "\n")
            self._proc.stdin.flush()
            ready, _, _ = select.select([self._reply], [], [], timeout)
            line = self._reply.readline() if ready else ""
            if not line:
                died = self._proc.poll() is not None
                self._log.seek(0)
                log = self._log.read()
                self.close()
                raise AssertionError(f"the CLI server {'died' if died else f'did not answer in {timeout} s'} "
                                     f"running ingrained {' '.join(argv)}:\n{log}")
        got = json.loads(line)
        return subprocess.CompletedProcess(["ingrained", *argv], got["returncode"], got["stdout"], got["stderr"])

    def close(self) -> None:
        """Stop the server (it ends when its stdin closes; killed after 10 s)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        self._reply.close()
        self._log.close()


@contextmanager
def plugin_importable(site: Path) -> Iterator[Path]:
    """The example plugin importable in this process for the block (and forgotten after it)."""
    from ingrained_core.engine.registry import reset_registry

    sys.path.insert(0, str(site))
    reset_registry()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.startswith("ingrained_gaussian_lattice")]:
            del sys.modules[name]
        reset_registry()


def lattice_image(shape: tuple[int, int] = (141, 151), seed: int = 7) -> np.ndarray:
    """The example model rendered at TRUTH plus seeded noise (the plugin must be importable)."""
    from ingrained_gaussian_lattice.model import GaussianLattice

    model = GaussianLattice()
    img = model.simulate(model.Params(**TRUTH, crop_height=shape[0], crop_width=shape[1])).array
    return img + np.random.default_rng(seed).normal(0, 0.05, img.shape)


def write_config(directory: Path, image: str | Path, max_evals: int = 120, extra: str = "",
                 name: str = "fuse.toml", optimizer: str = "powell") -> Path:
    """A lattice run config in ``directory`` pointing at ``image`` (relative paths allowed)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    text = LATTICE_CONFIG.format(path=str(image).replace("\\", "/"), optimizer=optimizer, max_evals=max_evals)
    path.write_text(text + extra)
    return path


@pytest.fixture()
def lattice_plugin(example_plugin_site: Path) -> Iterator[Path]:  # noqa: F811
    """The example plugin importable in this process (removed again afterwards)."""
    with plugin_importable(example_plugin_site) as site:
        yield site


@pytest.fixture()
def lattice_case(tmp_path: Path, lattice_plugin: Path) -> Path:
    """A directory with experiment.npy (141 x 151) and fuse.toml; returns the config path."""
    np.save(tmp_path / "experiment.npy", lattice_image())
    return write_config(tmp_path, "experiment.npy")


@pytest.fixture(scope="session")
def lattice_npy(example_plugin_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The synthetic experiment as a .npy file, written once per session."""
    with plugin_importable(example_plugin_site):
        img = lattice_image()
    path = tmp_path_factory.mktemp("lattice") / "experiment.npy"
    np.save(path, img)
    return path


#: The test files that take longest (15-90 s each on 2 cores, `--durations=0`), run first:
#: pytest-xdist's ``--dist loadfile`` hands files out in collection order, so a long file
#: collected last (tests/structures sorts late) leaves the other worker idle at the end.
#: Longest first keeps the two workers' finishing times within a short file of each other,
#: in the fast run and in the slow one (``-m slow``; the first two hold slow tests mostly).
LONG_FILES = (
    "tests/reliability/test_kill_consistency.py",
    "tests/stm/test_screen_densities.py",
    "tests/docs/test_commands.py",
    "tests/reliability/test_security.py",
    "tests/reliability/test_bad_structures.py",
    "tests/reliability/test_plugin_failures.py",
    "tests/run/test_fuse.py",
    "tests/run/test_resume.py",
    "tests/reliability/test_interruption.py",
    "tests/run/test_race.py",
    "tests/reliability/test_adversarial_cases.py",
    "tests/abtem/test_series.py",
    "tests/reliability/test_bad_configs.py",
    "tests/structures/test_recipe_screen.py",
    "tests/scale/test_multistart_dask.py",
    "tests/run/test_twin.py",
    "tests/abtem/test_fuse.py",
)


def slow_deselected(config: pytest.Config) -> bool:
    """True when the run names no marker expression (``-m``) and no test id (``path::name``):
    the default run, the fast suite. ``-m slow`` runs the slow tests, ``-m "slow or not slow"``
    all; a test named by its id always runs."""
    return not config.getoption("markexpr") and not any("::" in str(arg) for arg in config.args)


def pytest_report_header(config: pytest.Config) -> str | None:
    if slow_deselected(config):
        return 'slow tests left out (the fast suite): -m slow runs them, -m "slow or not slow" everything'
    return None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The default run leaves the ``slow`` tests out (:func:`slow_deselected`); the
    :data:`LONG_FILES` run first (in that order), every file's tests in their own order."""
    if slow_deselected(config):
        slow = [item for item in items if item.get_closest_marker("slow") is not None]
        if slow:
            items[:] = [item for item in items if item.get_closest_marker("slow") is None]
            config.hook.pytest_deselected(items=slow)
    rank = {name: i for i, name in enumerate(LONG_FILES)}

    def key(pair: tuple[int, pytest.Item]) -> tuple[int, int]:
        try:
            rel = Path(pair[1].path).resolve().relative_to(REPO).as_posix()
        except ValueError:  # a test outside the repository (none today)
            rel = ""
        return (rank.get(rel, len(rank)), pair[0])

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]
