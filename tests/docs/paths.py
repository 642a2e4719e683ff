"""What README.md and docs/ name in the repository: relative links and repository paths.

A *relative link* is a Markdown link target that is not a URL or an anchor
(``[x](../examples/cdte_twin)``), resolved against the file that holds it. A *repository
path* is a token anywhere in the text (prose, code spans, code blocks) that starts with one
of the repository's top-level folders (``ingrained_core/``, ``plugins/``, ``examples/``,
``docs/``, ``tests/``, ``benchmarks/``, ``.ci/``), resolved against the repository root;
one with a placeholder (``<date>``, ``*``, ``{...}``, ``NAME``) must match at least one file
as a glob. Paths that a command *writes* (``runs/...``, ``--out`` targets) start with no
top-level folder and are not checked; nor are paths outside the repository (absolute ones,
relative ones that climb out of it, ones that start with a folder beside it), which
:func:`outside_paths` reports instead (the docs never refer to files outside the repository).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOP = ("ingrained_core", "plugins", "examples", "docs", "tests", "benchmarks", ".ci")

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
PATH = re.compile(r"(?<![\w/.~-])((?:%s)/[\w./*<>{}\[\]-]*)" % "|".join(re.escape(t) for t in TOP))
ABSOLUTE = re.compile(r"(?<![\w.~:/-])(/(?:work|home|tmp/ingrained|Users|root)/[\w./-]+)")
CLIMBING = re.compile(r"(?<![\w./~-])((?:\.\./)+[\w./-]+)")


def beside_repository() -> tuple[str, ...]:
    """Folders next to the repository's checkout that the repository does not hold itself:
    a document naming one (``name/...``) points at something a user's clone lacks."""
    try:
        return tuple(sorted(p.name for p in REPO.parent.iterdir()
                            if p.is_dir() and p != REPO and not (REPO / p.name).exists()))
    except OSError:
        return ()


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


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(REPO)


def outside_paths(doc: Path, beside: tuple[str, ...] | None = None) -> list[str]:
    """Paths in ``doc`` that point outside the repository: absolute ones (``/home/...``),
    relative ones that climb out of it (``../x``, against the document's folder), and ones that start with a folder beside the checkout (``beside``,
    default :func:`beside_repository`)."""
    text = doc.read_text(encoding="utf-8")
    out = [_clean(m) for m in ABSOLUTE.findall(text)]
    for raw in CLIMBING.findall(text):
        token = _clean(raw)
        if not _inside(doc.parent / token):
            out.append(token)
    names = beside_repository() if beside is None else beside
    if names:
        near = re.compile(r"(?<![\w./~-])((?:%s)/[\w./-]*)" % "|".join(re.escape(n) for n in names))
        out += [_clean(m) for m in near.findall(text)]
    return out
