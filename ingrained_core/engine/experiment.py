"""The ``[experiment]`` config: which file, which reader, what preprocessing, which region.

A run config embeds :class:`ExperimentConfig` as its ``[experiment]`` table::

    [experiment]
    path = "HAADF26.dm3"          # relative to the config file
    # reader = "dm"               # default: chosen by content, then extension
    # pixel_size = 0.2            # Å; overrides the file's calibration
    region = [0, 302, 0, 302]     # row0, row1, col0, col1 after preprocessing (optional)

    [[experiment.preprocess]]
    op = "rotate"
    angle = 66
    remove_collar = true

:func:`load_experiment` reads, preprocesses and cuts the region; :func:`prepare_experiment`
keeps every stage (for ``ingrained preview``).

An image whose values reach :data:`MAX_MAGNITUDE` (a file scaled by 1e305, say) is scaled by
a power of two as it is read, with a warning naming the file: squares of such values
overflow (numpy's raw ``RuntimeWarning``) and float32 outputs would hold inf. A power of two
is exact, and the fit does not depend on the image's scale (both images are compared on
8-bit scales), so the run is the same as with the unscaled file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ingrained_core.plugin.errors import ConfigError, InputFileError
from ingrained_core.plugin.image import ExperimentImage
from ingrained_core.plugin.paths import resolve_path
from ingrained_core.engine.preprocess import Step, apply_steps


#: Images whose largest |value| reaches this are scaled down by a power of two when read
#: (float32 ends at 3.4e38; squares of float64 overflow from 1.3e154).
MAX_MAGNITUDE = 2.0**100


class ScaledImageWarning(UserWarning):
    """The experimental image was scaled by a power of two to keep its arithmetic finite."""


def bounded_magnitude(image: ExperimentImage, what: str) -> ExperimentImage:
    """``image`` scaled by an exact power of two when its values reach :data:`MAX_MAGNITUDE`."""
    import warnings

    data = np.asarray(image.data)
    if not np.issubdtype(data.dtype, np.floating) and not np.issubdtype(data.dtype, np.integer):
        return image
    finite = np.isfinite(data) if np.issubdtype(data.dtype, np.floating) else None
    peak = float(np.max(np.abs(data[finite] if finite is not None else data), initial=0.0))
    if not peak >= MAX_MAGNITUDE:
        return image
    k = int(np.floor(np.log2(peak)))
    scaled = np.ldexp(np.asarray(data, dtype=float), -k)
    note = (f"{what}: pixel values reach {peak:.3g}; the image is scaled by 2^-{k} as read (exact; the fit does "
            "not depend on the image's scale), so that its arithmetic and the float32 outputs stay finite")
    warnings.warn(note, ScaledImageWarning, stacklevel=2)
    return image.derive(scaled, notice=note, intensity_scale=f"2^-{k}")


class ExperimentConfig(BaseModel):
    """``[experiment]``: the experimental image file, how to read and preprocess it, the region used."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="image file (relative paths are relative to the config file)")
    reader: str | None = Field(None, description="image reader plugin (default: chosen by content, then extension)")
    reader_options: dict[str, Any] = Field(
        default_factory=dict, description="options of the reader: frame, channel, direction, dataset ..."
    )
    pixel_size: float | None = Field(None, gt=0, allow_inf_nan=False, description="pixel size in Å; overrides the file's calibration")
    preprocess: list[Step] = Field(default_factory=list, description="preprocessing steps, applied in order")
    region: tuple[int, int, int, int] | None = Field(
        None, description="row0, row1, col0, col1 (after preprocessing) of the part the registration may use"
    )

    @field_validator("path", mode="before")
    @classmethod
    def _resolve(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("an image file path is required")
        p = resolve_path(value, info)
        _regular_file(p)
        return p

    @field_validator("region")
    @classmethod
    def _region_order(cls, v: tuple[int, int, int, int] | None) -> tuple[int, int, int, int] | None:
        if v is None:
            return v
        r0, r1, c0, c1 = v
        if min(v) < 0:
            raise ValueError(f"region indices must be >= 0, got {list(v)}")
        if r1 <= r0 or c1 <= c0:
            raise ValueError(f"region must be [row0, row1, col0, col1] with row0 < row1 and col0 < col1, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _options_are_plain(self) -> ExperimentConfig:
        for k, v in self.reader_options.items():
            if isinstance(v, (dict, list)):
                raise ValueError(f"reader_options.{k} must be a single value, got {v!r}")  # noqa: TRY004
        return self


@dataclass
class ExperimentStages:
    """Every stage of loading: as read, after preprocessing, and the region used (``final``)."""

    raw: ExperimentImage
    processed: ExperimentImage
    final: ExperimentImage
    region: tuple[int, int, int, int] | None


def prepare_experiment(cfg: ExperimentConfig) -> ExperimentStages:
    """Read the file, apply the pixel-size override and the preprocessing, and cut the region."""
    from ingrained_core.engine.reading import read_image

    from ingrained_core.builtins.limits import check_image_size

    raw = read_image(cfg.path, reader=cfg.reader, **cfg.reader_options)
    check_image_size(*raw.data.shape[:2], what=str(cfg.path))
    raw = bounded_magnitude(raw, str(cfg.path))
    if cfg.pixel_size is not None:
        was = f"{raw.pixel_size:.6g} Å" if raw.pixel_size is not None else "unknown"
        raw = raw.derive(raw.data, pixel_size=float(cfg.pixel_size),
                         notice=f"pixel size {cfg.pixel_size:g} Å from experiment.pixel_size (file: {was})",
                         file_pixel_size=raw.pixel_size)
    processed = apply_steps(raw, cfg.preprocess)
    final = processed
    if cfg.region is not None:
        r0, r1, c0, c1 = cfg.region
        h, w = processed.shape
        if r1 > h or c1 > w:
            raise ConfigError(
                f"experiment.region {list(cfg.region)} does not fit the preprocessed image of {h} x {w} px "
                f"(rows 0..{h}, columns 0..{w})"
            )
        final = processed.derive(processed.data[r0:r1, c0:c1],
                                 notice=f"region rows {r0}:{r1}, cols {c0}:{c1}: {h} x {w} -> {r1 - r0} x {c1 - c0}",
                                 region=[r0, r1, c0, c1])
    data = final.data
    if float(np.ptp(data)) == 0.0:
        raise InputFileError(
            f"{cfg.path}: the experimental image is constant (every pixel {data.flat[0]:g}) after preprocessing"
            + (" and the region" if cfg.region is not None else "")
            + "; there is nothing to register against: check the file, experiment.preprocess and experiment.region"
        )
    return ExperimentStages(raw=raw, processed=processed, final=final, region=cfg.region)


def load_experiment(cfg: ExperimentConfig) -> ExperimentImage:
    """The experimental image a run registers against: read + preprocessed + region."""
    return prepare_experiment(cfg).final


def _regular_file(p: Path) -> None:
    """A FIFO or a device as the image would block or never end: refused at once."""
    import stat

    try:
        mode = p.stat().st_mode
    except OSError:
        return  # missing files get the reader's message
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if not stat.S_ISSOCK(mode) else "a socket"
        raise ValueError(f"{p} is {kind}, not an image file")
