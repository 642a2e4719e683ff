"""Nothing else changes: the redesigned code gives the pre-redesign code's results, bit for bit.

The commit before the toolkit redesign (:data:`BASELINE`) is checked out in a git worktree;
a fixed short fuse (40 evaluations, fixed crop) of the twin and of Ni/M3B2 runs with the old
code and with this one, and every column of ``progress.csv`` but ``elapsed_s`` must match
as text (floats are written with ``repr``, so equal text is equal bits). Later issues that
change results on purpose move :data:`BASELINE` forward and say why.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASELINE = "9573ef2"  # the last commit before the plugin-toolkit redesign (issue 15)
PLUGINS = ("ingrained_stem", "ingrained_stm", "ingrained_abtem")

CASES = {
    "twin": ("examples/cdte_twin/fuse.toml", 201, 167),
    "ni": ("examples/ni_m3b2/fuse.toml", 285, 171),
}

pytestmark = pytest.mark.slow


def _git(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def baseline_tree(tmp_path_factory: pytest.TempPathFactory):
    """The baseline commit checked out in a detached git worktree (removed afterwards)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("the repository has no git history (an unpacked archive?)")
    if _git("cat-file", "-e", f"{BASELINE}^{{commit}}").returncode != 0:
        pytest.skip(f"the repository lacks the baseline commit {BASELINE} (a shallow clone?)")
    tree = tmp_path_factory.mktemp("baseline") / "tree"
    added = _git("worktree", "add", "--detach", str(tree), BASELINE)
    assert added.returncode == 0, added.stderr
    try:
        yield tree
    finally:
        _git("worktree", "remove", "--force", str(tree))
        _git("worktree", "prune")


def _python(code_root: Path, code: str) -> list[str]:
    """A ``python -c`` command line running ``code`` with ``code_root``'s packages first on sys.path.

    The paths are put first from inside the interpreter (after site initialisation), so that
    neither an installed copy of ingrained nor a site customisation can shadow the code tested.
    """
    paths = [str(code_root), *(str(code_root / "plugins" / p) for p in PLUGINS)]
    return [sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}\n{code}"]


ENV = {"MPLBACKEND": "Agg", "INGRAINED_STRICT_PLUGINS": "0"}
#: progress.csv columns the baseline lacks: new parameters fixed at a neutral default
ADDED_COLUMNS = ("interface_shift", "cell_shift")


def test_the_baseline_code_is_what_runs(baseline_tree: Path) -> None:
    code = "import ingrained_core, ingrained_stem; print(ingrained_core.__file__); print(ingrained_stem.__file__)"
    proc = subprocess.run(_python(baseline_tree, code), capture_output=True, text=True,
                          env={**os.environ, **ENV}, cwd=baseline_tree.parent)
    assert proc.returncode == 0, proc.stderr
    for line in proc.stdout.split():
        assert Path(line).resolve().is_relative_to(baseline_tree.resolve()), line


def _fuse(code_root: Path, case: str, out: Path) -> list[list[str]]:
    config, height, width = CASES[case]
    args = [str(REPO / config), "--out", str(out), "--max-evals", "40", "--quiet",
            "--set", f"forward_model.params.crop_height={{ start = {height}, fixed = true }}",
            "--set", f"forward_model.params.crop_width={{ start = {width}, fixed = true }}",
            "--set", "optimizer.starts=1", "--set", "optimizer.executor=\"serial\"",
            "--set", "optimizer.time_limit=3600"]  # one start, in this process: no worker imports other code
    code = f"from ingrained_core.cli import main\nmain(['fuse', *{args!r}])"
    proc = subprocess.run(_python(code_root, code), capture_output=True, text=True, env={**os.environ, **ENV},
                          cwd=out.parent, timeout=900)
    assert proc.returncode == 0, f"{code_root}: {proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    with open(out / "progress.csv", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("case", sorted(CASES))
def test_progress_matches_the_baseline_bit_for_bit(case: str, baseline_tree: Path, tmp_path: Path) -> None:
    old = _fuse(baseline_tree, case, tmp_path / "old")
    new = _fuse(REPO, case, tmp_path / "new")
    # Columns added since the baseline are parameters fixed at a default that changes nothing
    # (issue 13's interface_shift and cell_shift, 0 Å): every old column must match, and each
    # new one must hold its default in every row.
    added = {name: "0.0" for name in ADDED_COLUMNS}
    assert [h for h in new[0] if h not in added] == old[0], "progress.csv columns differ"
    assert len(old) == len(new) == 41, (len(old), len(new))
    at = {name: i for i, name in enumerate(new[0])}
    for row_old, row_new in zip(old[1:], new[1:]):
        for name, default in added.items():
            if name in at:
                assert row_new[at[name]] == default, f"evaluation {row_new[0]}: {name} = {row_new[at[name]]}"
        assert [row_old[i] for i, h in enumerate(old[0]) if h != "elapsed_s"] == \
            [row_new[at[h]] for h in old[0] if h != "elapsed_s"], f"evaluation {row_old[0]} differs"
