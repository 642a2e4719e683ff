"""The long-files-first order of the suite (tests/conftest.py) names real files, and they run first."""

from __future__ import annotations

from .conftest import LONG_FILES, REPO


def test_every_long_file_exists() -> None:
    missing = [f for f in LONG_FILES if not (REPO / f).is_file()]
    assert not missing, f"LONG_FILES names files that are gone: {missing}"


def test_long_files_are_collected_first(request) -> None:  # noqa: ANN001 - pytest's FixtureRequest
    order: list[str] = []
    for item in request.session.items:
        rel = item.path.resolve().relative_to(REPO).as_posix()
        if not order or order[-1] != rel:
            order.append(rel)
    wanted = [f for f in LONG_FILES if f in order]  # a run of a few files collects only some
    assert order[: len(wanted)] == wanted
