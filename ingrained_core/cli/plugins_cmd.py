"""``ingrained plugins``: list the contributions of every plugin, as a table or JSON."""

from __future__ import annotations

import json

import click


@click.group()
def plugins() -> None:
    """Inspect installed plugins and what they contribute."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output: one object per contribution")
def list_(as_json: bool) -> None:
    """List every contribution: kind, name, distribution, version, status."""
    from ingrained_core.engine.registry import get_registry

    rows = get_registry().as_dicts()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="ingrained plugins")
    for col in ("kind", "name", "distribution", "version", "status"):
        table.add_column(col)
    for r in rows:
        message = r["message"] or ""
        if r["status"] == "ok" or not message:
            status = r["status"]
        elif message.startswith(r["status"]):  # the message already names the status
            status = message
        else:
            status = f"{r['status']}: {message}"
        style = "green" if r["status"] == "ok" else ("yellow" if r["status"] == "missing dependency" else "red")
        # escaped: an install hint such as pip install 'ingrained[mp]' is text, not rich markup
        table.add_row(r["kind"], r["name"], r["distribution"], r["version"], f"[{style}]{escape(status)}[/{style}]")
    Console().print(table)
