"""The public API of ingrained-stem, for other plugins that build on its HAADF image side.

Other distributions (the abTEM multislice plugin) import these names from here and from
nowhere else in ``ingrained_stem``; everything not named here may change between releases.

- :class:`HaadfConvolution`, :class:`HaadfOptions`, :class:`HaadfParams`,
  :class:`ImageSideParams`: the model, its options and its parameters (a multislice model shares them);
- :func:`fit_crop`, :func:`distort_to_crop`, :func:`source_band`: the image side (the crop
  the content can fill, the distortion onto the crop, the source-size band limit);
- :func:`wavelength`: the relativistic electron wavelength (Å) at a beam energy (keV).
"""

from __future__ import annotations

from .electron import wavelength
from .image_side import distort_to_crop, fit_crop, source_band
from .model import HaadfConvolution
from .options import HaadfOptions
from .params import HaadfParams, ImageSideParams

__all__ = [
    "HaadfConvolution",
    "HaadfOptions",
    "HaadfParams",
    "ImageSideParams",
    "distort_to_crop",
    "fit_crop",
    "source_band",
    "wavelength",
]
