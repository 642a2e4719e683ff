"""Parameters shared by every HAADF STEM forward model (convolution and multislice alike).

Names and meanings follow docs/plugin-contract.md ("Parameter names"). The paper's nine image-side
parameters are optimised by default; the optics are fixed by default and can be freed.
Defaults are those of the published runs (200 kV, 30 mrad, detector 100-150 mrad).
"""

from __future__ import annotations

from ingrained_core.plugin import ModelParams, param_field


class ImageSideParams(ModelParams):
    """The image-side parameters (the paper's nine), common to all HAADF models."""

    pixel_size: float = param_field(0.2, ge=0.02, le=1.0, unit="Å", description="pixel size of the simulated image")
    interface_width: float = param_field(
        0.0, ge=-3.0, le=3.0, unit="Å", description="extra gap between the lower and upper grain"
    )
    interface_shift: float = param_field(
        0.0, ge=-50.0, le=50.0, unit="Å", free=False,
        description="rigid shift of the upper grain along the image width (modulo the interface period)",
    )
    cell_shift: float = param_field(
        0.0, ge=-200.0, le=200.0, unit="Å", free=False,
        description="rigid shift of the whole structure up the image, modulo the cell height (where the "
        "crop, centred on the cell centre, sits in the structure)",
    )
    source_size: float = param_field(
        1.0, ge=0.0, le=4.0, unit="Å",
        description="FWHM of the Gaussian source-size blur (the published runs called it 'defocus')",
    )
    shear_x: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="horizontal shear (fraction)")
    shear_y: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="vertical shear (fraction)")
    stretch_x: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="horizontal stretch (fraction)")
    stretch_y: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="vertical stretch (fraction)")
    crop_height: int = param_field(
        201, ge=35, le=4001, unit="px", kind="odd_int", description="rows of the simulated image (odd)"
    )
    crop_width: int = param_field(
        167, ge=35, le=4001, unit="px", kind="odd_int", description="columns of the simulated image (odd)"
    )


class HaadfParams(ImageSideParams):
    """Image-side parameters plus the probe optics (fixed unless a run frees them)."""

    energy: float = param_field(200.0, ge=20.0, le=1000.0, unit="keV", description="beam energy", free=False)
    aperture: float = param_field(
        30.0, ge=1.0, le=100.0, unit="mrad", description="probe-forming aperture semi-angle", free=False
    )
    detector_inner: float = param_field(
        100.0, ge=0.0, le=500.0, unit="mrad", description="ADF detector inner angle", free=False
    )
    detector_outer: float = param_field(
        150.0, ge=1.0, le=1000.0, unit="mrad", description="ADF detector outer angle", free=False
    )
    defocus: float = param_field(
        0.0,
        ge=-2000.0,
        le=2000.0,
        unit="Å",
        description="probe defocus, the real one (Kirkland and abTEM convention: positive = underfocus)",
        free=False,
    )
    cs3: float = param_field(0.0, ge=-10.0, le=10.0, unit="mm", description="third-order spherical aberration", free=False)
    cs5: float = param_field(0.0, ge=-100.0, le=100.0, unit="mm", description="fifth-order spherical aberration", free=False)
    defocus_spread: float = param_field(
        0.0,
        ge=0.0,
        le=500.0,
        unit="Å",
        description="defocus spread from chromatic aberration (1/e half-width of the Gaussian defocus distribution)",
        free=False,
    )
