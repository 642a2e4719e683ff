"""What README.md and docs/ name in the repository: relative links and repository paths.

A *relative link* is a Markdown link target that is not a URL or an anchor
(``[x](../examples/cdte_twin)``), resolved against the file that holds it. A *repository
path* is a token anywhere in the text (prose, code spans, code blocks) that starts with one
of the repository's top-level folders (``ingrained_core/``, ``plugins/``, ``examples/``,
``docs/``, ``tests/``, ``benchmarks/``, ``.ci/``), resolved against the repository root;
one with a placeholder (``<date>``, ``*``, ``{...}``, ``NAME``) must match at least one file
as a glob. Paths that a command *writes* (``runs/...``, ``--out`` targets) start with no
top-level folder and are not checked; nor are absolute paths, which :func:`outside_paths`
reports instead (the docs never refer to files outside the repository).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOP = ("ingrained_core", "plugins", "examples", "docs", "tests", "benchmarks", ".ci")

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
PATH = re.compile(r"(?<![\w/.~-])((?:%s)/[\w./*<>{}\[\]-]*)" % "|".join(re.escape(t) for t in TOP))
ABSOLUTE = re.compile(r"(?<![\w.~:/-])(/(?:work|home|tmp/ingrained|Users|root)/[\w./-]+)")


def documents() -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def relative_links(doc: Path) -> list[tuple[str, Path]]:
    """(link text as written, resolved path) of each relative link of ``doc``."""
    out = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (http:, mailto:, ...) or an anchor in the same file
        out.append((target, (doc.parent / target.split("#", 1)[0]).resolve()))
    return out


def _clean(token: str) -> str:
    token = token.rstrip(".,;:)]}'\"`")
    while token.endswith(("/.", "/,")):
        token = token[:-1]
    return token


def repository_paths(doc: Path) -> list[str]:
    """Each repository path named in ``doc`` (see the module docstring), as written."""
    seen: dict[str, None] = {}
    for raw in PATH.findall(doc.read_text(encoding="utf-8")):
        token = _clean(raw)
        if token.rstrip("/") not in TOP:
            seen[token] = None
    return list(seen)


def exists(token: str) -> bool:
    """Whether a repository path (or a placeholder glob of one) names something in the repo."""
    if re.search(r"[*<{\[]|\bNAME\b", token):
        pattern = re.sub(r"<[^>]*>|\{[^}]*\}|\bNAME\b", "*", token)
        pattern = re.sub(r"\*+", "*", pattern).rstrip("/")
        return any(REPO.glob(pattern))
    return (REPO / token).exists()


def outside_paths(doc: Path) -> list[str]:
    """Absolute paths in ``doc`` that point outside the repository (e.g. ``/work/shared/...``)."""
    return [_clean(m) for m in ABSOLUTE.findall(doc.read_text(encoding="utf-8"))]
