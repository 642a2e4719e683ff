"""Every relative link and every repository path that README.md and docs/ name exists, and
no document points at a file outside the repository (tests/docs/paths.py says what counts)."""

from __future__ import annotations

import pytest

from .paths import REPO, documents, exists, outside_paths, relative_links, repository_paths

DOCS = documents()


def test_the_documents_are_there() -> None:
    names = {d.relative_to(REPO).as_posix() for d in DOCS}
    assert {"README.md", "docs/getting-started.md", "docs/structures.md", "docs/performance.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=[d.relative_to(REPO).as_posix() for d in DOCS])
def test_relative_links_exist(doc) -> None:
    missing = [target for target, path in relative_links(doc) if not path.exists()]
    assert not missing, f"{doc.relative_to(REPO)} links to missing files: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=[d.relative_to(REPO).as_posix() for d in DOCS])
def test_repository_paths_exist(doc) -> None:
    missing = [token for token in repository_paths(doc) if not exists(token)]
    assert not missing, f"{doc.relative_to(REPO)} names paths that are not in the repository: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=[d.relative_to(REPO).as_posix() for d in DOCS])
def test_no_path_outside_the_repository(doc) -> None:
    outside = outside_paths(doc)
    assert not outside, f"{doc.relative_to(REPO)} refers to files outside the repository: {outside}"


def test_the_checker_finds_what_is_missing(tmp_path) -> None:
    """The checker itself: a broken link, a missing path, and paths outside the repository
    (absolute, climbing out of it, starting with a folder beside it) are reported."""
    doc = tmp_path / "x.md"
    doc.write_text("[a](nothere.md) [b](https://example.org) [c](#anchor)\n"
                   "see `ingrained_core/no_such_module.py` and examples/cdte_twin/fuse.toml,\n"
                   "results in `benchmarks/results/<date>.json`; data at /work/elsewhere/data/README.md\n")
    assert [t for t, p in relative_links(doc) if not p.exists()] == ["nothere.md"]
    tokens = repository_paths(doc)
    assert tokens == ["ingrained_core/no_such_module.py", "examples/cdte_twin/fuse.toml", "benchmarks/results/<date>.json"]
    assert [exists(t) for t in tokens] == [False, True, True]
    assert outside_paths(doc, beside=()) == ["/work/elsewhere/data/README.md"]
    doc.write_text("see ../../elsewhere/data/README.md and elsewhere/data/x.csv\n")
    assert outside_paths(doc, beside=("elsewhere",)) == ["../../elsewhere/data/README.md", "elsewhere/data/x.csv"]
    assert outside_paths(REPO / "docs" / "getting-started.md") == []  # its ../ links stay inside
