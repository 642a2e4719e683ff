"""The core's own contributions, registered through the same hooks as any plugin.

The core's ``pyproject.toml`` names this module as the ``builtins`` entry point of the
``ingrained`` group; nothing here imports an implementation (targets are strings).
"""

from __future__ import annotations

from ingrained_core.plugin.contribution import Contribution
from ingrained_core.plugin.hookspecs import hookimpl


@hookimpl
def ingrained_similarities() -> list[Contribution]:
    return [
        Contribution(
            "ssim",
            "ingrained_core.builtins.similarity:PaperSSIM",
            "1 - SSIM on 8-bit images with a 35-pixel window (the published runs' FOM; default)",
        ),
        Contribution(
            "ssim-float7",
            "ingrained_core.builtins.similarity:FloatSSIM7",
            "1 - SSIM on float images rescaled to [0, 1] with a 7-pixel window",
        ),
    ]


@hookimpl
def ingrained_optimizers() -> list[Contribution]:
    return [
        Contribution("powell", "ingrained_core.builtins.optimizers:Powell", "scipy Powell (the paper's default)"),
        Contribution("nelder-mead", "ingrained_core.builtins.optimizers:NelderMead", "scipy Nelder-Mead simplex"),
        Contribution("cobyla", "ingrained_core.builtins.optimizers:Cobyla", "scipy COBYLA"),
        Contribution(
            "scan-powell",
            "ingrained_core.builtins.optimizers:ScanPowell",
            "global-then-local: coarse coordinate scans, then Powell",
        ),
    ]


@hookimpl
def ingrained_structure_builders() -> list[Contribution]:
    return [
        Contribution(
            "file",
            "ingrained_core.builtins.structures.file:FileStructureBuilder",
            "a structure file (CIF, POSCAR/CONTCAR, XYZ with cell, anything pymatgen or ASE reads)",
        ),
        Contribution(
            "library",
            "ingrained_core.builtins.structures.library:LibraryStructureBuilder",
            "a bundled bulk cell of the paper's materials (CdTe, Si, Ni, Mo3B2, Cu2O, Al, Al2O3)",
        ),
        Contribution(
            "materials-project",
            "ingrained_core.builtins.structures.materials_project:MaterialsProjectBuilder",
            "a bulk cell from the Materials Project (formula + space group; needs MP_API_KEY)",
            requires=("mp_api",),
            install_hint="pip install 'ingrained[mp]'",
        ),
        Contribution(
            "oriented",
            "ingrained_core.builtins.structures.oriented:OrientedCrystalBuilder",
            "an orthogonal periodic slab of one crystal viewed along a zone axis",
        ),
        Contribution(
            "bicrystal",
            "ingrained_core.builtins.structures.bicrystal:BicrystalBuilder",
            "two oriented grains stacked into a periodic bicrystal (the paper's interface mode)",
        ),
    ]


@hookimpl
def ingrained_image_readers() -> list[Contribution]:
    readers = [
        ("dm", "Gatan DigitalMicrograph DM3/DM4", "ingrained_core.builtins.io.dm:DMReader"),
        ("tiff", "TIFF (ImageJ/FEI/DM calibration where present)", "ingrained_core.builtins.io.tiff:TiffReader"),
        ("mrc", "MRC", "ingrained_core.builtins.io.mrc:MrcReader"),
        ("emd", "EMD (Velox and Berkeley)", "ingrained_core.builtins.io.emd:EmdReader"),
        ("ser", "TIA SER/EMI", "ingrained_core.builtins.io.ser:SerReader"),
        ("sxm", "Nanonis SXM", "ingrained_core.builtins.io.sxm:SxmReader"),
        ("raster", "PNG/JPEG/BMP (no calibration)", "ingrained_core.builtins.io.raster:RasterReader"),
        ("npy", "NumPy .npy (no pickles)", "ingrained_core.builtins.io.npy:NpyReader"),
        ("stm-text", "plain-text STM z-plane export (# header, tab-separated rows)", "ingrained_core.builtins.io.stm_text:StmTextReader"),
    ]
    return [Contribution(name, target, description) for name, description, target in readers]
