"""What a finished run directory gets for its user: the talk figure, calibrated files, a report.

:func:`finish_run` works from the files of a finished run directory (``best.json``,
``simulation.npy``, ``experiment.npy``, ``config.toml``, the structure files,
``progress.csv``); a start of a multi-start run (``starts/NN``) takes the experiment and
the config of its parent run directory. It writes

- ``fused.png`` (300 dpi), ``fused.svg``, ``fused.pdf``: the talk figure (:mod:`.figures`);
- ``experiment.tif``, ``experiment_patch.tif``, ``simulation.tif``, ``fused.tif``:
  ImageJ-calibrated float32 TIFFs (``resolution`` in pixels per nm, ``unit`` nm) and
  ``results.hspy`` (rosettasciio): the experiment patch and the simulation as a stack whose
  signal axes are calibrated in Å; the scale is the fitted pixel size;
- ``calibration.json``: the experiment file's own calibration beside the fitted one;
- ``structure.xyz``: the structure as simulated, extended XYZ with each atom's grain label;
- a ``units`` table in ``best.json``;
- ``report.html`` in a top-level run directory (:mod:`.report`).

Why from files: the same function serves the end of a run and ``ingrained report`` on an
old run, and an output that cannot be written (disk full, read-only) never touches the
run's results: each output is written atomically, a failure is reported naming the file,
and the others are still written.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ingrained_core.plugin import files as atomic
from ingrained_core.plugin.errors import IngrainedError, RunDirectoryError

#: Units of the run-level quantities of best.json (the parameters' come from the model).
RECORD_UNITS = {
    "fom": "", "d_trans": "px", "d_sim": "", "alpha": "1/px", "beta": "", "pixel_size": "Å",
    "patch": "px", "experiment_shape": "px", "elapsed_s": "s", "evaluations": "", "evaluation": "",
}
REQUIRED_BEST_KEYS = ("fom", "d_trans", "d_sim", "params", "patch")


class OutputError(IngrainedError):
    """An output of a run (figure, report, calibrated file) could not be written."""


@dataclass
class RunFiles:
    """The files of one run directory (or one start of it), read and checked."""

    run_dir: Path
    best: dict[str, Any]
    experiment: np.ndarray
    simulation: np.ndarray
    config_path: Path
    config_data: dict[str, Any]
    is_start: bool = False

    @property
    def patch(self) -> np.ndarray:
        p = self.best["patch"]
        return self.experiment[p["row"] : p["row"] + p["height"], p["col"] : p["col"] + p["width"]]

    @property
    def pixel_size(self) -> float | None:
        v = self.best.get("pixel_size") or self.best.get("params", {}).get("pixel_size")
        return float(v) if v else None

    @property
    def name(self) -> str:
        """The run's title: the config's ``name``, else its file name, else the directory's."""
        prov = self.config_data.get("provenance", {}) or {}
        if self.config_data.get("name"):
            return str(self.config_data["name"])
        if prov.get("config_file"):
            return Path(prov["config_file"]).name
        return self.run_dir.name


def _parent_run(run_dir: Path) -> Path | None:
    return run_dir.parent.parent if run_dir.parent.name == "starts" else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirectoryError(f"{path.parent} is not a finished ingrained run: {path.name} is missing") from None
    except ValueError as exc:
        raise RunDirectoryError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RunDirectoryError(f"{path}: expected a JSON object")
    return data


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise RunDirectoryError(f"{path.parent} is incomplete: {path.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise RunDirectoryError(f"{path}: not a readable NumPy array ({exc})") from None


def load_run_files(run_dir: str | Path) -> RunFiles:
    """Read a finished run directory; one clear error names a missing or foreign file."""
    from ingrained_core.engine.config import read_config_file

    run_dir = Path(run_dir).resolve()
    if not run_dir.is_dir():
        raise RunDirectoryError(f"run directory {run_dir} does not exist")
    parent = _parent_run(run_dir)
    cfg_path = run_dir / "config.toml"
    if not cfg_path.exists() and parent is not None:
        cfg_path = parent / "config.toml"
    if not cfg_path.exists():
        raise RunDirectoryError(f"{run_dir} is not an ingrained run directory: config.toml is missing")
    config_data = read_config_file(cfg_path)
    best = _read_json(run_dir / "best.json")
    missing = [k for k in REQUIRED_BEST_KEYS if k not in best]
    if missing:
        written = (config_data.get("provenance", {}) or {}).get("versions", {}).get("ingrained", "an unknown version")
        raise RunDirectoryError(
            f"{run_dir / 'best.json'} lacks {', '.join(missing)}: written by ingrained {written}, "
            "not a run this version can read")
    exp_path = run_dir / "experiment.npy"
    if not exp_path.exists() and parent is not None:
        exp_path = parent / "experiment.npy"
    experiment = _read_npy(exp_path)
    simulation = _read_npy(run_dir / "simulation.npy")
    p = best["patch"]
    if (simulation.shape != (p["height"], p["width"]) or p["row"] + p["height"] > experiment.shape[0]
            or p["col"] + p["width"] > experiment.shape[1]):
        raise RunDirectoryError(
            f"{run_dir}: simulation.npy ({simulation.shape[0]} x {simulation.shape[1]}) does not match the patch "
            f"in best.json ({p['height']} x {p['width']} at row {p['row']}, col {p['col']}) inside experiment.npy "
            f"({experiment.shape[0]} x {experiment.shape[1]})")
    return RunFiles(run_dir, best, experiment, simulation, cfg_path, config_data, parent is not None)


# -- units, bounds ---------------------------------------------------------------------------
def model_description(config_data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The forward model's parameter description (unit, bounds, ...) or {} if it is not installed."""
    from ingrained_core.engine.registry import get_registry

    name = (config_data.get("forward_model") or {}).get("name")
    try:
        return get_registry().get("forward_model", name).Params.describe()
    except (IngrainedError, AttributeError, TypeError):
        return {}


def units_table(described: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """best.json's ``units``: the run-level quantities and every model parameter."""
    return {**RECORD_UNITS, "params": {n: d.get("unit", "") for n, d in described.items()}}


def free_parameters(files: RunFiles, described: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The free parameters with their bounds, as the run's config resolved them."""
    specs = (files.config_data.get("forward_model") or {}).get("params") or {}
    shape = files.best.get("experiment_shape") or list(files.experiment.shape)
    out = []
    for name, d in described.items():
        spec = specs.get(name, {})
        if not isinstance(spec, dict):
            spec = {"start": spec, "fixed": True}
        fixed = spec.get("fixed")
        free = d.get("free", True) if fixed is None else not fixed
        lo = spec.get("min", d.get("min"))
        hi = spec.get("max", d.get("max"))
        if name in ("crop_height", "crop_width") and "max" not in spec:
            limit = shape[0] if name == "crop_height" else shape[1]
            hi = min(hi, limit if limit % 2 else limit - 1)
        if free and lo is not None and hi is not None and hi > lo:
            out.append({"name": name, "min": float(lo), "max": float(hi), "unit": d.get("unit", ""),
                        "start": spec.get("start", d.get("default"))})
    return out


def bounds_reached(best: dict[str, Any], free: list[dict[str, Any]], tolerance: float = 1e-3) -> dict[str, str]:
    """Free parameters whose fitted value lies within ``tolerance`` of its range from a bound."""
    out = {}
    for p in free:
        v = best["params"].get(p["name"])
        if v is None:
            continue
        span = p["max"] - p["min"]
        tol = max(tolerance * span, 1.0 if p["name"].startswith("crop_") else 0.0)
        if v - p["min"] <= tol:
            out[p["name"]] = "lower"
        elif p["max"] - v <= tol:
            out[p["name"]] = "upper"
    return out


# -- calibrated files --------------------------------------------------------------------------
def write_imagej_tiff(path: Path, image: np.ndarray, pixel_size_a: float | None, label: str = "") -> None:
    """A float32 ImageJ TIFF calibrated in nm (``resolution`` = pixels per nm), written atomically."""
    import tifffile

    data = np.ascontiguousarray(image, dtype=np.float32)
    kwargs: dict[str, Any] = {"imagej": True, "metadata": {"axes": "YX", "Labels": [label] if label else None}}
    if pixel_size_a:
        per_nm = 10.0 / float(pixel_size_a)
        kwargs["resolution"] = (per_nm, per_nm)
        kwargs["metadata"]["unit"] = "nm"
    if kwargs["metadata"]["Labels"] is None:
        del kwargs["metadata"]["Labels"]
    buf = io.BytesIO()
    tifffile.imwrite(buf, data, **kwargs)
    atomic.write_bytes(path, buf.getvalue())


def write_hspy(path: Path, images: list[np.ndarray], names: list[str], pixel_size_a: float | None,
               title: str, original_metadata: dict[str, Any]) -> None:
    """A stack of same-shape images as one ``.hspy`` (rosettasciio), signal axes in Å."""
    from rsciio.hspy import file_writer

    from ingrained_core import __version__

    data = np.stack([np.asarray(a, dtype=np.float32) for a in images])
    scale = float(pixel_size_a) if pixel_size_a else 1.0
    units = "Å" if pixel_size_a else "px"
    signal = {
        "data": data,
        "axes": [
            {"name": "image", "size": data.shape[0], "navigate": True, "scale": 1.0, "offset": 0.0, "units": ""},
            {"name": "y", "size": data.shape[1], "navigate": False, "scale": scale, "offset": 0.0, "units": units},
            {"name": "x", "size": data.shape[2], "navigate": False, "scale": scale, "offset": 0.0, "units": units},
        ],
        "metadata": {"General": {"title": title}, "Signal": {"signal_type": ""},
                     "ingrained": {"images": list(names)}},
        "original_metadata": original_metadata,
        "tmp_parameters": {},
        "attributes": {"_lazy": False},
        "learning_results": {},
        "models": {},
        "package_info": {"package": "ingrained", "package_version": __version__},
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".hspy", dir=path.parent)
    os.close(fd)
    try:
        file_writer(tmp, signal)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def experiment_calibration(files: RunFiles, problem: Any = None) -> dict[str, Any]:
    """The experiment file's own calibration (as read and as preprocessed) beside the fitted one."""
    out: dict[str, Any] = {"fitted_pixel_size": files.pixel_size, "unit": "Å"}
    image = getattr(problem, "experiment", None)
    if image is None:
        try:
            from ingrained_core.engine.experiment import ExperimentConfig, prepare_experiment

            table = files.config_data.get("experiment") or {}
            cfg = ExperimentConfig.model_validate(table, context={"base_dir": files.config_path.parent})
            stages = prepare_experiment(cfg)
            image = stages.final
            out["file_pixel_size_as_read"] = stages.raw.pixel_size
        except Exception as exc:  # noqa: BLE001 - the image may have moved since the run
            out["file_pixel_size"] = None
            out["note"] = f"the experiment file could not be read again: {exc}"
            return out
    out["file_pixel_size"] = image.pixel_size
    out["source"] = str(image.source) if image.source is not None else None
    out["reader"] = image.metadata.get("reader")
    if image.pixel_size and files.pixel_size:
        out["fitted_over_file"] = files.pixel_size / float(image.pixel_size)
    return out


def write_extxyz(path: Path, structure: Any) -> None:
    """The structure as extended XYZ (ase), each atom's ``grain`` label a per-atom column."""
    from ase.io import write as ase_write
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    grains = structure.site_properties.get("grain")
    if grains is not None:
        atoms.arrays["grain"] = np.array([-1 if g is None else int(g) for g in grains], dtype=int)
    for key in list(atoms.arrays):  # ase writes only plain numeric/str per-atom columns
        if atoms.arrays[key].dtype == object:
            del atoms.arrays[key]
    buf = io.StringIO()
    ase_write(buf, atoms, format="extxyz")
    atomic.write_text(path, buf.getvalue())


# -- the whole set ------------------------------------------------------------------------------
@dataclass
class FinishResult:
    """What :func:`finish_run` wrote, and the outputs that failed (file: message)."""

    written: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


#: every file :func:`finish_run` may write (for a run's --force clean-up)
OUTPUT_FILES = (
    "fused.png", "fused.svg", "fused.pdf", "experiment.tif", "experiment_patch.tif", "simulation.tif", "fused.tif",
    "results.hspy", "calibration.json", "structure.xyz", "report.html",
)


def finish_run(run_dir: Path, *, problem: Any = None, reporter: Any = None, report: bool | None = None,
               strict: bool = False, full: bool | None = None) -> FinishResult:
    """Write the figure, calibrated files and report of a finished run directory.

    ``problem`` (optional, the run's :class:`~ingrained_core.engine.problem.Problem`) adds
    what the files alone do not hold: the structure with its grain labels, the interface
    rows and the experiment's calibration without re-reading the file. ``report``: write
    ``report.html`` (default: in a top-level run directory, not in ``starts/NN``).
    ``strict``: raise :class:`OutputError` if an output failed (else each failure is a
    warning through ``reporter``, naming the file, and the run's results stay as they are).
    ``full`` (default: a top-level run directory): every output; otherwise (one start of a
    multi-start run, whose best is copied up and redrawn there) only a 100-dpi ``fused.png``
    and the units, which keeps many starts cheap; ``ingrained report --outputs`` on a start
    writes the rest.
    """
    files = load_run_files(run_dir)
    if full is None:
        full = not files.is_start
    result = FinishResult()
    described = model_description(files.config_data)

    def attempt(name: str, write: Callable[[], Any]) -> None:
        try:
            out = write()
        except Exception as exc:  # noqa: BLE001 - an output never costs the run its results
            msg = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            result.failed[name] = f"could not write {files.run_dir / name}: {msg}"
            if reporter is not None:
                reporter.message(result.failed[name] + " (the run's results are intact)", "warning")
        else:
            for p in out if isinstance(out, list) else [files.run_dir / name]:
                result.written.append(Path(p))

    free = free_parameters(files, described)
    best = dict(files.best)
    changed = False
    if described and best.get("units") != units_table(described):
        best["units"] = units_table(described)
        changed = True
    if changed:
        attempt("best.json", lambda: atomic.write_json(files.run_dir / "best.json", best))
        files.best = best
    at_bound = best.get("at_bound")
    if at_bound is None:
        at_bound = bounds_reached(best, free)

    interface_rows = _interface_rows(problem, best)
    structure = _structure(problem, best)
    units = {n: d.get("unit", "") for n, d in described.items()}

    def figure() -> list[Path]:
        from ingrained_core.apps.figures import FRAME_DPI, run_title, save_fused_png

        title = run_title(best, files.name) + (f", start {int(best['start']):02d}" if files.is_start else "")
        return save_fused_png(files.run_dir / "fused.png", files.experiment, files.simulation, best, title=title,
                              units=units, free=[p["name"] for p in free] or None, at_bound=at_bound,
                              interface_rows=interface_rows,
                              **({} if full else {"formats": ("png",), "dpi": FRAME_DPI}))

    attempt("fused.png", figure)
    if not full:
        if strict and result.failed:
            raise OutputError("; ".join(result.failed.values()) + " (the run's results are intact)")
        return result
    px = files.pixel_size
    from ingrained_core.apps.figures import fused_image, match_intensity

    patch = files.patch
    p = best["patch"]
    tiffs = {
        "experiment.tif": (files.experiment, "experiment"),
        "experiment_patch.tif": (patch, "experiment patch"),
        "simulation.tif": (files.simulation, "simulation"),
        "fused.tif": (fused_image(files.experiment, files.simulation, p["row"], p["col"]), "fused"),
    }
    for name, (img, label) in tiffs.items():
        attempt(name, lambda img=img, name=name, label=label: write_imagej_tiff(files.run_dir / name, img, px, label))
    attempt("results.hspy", lambda: write_hspy(
        files.run_dir / "results.hspy", [patch, match_intensity(files.simulation, patch)],
        ["experiment patch", "simulation (intensity-matched to the patch)"], px, files.name,
        {"best": _jsonable(best)}))
    attempt("calibration.json", lambda: atomic.write_json(files.run_dir / "calibration.json",
                                                          experiment_calibration(files, problem)))
    if structure is not None:
        attempt("structure.xyz", lambda: write_extxyz(files.run_dir / "structure.xyz", structure))
    if report is None:
        report = not files.is_start
    if report:
        def report_page() -> list[Path]:
            from ingrained_core.apps.report import write_report

            return [write_report(files.run_dir)]

        attempt("report.html", report_page)
    if strict and result.failed:
        raise OutputError("; ".join(result.failed.values()) + " (the run's results are intact)")
    return result


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def _interface_rows(problem: Any, best: dict[str, Any]) -> list[float] | None:
    """Rows of the simulated crop where the model puts an interface (optional model hook)."""
    model = getattr(problem, "model", None)
    hook = getattr(model, "interface_rows", None)
    if hook is None:
        return best.get("interface_rows")
    try:
        return [float(r) for r in hook(model.Params(**best["params"]))]
    except Exception:  # noqa: BLE001 - a marker is decoration, never a failure of the run
        return None


def _structure(problem: Any, best: dict[str, Any]) -> Any:
    model = getattr(problem, "model", None)
    structure_at = getattr(model, "structure_at", None)
    if structure_at is None:
        return None
    try:
        return structure_at(model.Params(**best["params"]))
    except Exception:  # noqa: BLE001 - the CIF/POSCAR are written by the run itself
        return None
