"""The STM forward model's parameters (names fixed by docs/plugin-contract.md, "Parameter names").

Defaults are the published Cu2O(111) start point where that is generic (z window 1 Å /
1 Å, r_val 0.016, r_tol 0.015, no shear/stretch, pixel 0.27 Å, no blur, crop 101 x 101);
rotation starts at 0. ``r_val``/``r_tol`` are in the density units of the input
(ρ per Å³, i.e. e/Å³ for VASP files and for cube files read with the default
``cube_units="bohr"``); their declared bounds are deliberately wide because those units
depend on the density, so a run should narrow them with
:func:`ingrained_stm.synthetic.suggest_r_val` (the model checks r_val against the
density's actual range when it simulates).
"""

from __future__ import annotations

from ingrained_core.plugin import ModelParams, param_field


class StmParams(ModelParams):
    """Tersoff–Hamann STM parameters: z window, iso-density, image geometry, blur, crop, tip."""

    z_below: float = param_field(
        1.0, ge=0.0, le=10.0, unit="Å",
        description="depth below the top atom from which density is visible to the tip (window bottom)",
    )
    z_above: float = param_field(
        1.0, ge=0.0, le=10.0, unit="Å",
        description="height above the top atom up to which the tip may sit (window top); "
        "in constant-height mode the height of the plane",
    )
    r_val: float = param_field(
        0.016, ge=0.0, le=1.0e3, unit="density units of the input (ρ per Å³)",
        description="iso-density value followed by the tip (constant current)",
    )
    r_tol: float = param_field(
        0.015, ge=0.0, le=1.0e3, unit="density units of the input (ρ per Å³)", free=False,
        description="half-width of the accepted density band r_val ± r_tol (crossing='band' only; "
        "free it when fitting in band mode)",
    )
    shear_x: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="horizontal shear (fraction)")
    shear_y: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="vertical shear (fraction)")
    stretch_x: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="horizontal stretch (fraction)")
    stretch_y: float = param_field(0.0, ge=-0.5, le=0.5, unit="", description="vertical stretch (fraction)")
    rotation: float = param_field(
        0.0, ge=0.0, le=360.0, unit="deg",
        description="counter-clockwise rotation of the surface on screen (0: first lattice vector points right)",
    )
    pixel_size: float = param_field(0.27, ge=0.02, le=1.0, unit="Å", description="pixel size of the simulated image")
    sigma: float = param_field(0.0, ge=0.0, le=10.0, unit="px", description="Gaussian blur standard deviation")
    crop_height: int = param_field(
        101, ge=15, le=2001, unit="px", kind="odd_int", description="rows of the simulated image (odd)"
    )
    crop_width: int = param_field(
        101, ge=15, le=2001, unit="px", kind="odd_int", description="columns of the simulated image (odd)"
    )
    tip_radius: float = param_field(
        0.0, ge=0.0, le=20.0, unit="Å", free=False,
        description="radius of a spherical tip apex (grey-scale dilation of the height map); 0 = off",
    )
