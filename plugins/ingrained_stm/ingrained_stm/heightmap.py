"""Constant-current height maps: where, in each grid column, the tip meets the iso-density.

Both functions take a window ``stack`` (Na, Nb, n) of ρ, lowest layer first, and its layer
heights ``zs`` (n,) in Å relative to the top atom, and return the (Na, Nb) height map in Å
plus counts of the columns that needed a defined fallback:

- ``"band"`` (the published model): the height of the topmost grid layer whose ρ lies in
  r_val ± r_tol. Heights are quantised to the layer spacing, and r_tol trades noise
  (narrow band: many columns miss) against smoothness (wide band).
- ``"interpolated"`` (default): scanning down from the window top, the first layer m with
  ρ ≥ r_val; the height is interpolated between layer m and the layer above it where ρ
  crosses r_val — log-linearly, since ρ decays exponentially into the vacuum (linearly if
  either value is ≤ 0). Continuous in r_val and in the geometry; r_tol is not used.

Fallbacks (documented, never arbitrary): a column with no crossing (or no grid point in
the band) gets the window floor ``zs[0]`` = −z_below; in ``"interpolated"`` mode a column
whose top layer already has ρ ≥ r_val gets the window ceiling ``zs[-1]`` (the tip would sit
higher than the window allows).
"""

from __future__ import annotations

import numpy as np

CROSSINGS = ("interpolated", "band")


def _topmost(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the topmost True along the last axis, and whether any is True."""
    n = mask.shape[-1]
    found = mask.any(axis=-1)
    idx = n - 1 - np.argmax(mask[..., ::-1], axis=-1)
    return idx, found


def band_height(stack: np.ndarray, zs: np.ndarray, r_val: float, r_tol: float) -> tuple[np.ndarray, dict[str, int]]:
    """Height of the topmost layer with |ρ − r_val| ≤ r_tol per column; floor where none."""
    idx, found = _topmost(np.abs(stack - r_val) <= r_tol)
    h = np.where(found, zs[idx], zs[0])
    return h, {"floor": int((~found).sum()), "ceiling": 0}


def interpolated_height(stack: np.ndarray, zs: np.ndarray, r_val: float) -> tuple[np.ndarray, dict[str, int]]:
    """Height where ρ first reaches r_val coming down from the window top, per column."""
    n = stack.shape[-1]
    idx, found = _topmost(stack >= r_val)
    ceiling = found & (idx == n - 1)
    below = np.clip(idx, 0, n - 2)
    lo = np.take_along_axis(stack, below[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(stack, below[..., None] + 1, axis=-1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        f_log = (np.log(lo) - np.log(r_val)) / (np.log(lo) - np.log(hi))
        f_lin = (lo - r_val) / (lo - hi)
    use_log = (lo > 0) & (hi > 0) & (r_val > 0) & (lo != hi)
    f = np.where(use_log, f_log, f_lin)
    f = np.clip(np.nan_to_num(f, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    dz = zs[1] - zs[0]
    h = zs[below] + f * dz
    h = np.where(ceiling, zs[-1], h)
    h = np.where(found, h, zs[0])
    return h, {"floor": int((~found).sum()), "ceiling": int(ceiling.sum())}


def iso_height(
    stack: np.ndarray, zs: np.ndarray, r_val: float, r_tol: float, crossing: str
) -> tuple[np.ndarray, dict[str, int]]:
    """Dispatch on ``crossing`` ("interpolated" or "band")."""
    if crossing == "band":
        return band_height(stack, zs, r_val, r_tol)
    return interpolated_height(stack, zs, r_val)
