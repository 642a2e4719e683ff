"""``ingrained plugins``: list, check and show the contributions of every plugin.

``list`` prints a table (or JSON) fitting the terminal: names are never cut, descriptions
are shortened with an ellipsis. ``check`` imports every target and checks its role's
contract (docs/plugin-contract.md). ``show`` prints one contribution's parameters and
options schema.
"""

from __future__ import annotations

import json
from typing import Any

import click

#: kind -> its short label in the table (the JSON keeps the kind)
KIND_LABELS = {"forward_model": "model", "structure_builder": "structure", "similarity": "similarity",
               "optimizer": "optimizer", "image_reader": "reader", "plugin": "plugin"}


def _status_text(r: dict[str, Any]) -> str:
    message = r["message"] or ""
    if r["status"] == "ok" or not message:
        return r["status"]
    if message.startswith(r["status"]):  # the message already names the status
        return message
    return f"{r['status']}: {message}"


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


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
    click.echo(format_table(rows, _terminal_width()))


def _terminal_width() -> int:
    import shutil

    return max(40, shutil.get_terminal_size((80, 24)).columns)


def format_table(rows: list[dict[str, Any]], width: int = 80) -> str:
    """The ``plugins list`` table in ``width`` columns: names whole, descriptions shortened.

    Columns: kind (a short label), name, from (distribution and version), status,
    description. A status message (load error, missing dependency ...) follows on its own
    indented lines, wrapped to the width; the description takes what room is left (it is
    cut with "…", and left out below 12 characters).
    """
    import textwrap

    heads = ("kind", "name", "from", "status")
    cells = []
    for r in rows:
        source = r["distribution"] if r["distribution"] == "ingrained" else f"{r['distribution']} {r['version']}"
        cells.append((KIND_LABELS.get(r["kind"], r["kind"]), r["name"], source, r["status"]))
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(heads)]
    widths[2] = min(widths[2], 24)  # a long distribution name wraps in its column
    used = sum(widths) + 2 * len(widths)
    desc_width = width - used
    show_desc = desc_width >= 12
    lines = [("  ".join(h.ljust(w) for h, w in zip(heads, widths)) + ("  description" if show_desc else "")).rstrip()]
    lines.append("-" * min(width, used + (desc_width if show_desc else -2)))
    for r, c in zip(rows, cells):
        source = textwrap.wrap(c[2], widths[2]) or [""]
        desc = " ".join((r["description"] or "").split())
        if len(desc) > desc_width:
            desc = desc[: desc_width - 1].rstrip() + "…"
        first = [c[0].ljust(widths[0]), c[1].ljust(widths[1]), source[0].ljust(widths[2]), c[3].ljust(widths[3])]
        lines.append(("  ".join(first) + "  " + (desc if show_desc else "")).rstrip())
        for more in source[1:]:
            lines.append((" " * (widths[0] + widths[1] + 4) + more).rstrip())
        message = r["message"] or ""
        if r["status"] != "ok" and message:
            indent = " " * (widths[0] + 2)
            lines += textwrap.wrap(message, width, initial_indent=indent, subsequent_indent=indent + "  ",
                                   break_long_words=True, break_on_hyphens=False)
    return "\n".join(lines)


@plugins.command("check")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def check(name: str | None, as_json: bool) -> None:
    """Import every contribution (or those named NAME) and check its contract; exit 1 on a problem."""
    from ingrained_core.engine.registry import MISSING, OK, get_registry
    from ingrained_core.plugin.errors import PluginError

    registry = get_registry()
    records = registry.check(name)
    if name is not None and not records:
        names = sorted({r.name for r in registry.records if r.contribution is not None})
        raise PluginError(f"no contribution named {name!r}; known: {', '.join(names)}")
    failed = [r for r in records if r.status not in (OK, MISSING)]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in records], indent=2))
    else:
        for r in records:
            mark = "ok" if r.status == OK else _status_text(r.as_dict())
            click.echo(f"{r.kind:<17} {r.name:<20} {mark}")
        click.echo(f"{len(records)} checked, {len(failed)} with problems")
    if failed:
        raise SystemExit(1)


def describe(kind: str, obj: Any) -> dict[str, Any]:
    """What ``plugins show`` prints: parameters (forward models) and the options schema."""
    out: dict[str, Any] = {"kind": kind, "class": f"{obj.__module__}.{obj.__qualname__}",
                           "doc": (obj.__doc__ or "").strip().split("\n\n")[0]}
    params = getattr(obj, "Params", None)
    if kind == "forward_model" and params is not None:
        out["input_kind"] = getattr(obj, "input_kind", None)
        out["parameters"] = params.describe()
    options = getattr(obj, "Options", None) or getattr(obj, "Config", None)
    if options is not None:
        out["options"] = options.model_json_schema()
    if kind == "image_reader":
        out["extensions"] = list(getattr(obj, "extensions", ()))
    return out


@plugins.command("show")
@click.argument("name")
@click.option("--kind", type=click.Choice(["forward_model", "structure_builder", "similarity", "optimizer",
                                          "image_reader"]), help="the kind, when NAME names several")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def show(name: str, kind: str | None, as_json: bool) -> None:
    """Show one contribution: a model's parameters (units, bounds, defaults, free/fixed) and its options."""
    from ingrained_core.engine.registry import get_registry
    from ingrained_core.plugin.errors import PluginError

    registry = get_registry()
    kinds = sorted({r.kind for r in registry.records if r.name == name and r.contribution is not None
                    and (kind is None or r.kind == kind)})
    if not kinds:
        names = sorted({r.name for r in registry.records if r.contribution is not None})
        raise PluginError(f"no contribution named {name!r}" + (f" of kind {kind}" if kind else "")
                          + f"; known: {', '.join(names)}")
    if len(kinds) > 1:
        raise PluginError(f"{name!r} names a contribution of each of {', '.join(kinds)}: choose one with --kind")
    info = describe(kinds[0], registry.get(kinds[0], name))
    if as_json:
        click.echo(json.dumps({"name": name, **info}, indent=2, default=str))
        return
    _print_show(name, info)


def _print_show(name: str, info: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{name}[/bold] ({info['kind']}, {info['class']})")
    if info["doc"]:
        console.print(info["doc"])
    if "input_kind" in info:
        console.print(f"input: {info['input_kind']}")
    if info.get("parameters"):
        table = Table(title="parameters", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("name", "default", "min", "max", "unit", "free"):
            table.add_column(col, no_wrap=col != "unit")
        table.add_column("description", ratio=1)
        for pname, d in info["parameters"].items():
            table.add_row(pname, f"{d['default']:g}", f"{d['min']:g}", f"{d['max']:g}", d["unit"],
                          "free" if d["free"] else "fixed", d["description"])
        console.print(table)
    schema = info.get("options")
    if schema is not None:
        props = schema.get("properties", {})
        table = Table(title="options", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("option", "type", "default"):
            table.add_column(col, no_wrap=col == "option")
        table.add_column("description", ratio=1)
        for oname, prop in props.items():
            typ = prop.get("type") or " | ".join(str(a.get("type", a.get("const", "?"))) for a in prop.get("anyOf", []))
            if "enum" in prop:
                typ = " | ".join(map(repr, prop["enum"]))
            table.add_row(oname, typ or "any", repr(prop.get("default", "(required)")), prop.get("description", ""))
        if not props:
            console.print("options: none")
        else:
            console.print(table)
    if "extensions" in info:
        console.print("extensions: " + ", ".join(info["extensions"]))
