"""Every ``from ingrained_core... import ...`` in the README's and the docs' code blocks works.

The statements are collected from fenced code blocks (multi-line parenthesised imports
included) and executed in a fresh interpreter in which a DeprecationWarning of an
ingrained module path is an error: the docs never show a deprecated path.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def imports_in(text: str) -> list[str]:
    """The ``from ingrained_core... import`` statements of the text's fenced code blocks."""
    found = []
    for block in FENCE.findall(text):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            if re.match(r"from ingrained_core(\.\w+)* import ", line):
                stmt = line
                while stmt.count("(") > stmt.count(")") and i + 1 < len(lines):
                    i += 1
                    stmt += "\n" + lines[i]
                stmt = textwrap.dedent(stmt.split("#")[0] if "(" not in stmt else stmt)
                ast.parse(stmt)  # a syntax error in the docs fails here, naming the statement
                found.append(stmt)
            i += 1
    return found


def test_docs_show_imports() -> None:
    per_file = {p.name: imports_in(p.read_text(encoding="utf-8")) for p in doc_files()}
    assert per_file["plugin-authors.md"], "the plugin guide shows no import"
    assert any("from ingrained_core.plugin import" in s for s in per_file["plugin-authors.md"])


def test_every_documented_import_executes() -> None:
    statements = []
    for path in doc_files():
        for stmt in imports_in(path.read_text(encoding="utf-8")):
            statements.append((path.relative_to(REPO).as_posix(), stmt))
    assert statements
    program = "import sys\nfailed = []\n"
    for where, stmt in statements:
        program += (f"try:\n{textwrap.indent(stmt, '    ')}\n"
                    f"except Exception as exc:\n    failed.append(({where!r}, {stmt!r}, repr(exc)))\n")
    program += "for f in failed:\n    print('FAILED', *f)\nsys.exit(1 if failed else 0)\n"
    plugins = [str(REPO / "plugins" / p) for p in ("ingrained_stem", "ingrained_stm", "ingrained_abtem")]
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(REPO), *plugins, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-W", "error:ingrained_core:DeprecationWarning", "-c", program],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
