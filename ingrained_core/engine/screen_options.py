"""The ``[structure]`` keys of a recipe screen, which the core takes before the structure
builder sees its section: ``screen``, ``screen_budget``, ``screen_keep``, ``screen_limit``
and ``also`` (see docs/structures.md, "Screening a recipe at fuse time")."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingrained_core.plugin.errors import ConfigError

SCREEN_KEYS = ("screen", "screen_budget", "screen_keep", "screen_limit", "also")


class ScreenOptions(BaseModel):
    """How a bicrystal recipe is screened when it is fused."""

    model_config = ConfigDict(extra="forbid")

    screen: Literal["auto", "none"] | list[int] = Field(
        "auto", description="'auto': every distinct candidate when there is more than one; 'none': build the "
        "recipe once ('auto' choices); a list: those candidate indices only")
    screen_budget: int | None = Field(
        None, ge=1, description="evaluations per candidate in the screen (default: one scan round of the free "
        "parameters, 4 per free parameter + 1)")
    screen_keep: int = Field(3, ge=1, description="candidates given the full fit (the best of the screen)")
    screen_limit: int = Field(200, ge=1, description="more distinct candidates than this is an error")
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
