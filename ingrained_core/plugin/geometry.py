"""``ImageGeometry``: the parameters whose names and meanings the core relies on.

docs/plugin-contract.md ("Parameter names") is the contract; this class is it in code. A
forward model's ``Params`` may subclass :class:`ImageGeometry` (and re-declare a field to
narrow its bounds or change its default), or declare the same names itself — the core
reads them by name, never by class:

- ``pixel_size`` (Å): edge of one pixel of the simulated image. The registration compares
  the simulation with the experiment pixel for pixel, so a fit's ``pixel_size`` is the
  experiment's calibration; ``SimulatedImage.pixel_size`` must equal it.
- ``crop_height``, ``crop_width`` (px, odd integers): the simulated image's rows and
  columns. The engine caps their upper bounds at the experiment's size, and a model whose
  content cannot fill a crop reports the crop it used in ``SimulatedImage.metadata``
  (keys ``crop_height``/``crop_width``).
- ``shear_x``, ``shear_y``, ``stretch_x``, ``stretch_y`` (fractions): the centred affine
  distortion of the image (:class:`~ingrained_core.plugin.distortion.Distortion`),
  ``M = S · H`` with H = [[1, shear_x], [shear_y, 1]] and S = diag(1 + stretch_x,
  1 + stretch_y); 0 everywhere means undistorted.

The order of a parameter set's fields is the order of the optimizer's coordinates, so a
model that must keep an existing order declares the names itself instead of subclassing.
"""

from __future__ import annotations

from ingrained_core.plugin.params import ModelParams, param_field

#: parameter name -> unit, for every name in the contract
GEOMETRY_PARAMETERS: dict[str, str] = {
    "pixel_size": "Å",
    "crop_height": "px",
    "crop_width": "px",
    "shear_x": "",
    "shear_y": "",
    "stretch_x": "",
    "stretch_y": "",
}


class ImageGeometry(ModelParams):
    """Pixel size, crop and the affine distortion: the image side every model shares."""

    pixel_size: float = param_field(0.2, ge=0.01, le=5.0, unit="Å", description="pixel size of the simulated image")
    crop_height: int = param_field(
        101, ge=15, le=4001, unit="px", kind="odd_int", description="rows of the simulated image (odd)"
    )
    crop_width: int = param_field(
        101, ge=15, le=4001, unit="px", kind="odd_int", description="columns of the simulated image (odd)"
    )
    shear_x: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="horizontal shear (fraction)")
    shear_y: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="vertical shear (fraction)")
    stretch_x: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="horizontal stretch (fraction)")
    stretch_y: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="vertical stretch (fraction)")


def geometry_problems(params_cls: type[ModelParams]) -> list[str]:
    """What a ``Params`` class declares differently from the contract (wrong unit or kind)."""
    problems = []
    described = params_cls.describe()
    for name, unit in GEOMETRY_PARAMETERS.items():
        d = described.get(name)
        if d is None:
            continue
        if d["unit"] != unit:
            problems.append(f"{name} is in {d['unit']!r}, the contract says {unit!r}")
        if name.startswith("crop_") and d["kind"] != "odd_int":
            problems.append(f"{name} must be declared with kind='odd_int'")
    return problems
