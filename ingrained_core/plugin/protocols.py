"""The four roles of ingrained as ``typing.Protocol`` s, and the simulated-image result.

- :class:`ForwardModel` turns a structure (or density) and parameters into an image;
- :class:`StructureBuilder` turns a pydantic config into a pymatgen ``Structure``;
- :class:`Similarity` scores a simulation against an experimental patch (>= 0);
- :class:`Optimizer` minimises a scalar objective over the unit box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from ingrained_core.plugin.params import ModelParams


class SimulatedImage(BaseModel):
    """A simulated image: a finite 2-D float array, its pixel size in Å, and what the model
    did (``metadata``: the crop actually used, notices); :meth:`params_used` gives the
    parameters it carries as simulated."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    array: np.ndarray
    pixel_size: float
    metadata: dict[str, Any] = {}

    @field_validator("array")
    @classmethod
    def _two_d_finite(cls, a: np.ndarray) -> np.ndarray:
        if np.iscomplexobj(a):  # checked before the cast, which would drop the imaginary part with a warning
            raise ValueError("a simulated image must be real, got a complex array (give its intensity, "
                             "e.g. np.abs(wave) ** 2, or its real part explicitly)")
        a = np.asarray(a, dtype=float)
        if a.ndim != 2 or min(a.shape) < 1:
            raise ValueError(f"a simulated image must be a non-empty 2-D array, got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError("a simulated image must be finite (no NaN or inf)")
        return a

    @field_validator("pixel_size")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not v > 0:
            raise ValueError(f"pixel_size must be > 0 Å, got {v}")
        return float(v)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.array.shape)  # type: ignore[return-value]

    def params_used(self, params: ModelParams | dict[str, Any]) -> dict[str, Any]:
        """The parameter values this image was simulated with: ``params`` (the ones asked
        for) with the crop the model reports in ``metadata["crop_height"]`` and
        ``["crop_width"]`` (a model that cannot fill a crop simulates a smaller one;
        docs/plugin-contract.md, "Parameter names"). ``progress.csv`` logs these values."""
        used = params.model_dump() if isinstance(params, BaseModel) else dict(params)
        for key in ("crop_height", "crop_width"):
            if key in self.metadata:
                used[key] = int(self.metadata[key])
        return used


@runtime_checkable
class ForwardModel(Protocol):
    """Simulates an image from its input and a ``Params`` instance.

    Implementations are constructed once per run with their input (a pymatgen
    ``Structure`` when ``input_kind == "structure"``, a file path when ``"file"``) and
    keyword options; all parameter-independent set-up happens there, not per call.
    """

    name: ClassVar[str]
    Params: ClassVar[type[ModelParams]]
    input_kind: ClassVar[str]

    def simulate(self, params: ModelParams) -> SimulatedImage:
        """The simulated image for ``params`` (crop sizes as actually used in metadata)."""
        ...

    def structure_at(self, params: ModelParams) -> Any | None:
        """The structure as simulated at ``params`` (pymatgen Structure), or None."""
        ...


@dataclass
class BuildResult:
    """What a structure builder returns: the structure and a report (e.g. strain per grain)."""

    structure: Any  # pymatgen.core.Structure; not imported here to keep the core light
    report: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class StructureBuilder(Protocol):
    """Builds a pymatgen ``Structure`` from a pydantic config."""

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]]

    def build(self, config: BaseModel) -> BuildResult:
        ...


@runtime_checkable
class Similarity(Protocol):
    """A distance between a simulated image and an experimental patch of the same shape.

    Returns a float >= 0; 0 means identical. ``1 - SSIM`` lies in [0, 2].
    """

    name: ClassVar[str]

    def distance(self, simulation: np.ndarray, patch: np.ndarray) -> float:
        ...


@dataclass
class OptimizeOutcome:
    """What an optimizer returns: the best unit-box point, its value and why it stopped."""

    x: np.ndarray
    fun: float
    evaluations: int
    message: str = ""


Objective = Callable[[np.ndarray], float]


@runtime_checkable
class Optimizer(Protocol):
    """Minimises ``objective`` over the unit box [0, 1]^n starting at ``x0``.

    The objective itself enforces budgets (it raises ``StopOptimization``); the optimizer
    only needs to call it. Options are method-specific and validated by ``Options``.
    """

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    def minimize(self, objective: Objective, x0: np.ndarray, options: BaseModel) -> OptimizeOutcome:
        ...
