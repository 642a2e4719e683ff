"""The run's smallest crop: a model that returns a smaller simulated crop than the run's
configured minimum (e.g. the HAADF model shrinking a crop to fit its content, down to its
own 35-px floor) makes the evaluation infeasible, with a notice naming the parameter,
instead of silently scoring a smaller image (issue 13, item 7; for every model)."""

from __future__ import annotations

from typing import Any

CROP_KEYS = ("crop_height", "crop_width")


def configured_minimum(space: Any, name: str) -> float | None:
    """The run's lower bound of ``name``: its free range's min, or its fixed value."""
    for p in getattr(space, "free", []):
        if p.name == name:
            return float(p.min)
    fixed = getattr(space, "fixed", {})
    return float(fixed[name]) if name in fixed else None


def crop_shortfall(space: Any, used: dict[str, Any]) -> str | None:
    """A notice when a crop the model used is below the run's configured minimum, else None."""
    for key in CROP_KEYS:
        if key not in used:
            continue
        lo = configured_minimum(space, key)
        if lo is not None and float(used[key]) < lo - 1e-9:
            return (f"{key}: the model returned {int(used[key])} px, below the run's minimum {lo:g} px "
                    f"(the content does not fill the crop); evaluation infeasible")
    return None
