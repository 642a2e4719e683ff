"""TIFF images read with tifffile, calibrated from FEI, ImageJ or DigitalMicrograph metadata.

Calibration sources, in order: FEI/Thermo ``[Scan] PixelWidth`` (metres); ImageJ's
``unit=`` in the image description with the X/YResolution tags (pixels per unit);
DigitalMicrograph's private tags 65009/65010 (scale) with 65003/65004 (units). Plain
``ResolutionUnit`` inch/centimetre tags are print resolutions and are ignored unless the
option ``use_resolution_tags`` is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.plugin.reader import ImageReader, angstrom_per, finish, pixel_size_from_scales
from ingrained_core.plugin.image import ExperimentImage


def _ratio(value: Any) -> float | None:
    try:
        num, den = value
        return float(num) / float(den) if float(den) else None
    except (TypeError, ValueError):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None


def _imagej_unit(unit: Any) -> str:
    """ImageJ writes non-ASCII units escaped (``\\u00B5m``, ``\\u00C5``)."""
    u = str(unit)
    if "\\u" in u:
        try:
            u = u.encode("latin-1", errors="ignore").decode("unicode_escape")
        except UnicodeDecodeError:
            pass
    return u


def _calibration(tif: Any, page: Any, notices: list[str], use_resolution_tags: bool) -> tuple[float | None, str]:
    """(pixel size in Å or None, the source of the calibration)."""
    tags = {tag.code: tag.value for tag in page.tags.values()}
    fei = getattr(tif, "fei_metadata", None)
    if fei:
        scan = fei.get("Scan") or fei.get("EScan") or {}
        pw, ph = scan.get("PixelWidth"), scan.get("PixelHeight", scan.get("PixelWidth"))
        if pw:
            return pixel_size_from_scales([(ph, "m"), (pw, "m")], notices, "FEI calibration"), "FEI PixelWidth"
    ij = getattr(tif, "imagej_metadata", None)
    if ij and ij.get("unit") not in (None, "", "pixel", "pixels"):
        unit = _imagej_unit(ij["unit"])
        xres, yres = _ratio(tags.get(282)), _ratio(tags.get(283))
        if xres and yres and angstrom_per(unit) is not None:
            return pixel_size_from_scales([(1 / yres, unit), (1 / xres, unit)], notices, "ImageJ calibration"), \
                "ImageJ unit + resolution"
        notices.append(f"ImageJ unit {unit!r} is not a length or has no resolution tags; pixel size unknown")
        return None, "none"
    if 65009 in tags or 65003 in tags:
        sy, sx = tags.get(65009), tags.get(65010, tags.get(65009))
        uy, ux = tags.get(65003), tags.get(65004, tags.get(65003))
        if uy is not None and angstrom_per(uy) is not None and sy:
            return pixel_size_from_scales([(sy, uy), (sx, ux)], notices, "DigitalMicrograph calibration"), \
                "DigitalMicrograph tags 65009/65003"
        notices.append("DigitalMicrograph TIFF without a length unit (uncalibrated export); pixel size unknown")
        return None, "none"
    unit_code = int(tags.get(296, 1) or 1)
    if unit_code in (2, 3) and 282 in tags:
        per = {2: "inch", 3: "cm"}[unit_code]
        if use_resolution_tags:
            xres, yres = _ratio(tags.get(282)), _ratio(tags.get(283, tags.get(282)))
            factor = {2: 2.54e8, 3: 1e8}[unit_code]  # Å per inch / per cm
            if xres and yres:
                return pixel_size_from_scales([(factor / yres, "A"), (factor / xres, "A")], notices,
                                              "resolution tags"), f"ResolutionUnit {per}"
        notices.append(
            f"TIFF resolution tags (pixels per {per}) are a print resolution, not a calibration; pixel size "
            "unknown (set reader option use_resolution_tags = true to use them)"
        )
        return None, "none"
    notices.append("no calibration in the TIFF; pixel size unknown unless experiment.pixel_size is set")
    return None, "none"


class TiffReader(ImageReader):
    """A TIFF image or stack (``frame``); RGB with equal channels becomes greyscale."""

    name = "tiff"
    description = "TIFF (ImageJ/FEI/DM calibration where present)"
    extensions = (".tif", ".tiff")
    options = ("frame", "channel", "use_resolution_tags")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

    def read(self, path: Path, *, frame: Any = None, channel: Any = None,
             use_resolution_tags: bool = False) -> ExperimentImage:
        """Read the first series of the TIFF and its calibration."""
        import tifffile

        notices: list[str] = []
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            page = series.pages[0] if series.pages else tif.pages[0]
            arr = series.asarray()
            rgb = int(page.photometric) == int(tifffile.PHOTOMETRIC.RGB)
            pixel, source = _calibration(tif, page, notices, bool(use_resolution_tags))
            meta = {
                "format": "TIFF",
                "calibration": source,
                "series_axes": series.axes,
                "shape": list(arr.shape),
                "dtype": str(arr.dtype),
                "photometric": str(page.photometric.name) if hasattr(page.photometric, "name") else page.photometric,
                "tags": {tag.name: tag.value for tag in page.tags.values()
                         if tag.code not in (273, 279, 324, 325)},  # strip/tile offsets are noise
            }
            if tif.imagej_metadata:
                meta["imagej"] = tif.imagej_metadata
            if getattr(tif, "fei_metadata", None):
                meta["fei"] = tif.fei_metadata
        return finish(path, arr, pixel_size=pixel, metadata=meta, notices=notices, frame=frame,
                      channel=channel, rgb_last_axis=rgb)
