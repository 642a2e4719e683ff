"""Start value and bounds of r_val from the density's own range (units differ between codes).

The published start r_val = 0.016 is in the units of its DFT density; another density (a
different code, bias window or the synthetic model) needs its own. The rule, stated once
and applied before any fit:

- **start**: the median of ρ over the plane midway between the top atom and the window top
  of the start point (height z_above/2 above the top atom). Then half of the columns cross
  r_val below that plane and half above, so the start iso-surface lies inside the window
  with room on both sides.
- **min**: the median of ρ on the plane at the highest window top the run allows
  (``z_above_max``): a smaller r_val would put the tip above the window almost everywhere.
- **max**: the largest ρ on the plane of the top atom: a larger r_val would push the tip
  into the top atoms everywhere.
- **r_tol** (band mode only): 15/16 of the start r_val, the ratio of the published start
  (0.015 / 0.016), so the band starts as wide relative to r_val as the paper's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import TersoffHamannSTM


def suggest_r_val(model: TersoffHamannSTM, *, z_above: float = 1.0, z_above_max: float = 4.0) -> dict[str, Any]:
    """Start, min and max of r_val (and a start r_tol) for ``model``'s density; see the module doc.

    Returns ``{"start", "min", "max", "r_tol", "rule"}`` with values in the density's units,
    ready for ``[forward_model.params.r_val]`` of a run config.
    """
    grid = model.surface
    z_above_max = min(z_above_max, grid.vacuum - grid.dz)
    start = float(np.median(grid.plane(0.5 * z_above)))
    low = float(np.median(grid.plane(z_above_max)))
    high = float(np.max(grid.plane(0.0)))
    low = min(low, start)
    high = max(high, start)
    return {
        "start": start,
        "min": low,
        "max": high,
        "r_tol": start * 15.0 / 16.0,
        "rule": f"median of rho at {0.5 * z_above:g} A above the top atom; min at {z_above_max:g} A; max at the top atom",
    }
