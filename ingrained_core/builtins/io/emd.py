"""EMD (HDF5) images: Berkeley EMD read with ncempy, Thermo Fisher Velox EMD with rosettasciio.

The variant is recognised from the HDF5 layout: Berkeley EMD files carry ``version_major``
on the root and groups with ``emd_group_type = 1`` (a ``data`` set plus ``dim1``, ``dim2``
... vectors whose spacing and ``units`` give the calibration); Velox files carry a
``Data/Image`` group and a ``Version`` data set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingrained_core.plugin.reader import ImageReader, finish, pixel_size_from_scales
from ingrained_core.plugin.image import ExperimentImage

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _variant(path: Path) -> str:
    import h5py

    with h5py.File(path, "r") as f:
        if "version_major" in f.attrs:
            return "berkeley"
        if "Data" in f and "Version" in f:
            return "velox"
        found: list[str] = []

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Group) and obj.attrs.get("emd_group_type", None) == 1:
                found.append(name)

        f.visititems(visit)
        return "berkeley" if found else "unknown"


def _spacing(vector: Any) -> float | None:
    import numpy as np

    v = np.asarray(vector, dtype=float).ravel()
    return float(v[1] - v[0]) if v.size >= 2 else None


class EmdReader(ImageReader):
    """An image (``dataset`` index, ``frame`` of a stack) of a Berkeley or Velox EMD file."""

    name = "emd"
    description = "EMD (Velox and Berkeley)"
    extensions = (".emd", ".h5", ".hdf5")
    options = ("frame", "dataset")

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return head.startswith(HDF5_MAGIC)

    def read(self, path: Path, *, frame: Any = None, dataset: int = 0) -> ExperimentImage:
        """Read image ``dataset`` (default the first) of the file."""
        from ingrained_core.plugin.errors import InputFileError

        variant = _variant(path)
        if variant == "berkeley":
            return self._read_berkeley(path, frame, int(dataset))
        if variant == "velox":
            return self._read_velox(path, frame, int(dataset))
        raise InputFileError(
            f"{path}: an HDF5 file that is neither a Berkeley EMD (emd_group_type groups) nor a Velox EMD "
            "(Data/Image groups)"
        )

    def _read_berkeley(self, path: Path, frame: Any, dataset: int) -> ExperimentImage:
        from ingrained_core.plugin.errors import InputFileError, PluginError

        try:
            from ncempy.io.emd import fileEMD
        except ImportError:
            raise PluginError(f"{path}: reading a Berkeley EMD file needs ncempy: pip install 'ingrained[emd]' "
                              "(or pip install ncempy)") from None

        with fileEMD(path, readonly=True) as f:
            groups = list(f.list_emds)
            if not groups:
                raise InputFileError(f"{path}: the Berkeley EMD file holds no data group")
            if not 0 <= dataset < len(groups):
                raise InputFileError(f"{path}: dataset must be 0..{len(groups) - 1}, got {dataset}")
            group = groups[dataset]
            data, dims = f.get_emdgroup(group)
            name = group.name
            attrs = {k: group.attrs[k] for k in group.attrs}
        notices: list[str] = []
        if len(groups) > 1:
            notices.append(f"data group {name} ({dataset} of {len(groups)})")
        pixel = None
        if len(dims) >= 2:
            (vy, _, uy), (vx, _, ux) = dims[-2], dims[-1]
            pixel = pixel_size_from_scales([(_spacing(vy), uy), (_spacing(vx), ux)], notices, "EMD dim vectors")
        meta = {
            "format": "Berkeley EMD",
            "group": name,
            "group_attrs": attrs,
            "dims": [{"name": n, "units": u, "size": len(v)} for v, n, u in dims],
        }
        return finish(path, data, pixel_size=pixel, metadata=meta, notices=notices, frame=frame)

    def _read_velox(self, path: Path, frame: Any, dataset: int) -> ExperimentImage:
        from rsciio.emd import file_reader

        from ingrained_core.plugin.errors import InputFileError

        signals = file_reader(str(path), select_type="image")
        if not signals:
            raise InputFileError(f"{path}: the Velox EMD file holds no image")
        if not 0 <= dataset < len(signals):
            raise InputFileError(f"{path}: dataset must be 0..{len(signals) - 1}, got {dataset}")
        sig = signals[dataset]
        notices: list[str] = []
        if len(signals) > 1:
            title = sig.get("metadata", {}).get("General", {}).get("title", "")
            notices.append(f"image {dataset} ({title}) of {len(signals)} in the file")
        spatial = [ax for ax in sig["axes"] if not ax.get("navigate", False)]
        scales = [(ax.get("scale"), ax.get("units")) for ax in spatial[-2:]]
        pixel = pixel_size_from_scales(scales, notices, "Velox calibration") if len(scales) == 2 else None
        meta = {"format": "Velox EMD", "axes": sig["axes"], "metadata": sig.get("metadata", {}),
                "original_metadata": sig.get("original_metadata", {})}
        return finish(path, sig["data"], pixel_size=pixel, metadata=meta, notices=notices, frame=frame)
