"""The ``[structure]`` keys of a recipe screen, which the core takes before the structure
builder sees its section: ``screen``, ``screen_budget``, ``screen_keep``, ``screen_limit``
``screen_refine_keep``, ``screen_refine_budget``, the probe's and placement keys and
``also`` (see docs/structures.md, "Screening a recipe at fuse time")."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingrained_core.plugin.errors import ConfigError

SCREEN_KEYS = ("screen", "screen_budget", "screen_keep", "screen_limit", "also", "screen_placement", "screen_probe_keep",
               "screen_probe_points", "screen_refine_keep", "screen_refine_budget")


class ScreenOptions(BaseModel):
    """How a bicrystal recipe is screened when it is fused."""

    model_config = ConfigDict(extra="forbid")

    screen: Literal["auto", "none"] | list[int] = Field(
        "auto", description="'auto': every distinct candidate when there is more than one; 'none': build the "
        "recipe once ('auto' choices); a list: those candidate indices only")
    screen_budget: int | None = Field(
        None, ge=1, description="evaluations per candidate in the screen (default: one scan-powell scan round of "
        "the free parameters and a short line search, 13 per free parameter + 20)")
    screen_keep: int = Field(3, ge=1, description="candidates given the full fit (the best of the screen, or of "
                             "the refine stage)")
    screen_refine_keep: int = Field(
        8, ge=0, description="successive halving: the best of the screen continued to screen_refine_budget "
        "evaluations before the best screen_keep of them get the full fit (0, or no more screened candidates "
        "than screen_keep: no refine stage)")
    screen_refine_budget: int | None = Field(
        None, ge=1, description="evaluations per candidate in the refine stage, in all (default: 4 x screen_budget)")
    screen_limit: int = Field(200, ge=1, description="more distinct candidates than this is an error")
    screen_placement: Literal["free", "fixed"] = Field(
        "free", description="'free': each candidate's fit frees the model's vertical placement cell_shift within "
        "half the larger vertical period of the two grains either side of the centred interface (where the model has "
        "cell_shift and the config does not set it); 'fixed': as configured")
    screen_probe_keep: int | None = Field(
        None, ge=1, description="a cheap first stage when there are more candidates than this: every candidate "
        "evaluated at screen_probe_points points, the best screen_probe_keep go on to the screen (default: no probe)")
    screen_probe_points: int = Field(4, ge=1, description="evaluations per candidate in the probe: the start point "
                                     "with cell_shift spread over its range")
    also: list[Path] = Field(default_factory=list, description="structure files added as candidates (e.g. a "
                             "published structure)")


def split_screen_options(fields: dict[str, Any], base_dir: Path | None = None) -> tuple[ScreenOptions, dict[str, Any]]:
    """(the screen options, the builder's own fields) from a ``[structure]`` mapping."""
    own = {k: v for k, v in fields.items() if k not in SCREEN_KEYS}
    opts = {k: v for k, v in fields.items() if k in SCREEN_KEYS}
    try:
        options = ScreenOptions.model_validate(opts)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"[structure] {where}: {first['msg']}") from None
    if base_dir is not None:
        options.also = [p if p.is_absolute() else (Path(base_dir) / p).resolve() for p in options.also]
    return options, own
