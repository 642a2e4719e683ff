"""What a run directory records about its geometry, beside the fit itself.

- ``strain.json``: the structure builder's report (as ``ingrained build`` writes it), so a
  fuse run from a recipe says which termination, height mode and width match it used;
- ``structure_choices`` in ``best.json``: the discrete choices of the structure (for a
  bicrystal built from its slabs; ``"auto"`` resolved to the value used);
- ``at_bound`` in ``best.json``: every free parameter within 0.5 % of the bound range of
  one of its bounds (a fit pressed against a bound is a hint that the bound, or the
  structure, is wrong; no silent geometry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.plugin import files as atomic

#: A free parameter with |value − bound| <= AT_BOUND_FRACTION · (max − min) is at its bound.
AT_BOUND_FRACTION = 0.005


def at_bound(space: Any, values: dict[str, float]) -> list[dict[str, Any]]:
    """The free parameters of ``space`` at one of their bounds, as {name, value, bound, side}."""
    out = []
    for p in getattr(space, "free", []):
        v = values.get(p.name)
        if v is None or p.max <= p.min:
            continue
        tol = AT_BOUND_FRACTION * (p.max - p.min)
        for side, bound in (("min", p.min), ("max", p.max)):
            if abs(float(v) - bound) <= tol:
                out.append({"name": p.name, "value": float(v), "bound": float(bound), "side": side})
                break
    return out


def structure_choices(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The structure's discrete choices from a builder report (None when it has none)."""
    if not report:
        return None
    if "screen_candidate" in report:
        return {**(report.get("choices") or {}), "candidate": report["screen_candidate"]}
    return report.get("choices")


def best_extras(problem: Any, values: dict[str, float]) -> dict[str, Any]:
    """The fields :mod:`run` adds to every ``best.json``: structure_choices and at_bound."""
    return {"structure_choices": structure_choices(getattr(problem, "structure_report", None)),
            "at_bound": at_bound(problem.space, values)}


def write_build_record(problem: Any, run_dir: Path) -> None:
    """``strain.json`` in the run directory: the structure builder's report, when there is one."""
    report = getattr(problem, "structure_report", None)
    if report:
        atomic.write_json(Path(run_dir) / "strain.json", report)


def at_bound_line(record: dict[str, Any]) -> str | None:
    """One line for the closing summary naming the parameters at a bound (None when none)."""
    hits = record.get("at_bound") or []
    if not hits:
        return None
    return "at a bound: " + ", ".join(f"{h['name']} = {h['value']:.6g} ({h['side']} {h['bound']:.6g})" for h in hits)


def report_at_bound(reporter: Any, record: dict[str, Any]) -> None:
    """Tell the reporter (a warning, before the closing summary) which parameters sit at a bound."""
    line = at_bound_line(record)
    if line:
        reporter.message(line, "warning")
