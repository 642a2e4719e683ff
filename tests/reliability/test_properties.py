"""Property-based tests (hypothesis): arbitrary configs, parameter specs, preprocessing steps,
reader headers and STM text files never crash with anything but the documented errors
(:class:`~ingrained_core.plugin.errors.IngrainedError` subclasses or pydantic ``ValidationError``),
and what is accepted satisfies its invariants.

Kept fast: modest ``max_examples``, no deadline (the machine is shared).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ingrained_core.engine.config import RunConfig, validate_config
from ingrained_core.plugin.errors import ConfigError, IngrainedError, InputFileError
from ingrained_core.plugin.reader import angstrom_per, pixel_size_from_scales
from ingrained_core.plugin.image import ExperimentImage
from ingrained_core.plugin.params import ModelParams, ParameterSpace, ParamSpec, param_field
from ingrained_core.engine.preprocess import STEP_TYPES, StepError, apply_steps, parse_steps

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
DOCUMENTED = (IngrainedError, ValidationError)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


def _keys(model: Any) -> list[str]:
    return list(model.model_fields)


SECTION_KEYS = {name: _keys(f.annotation) if hasattr(f.annotation, "model_fields") else []
                for name, f in RunConfig.model_fields.items()}


@st.composite
def run_configs(draw: st.DrawFn) -> dict[str, Any]:
    """Mappings shaped like run configs: known sections and keys (plus typos), arbitrary values."""
    data: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from(list(RunConfig.model_fields) + ["experimnt", "fom2"]),
                                 max_size=6, unique=True)):
        keys = SECTION_KEYS.get(section) or ["name", "path", "builder"]
        table = draw(st.dictionaries(st.sampled_from(keys + ["nmae", "pth", "alpah"]), values, max_size=5))
        data[section] = table if draw(st.booleans()) else draw(values)
    return data


@FAST
@given(run_configs())
def test_run_config_validation_never_crashes(data: dict[str, Any]) -> None:
    try:
        cfg = validate_config(data, Path("/tmp"))
    except ConfigError as exc:
        msg = str(exc)
        assert msg and "Traceback" not in msg
        return
    assert isinstance(cfg, RunConfig)
    assert cfg.fom.alpha >= 0 and cfg.fom.beta >= 0 and cfg.optimizer.starts >= 1
    assert cfg.experiment.path.is_absolute()


@FAST
@given(st.sampled_from(["fom", "registration", "optimizer", "experiment", "forward_model"]),
       st.text(min_size=1, max_size=14).filter(lambda k: "." not in k))
def test_unknown_keys_are_named(section: str, key: str) -> None:
    known = set(SECTION_KEYS[section])
    if key in known:
        return
    base = {"experiment": {"path": "x.npy"}, "forward_model": {"name": "m"}}
    base[section] = {**base.get(section, {}), key: 1}
    with pytest.raises(ConfigError) as err:
        validate_config(base, Path("/tmp"))
    assert key in str(err.value) or repr(key) in str(err.value)


spec_inputs = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-100, 100), st.booleans(), st.text(max_size=5),
    st.dictionaries(st.sampled_from(["start", "min", "max", "fixed", "strat"]),
                    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                              st.text(max_size=3)), max_size=4),
)


@FAST
@given(spec_inputs)
def test_param_spec(raw: Any) -> None:
    try:
        spec = ParamSpec.model_validate(raw)
    except ValidationError:
        return
    for v in (spec.start, spec.min, spec.max):
        assert v is None or math.isfinite(v)
    if spec.min is not None and spec.max is not None:
        assert spec.min <= spec.max


class _Params(ModelParams):
    width: float = param_field(1.0, ge=0.5, le=2.0, unit="Å", description="a width")
    angle: float = param_field(0.0, ge=-45, le=45, unit="deg", description="an angle")
    crop_height: int = param_field(35, ge=15, le=301, kind="odd_int", unit="px", description="rows")


@FAST
@given(st.dictionaries(st.sampled_from(["width", "angle", "crop_height", "nope"]), spec_inputs, max_size=3),
       st.lists(st.floats(-0.5, 1.5), min_size=3, max_size=3))
def test_parameter_space(raw_specs: dict[str, Any], x: list[float]) -> None:
    """Accepted specs give a space whose start lies in bounds and maps into the model's box."""
    try:
        specs = {k: ParamSpec.model_validate(v) for k, v in raw_specs.items()}
        space = ParameterSpace(_Params, specs)
    except DOCUMENTED:
        return
    assert np.all((space.x0 >= 0) & (space.x0 <= 1))
    vals = space.values(np.clip(np.asarray(x[: len(space.x0)]), 0, 1))
    params = _Params(**vals)
    assert 0.5 <= params.width <= 2.0 and -45 <= params.angle <= 45 and params.crop_height % 2 == 1


step_dicts = st.builds(
    lambda op, extra: {"op": op, **extra},
    st.sampled_from([t.model_fields["op"].default for t in STEP_TYPES] + ["rotat", ""]),
    st.dictionaries(st.sampled_from(["angle", "remove_collar", "size", "rows", "cols", "top", "bottom", "left",
                                     "right", "axis", "factor", "sigma", "order", "kernel", "size_px", "bogus"]),
                    st.one_of(st.integers(-50, 400), st.floats(-5, 500), st.just(float("nan")), st.booleans(),
                              st.sampled_from(["lr", "ud", "x"]), st.lists(st.integers(-60, 80), max_size=3)),
                    max_size=3),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(step_dicts, max_size=3), st.integers(8, 40), st.integers(8, 40))
def test_preprocessing_steps(steps: list[dict[str, Any]], h: int, w: int) -> None:
    try:
        parse_steps(steps)
    except ValidationError:
        return
    image = ExperimentImage(data=np.random.default_rng(h * w).random((h, w)), pixel_size=0.2, metadata={},
                            source=None, notices=[])
    try:
        out = apply_steps(image, steps)
    except StepError:
        return
    except IngrainedError:
        return
    assert out.data.ndim == 2 and out.data.size > 0 and np.isfinite(out.data).all()
    assert out.pixel_size is None or out.pixel_size > 0


@FAST
@given(st.one_of(st.none(), st.text(max_size=10), st.binary(max_size=10), st.integers(), st.floats()))
def test_unit_parsing(unit: Any) -> None:
    a = angstrom_per(unit)
    assert a is None or (math.isfinite(a) and a > 0)


@FAST
@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers()),
                          st.one_of(st.none(), st.sampled_from(["nm", "m", "Å", "px", "[n_m]", ""]),
                                    st.text(max_size=4))), max_size=3))
def test_calibration_parsing(scales: list[tuple[Any, Any]]) -> None:
    notices: list[str] = []
    px = pixel_size_from_scales(scales, notices)
    assert px is None or (math.isfinite(px) and px > 0)
    if px is None and scales:
        assert notices


def _read_bytes(data: bytes, suffix: str) -> ExperimentImage | None:
    from ingrained_core.builtins.io import read_image

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"f{suffix}"
        p.write_bytes(data)
        try:
            return read_image(p)
        except DOCUMENTED:
            return None


MAGICS = [b"\x00\x00\x00\x03", b"\x00\x00\x00\x04", b"II*\x00", b"MM\x00*", b"\x93NUMPY", b"\x89HDF\r\n\x1a\n",
          b":NANONIS_VERSION:\n", b"# Width: 1 nm\n# Height: 1 nm\n", b"\x89PNG\r\n\x1a\n", b""]


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(MAGICS), st.binary(max_size=600),
       st.sampled_from([".dm3", ".dm4", ".tif", ".npy", ".emd", ".sxm", ".txt", ".mrc", ".ser", ".png", ".bin"]))
def test_image_headers(magic: bytes, rest: bytes, suffix: str) -> None:
    """Every reader, on a valid magic number followed by garbage, fails with InputFileError only."""
    img = _read_bytes(magic + rest, suffix)
    if img is not None:  # a few formats can hold a tiny valid image in 600 bytes
        assert img.data.ndim == 2 and np.isfinite(img.data).all()


# -- a fuzz round over the STM text reader ------------------------------------------------
def _stm_text(rows: int, cols: int, seed: int, width: str, height: str) -> str:
    z = np.random.default_rng(seed).normal(-1.5e-7, 1e-9, (rows, cols))
    head = f"# Channel: Z\n# Width: {width}\n# Height: {height}\n# Value units: m\n"
    return head + "\n".join("\t".join(f"{v:.6e}" for v in r) for r in z) + "\n"


header_values = st.one_of(st.sampled_from(["15 nm", "150 Å", "1.5e-8 m", "0 nm", "-3 nm", "nan nm", "inf m", "15",
                                           "nm", "", "1e400 nm", "15 furlongs"]), st.text(max_size=10))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 10**6), header_values, header_values,
       st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]), st.integers(0, 10**6),
                          st.binary(min_size=1, max_size=3)), max_size=4))
def test_stm_text_fuzz(rows: int, cols: int, seed: int, width: str, height: str,
                       mutations: list[tuple[str, int, bytes]]) -> None:
    data = bytearray(_stm_text(rows, cols, seed, width, height).encode("utf-8", errors="replace"))
    for kind, pos, payload in mutations:
        if not data:
            break
        i = pos % len(data)
        if kind == "flip":
            data[i] ^= payload[0] or 1
        elif kind == "cut":
            del data[i:]
        elif kind == "insert":
            data[i:i] = payload
        else:
            del data[i:i + len(payload)]
    img = _read_bytes(bytes(data), ".txt")
    if img is not None:
        assert img.data.ndim == 2 and np.isfinite(img.data).all()
        assert img.pixel_size is None or (math.isfinite(img.pixel_size) and img.pixel_size > 0)


def test_stm_text_fuzz_finds_the_documented_error() -> None:
    """The fuzz is not vacuous: a ragged file is an InputFileError naming the line."""
    from ingrained_core.builtins.io import read_image

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "z.txt"
        p.write_text(_stm_text(4, 5, 0, "1 nm", "1 nm") + "1.0\t2.0\n")
        with pytest.raises(InputFileError, match="line 9 has 2 values"):
            read_image(p)
