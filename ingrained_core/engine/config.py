"""The run configuration: TOML (or JSON), validated by pydantic, with dotted overrides.

Sections: ``[experiment]`` (file, reader, preprocessing, region), ``[structure]``
(builder name + its own config), ``[forward_model]`` (name, input file, options, parameter
start/min/max/fixed), ``[fom]``, ``[registration]`` and ``[optimizer]``. Paths are resolved
relative to the config file. Unknown keys are rejected with the closest known key.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingrained_core.engine.autostart.config import AutoStartConfig
from ingrained_core.engine.experiment import ExperimentConfig
from ingrained_core.plugin.errors import ConfigError, format_user_error
from ingrained_core.plugin.params import ParamSpec
from ingrained_core.plugin.paths import resolve_path
from ingrained_core.plugin.validation import closest_key_hint, suggest_keys  # noqa: F401 - closest_key_hint re-exported


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StructureConfig(BaseModel):
    """``[structure]``: a builder name and that builder's own fields (validated by it)."""

    model_config = ConfigDict(extra="allow")

    builder: str = Field("file", description="structure builder plugin (ingrained plugins list)")

    def builder_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ForwardModelConfig(_Section):
    """``[forward_model]``: which model, its input file (density models), options and parameters."""

    name: str = Field(description="forward model plugin, e.g. 'haadf' or 'stm'")
    input: Path | None = Field(None, description="input file for models that take one (e.g. a PARCHG)")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword options of the model's constructor")
    params: dict[str, ParamSpec] = Field(default_factory=dict, description="per-parameter start/min/max/fixed")
    start_from: Path | None = Field(
        None, description="a previous run's best.json (or run directory): its parameter values become the start values")

    _resolve = field_validator("input", "start_from", mode="before")(resolve_path)


class FomConfig(_Section):
    """``[fom]``: FOM = alpha * d_trans + beta * d_sim."""

    alpha: float = Field(0.1, ge=0, allow_inf_nan=False, description="weight of the residual translation d_trans (per pixel)")
    beta: float = Field(1.0, ge=0, allow_inf_nan=False, description="weight of the similarity distance d_sim")
    similarity: str = Field("ssim", description="similarity plugin: 'ssim' (paper, default) or 'ssim-float7'")


class RegistrationConfig(_Section):
    """``[registration]``: where and how the simulation is placed in the experiment."""

    vertical_bias: float = Field(0.15, ge=0, le=1, description="search bias toward the centre, vertical (paper: 0.15)")
    horizontal_bias: float = Field(0.0, ge=0, le=1, description="search bias toward the centre, horizontal")
    roi: tuple[int, int, int, int] | None = Field(None, description="region of interest row0, row1, col0, col1")
    method: Literal["ncc", "chi2"] = Field("ncc", description="coarse ranking: FFT normalised cross-correlation or the paper's chi2")


class OptimizerConfig(_Section):
    """``[optimizer]``: method, budgets, multi-start and parallelism."""

    name: str = Field("scan-powell", description="optimizer plugin: scan-powell (default), powell, nelder-mead, cobyla")
    options: dict[str, Any] = Field(default_factory=dict, description="method options (validated by the optimizer)")
    max_evals: int | None = Field(None, ge=1, description="stop after this many evaluations per start")
    time_limit: float | None = Field(None, gt=0, description="stop after this many seconds (whole run)")
    target_fom: float | None = Field(None, description="stop as soon as the FOM is at or below this")
    starts: int = Field(1, ge=1, le=10000, description="number of starts; start 0 is the configured start point")
    start_values: list[dict[str, float]] = Field(
        default_factory=list, description="starts 1, 2, ... as parameter values (a parameter missing takes its "
        "configured start); starts beyond them are sampled. An automatic start's tied global-stage starts "
        "fill it (autostart.local_searches)")
    seed: int = Field(0, ge=0, description="seed of the start-point sampling (reproducible)")
    race_evals: int | None = Field(
        None, ge=1, description="racing several starts: every start first runs this many evaluations, then only "
        "the optimizer.race_keep best (by FOM so far) go on to the whole budget; the others end there (race.json "
        "records the race). Unset: every start runs its whole budget")
    race_keep: int = Field(2, ge=1, le=10000, description="starts that go on after the race (optimizer.race_evals)")
    workers: int | None = Field(None, ge=1, description="parallel workers for multi-start (default: CPU count)")
    executor: Literal["serial", "processes", "dask"] = Field("processes", description="how starts run in parallel")
    scheduler: str | None = Field(None, description="address of an existing dask.distributed scheduler")
    blas_threads: int | None = Field(
        1, ge=1, description="BLAS threads per start while it evaluates (1: parallelism comes from starts; "
        "unset: the library default)")


class RunConfig(_Section):
    """A whole ``ingrained fuse`` run."""

    name: str | None = Field(None, description="title of the run's figure and report (default: the config's file name)")
    experiment: ExperimentConfig
    structure: StructureConfig | None = None
    forward_model: ForwardModelConfig
    fom: FomConfig = Field(default_factory=FomConfig)
    registration: RegistrationConfig = Field(default_factory=RegistrationConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    autostart: AutoStartConfig = Field(default_factory=AutoStartConfig)
    provenance: dict[str, Any] = Field(default_factory=dict, description="written by ingrained (versions, command); ignored on input")
    base_dir: Path | None = Field(None, description="directory relative paths were resolved against (written by ingrained)")


# -- loading ----------------------------------------------------------------------------------
#: config files above this size are refused (a config is a few kB)
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a TOML or JSON config file, with a clear error for bad files.

    Refused at once with a message naming the file: a missing file, a directory, a FIFO or
    device (which could block or never end), a symlink loop, a file over
    :data:`MAX_CONFIG_BYTES`, text that is not UTF-8 (a UTF-8 byte-order mark is allowed and
    dropped), and nesting too deep to read.
    """
    import stat

    from ingrained_core.plugin.redact import secrets_in

    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except OSError as exc:  # a symlink loop, a name too long, no permission
        raise ConfigError(f"config file {p} cannot be read: {exc.strerror or exc}") from None
    except RuntimeError as exc:
        raise ConfigError(f"config file {p} cannot be read: {exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"config path is a directory, expected a TOML or JSON file: {p}")
    fifo_ok = stat.S_ISFIFO(st.st_mode) and str(p).startswith(("/dev/fd/", "/proc/self/fd/"))
    if not stat.S_ISREG(st.st_mode) and not fifo_ok:
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a device" if (
            stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) else "not a regular file"
        raise ConfigError(f"config file {p} is {kind}; give a TOML or JSON file")
    if st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {p} is {st.st_size / 1e6:.1f} MB; a config is a small TOML or JSON "
                          f"file (at most {MAX_CONFIG_BYTES // 2**20} MiB)")
    try:
        with open(p, "rb") as fh:  # a process substitution <(...) is read once, as a pipe
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"config file {p} cannot be read: {exc.strerror or exc}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{p}: the file is UTF-16 text; save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    kind = "JSON" if p.suffix.lower() == ".json" else "TOML"
    try:
        data = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{p}: not valid {kind}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{p}: not valid {kind}: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a table/object")
    secrets_in(data)
    return data


def parse_override(item: str) -> tuple[list[str], Any]:
    """``"a.b.c=value"`` -> (["a", "b", "c"], value); the value is read as TOML, else a string."""
    if "=" not in item:
        raise ConfigError(f"--set expects dotted.key=value, got {item!r}")
    if "\n" in item or "\r" in item:
        raise ConfigError(f"--set {item.partition('=')[0].strip()!s:.60}: the value holds a line break; give one "
                          "value per --set (repeat --set for more)")
    key, _, raw = item.partition("=")
    keys = [k.strip() for k in key.strip().split(".") if k.strip()]
    if not keys:
        raise ConfigError(f"--set expects dotted.key=value, got {item!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return keys, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``--set`` overrides to the raw config mapping (validated afterwards like the file)."""
    for item in overrides:
        keys, value = parse_override(item)
        node = data
        for k in keys[:-1]:
            nxt = node.get(k)
            if not isinstance(nxt, dict):
                nxt = {}
                node[k] = nxt
            node = nxt
        node[keys[-1]] = value
    return data


def _suggest(exc: ValidationError, root: Any = None, prefix: str = "") -> str:
    """Closest known keys for unknown ones, walked from ``root`` (default :class:`RunConfig`)."""
    return suggest_keys(exc, root if root is not None else RunConfig, prefix)


def validate_config(data: dict[str, Any], base_dir: Path, source: str = "config") -> RunConfig:
    """Validate a raw mapping into a :class:`RunConfig`; errors name the field."""
    data = dict(data)
    data.pop("provenance", None)
    given_base = data.pop("base_dir", None)
    if given_base:
        if not isinstance(given_base, str):
            raise ConfigError(f"{source}: base_dir must be a directory path (a string), got {given_base!r}")
        base_dir = Path(given_base)
    try:
        cfg = RunConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        hint = _suggest(exc)
        raise ConfigError(f"{source}: {format_user_error(exc)}" + (f" ({hint})" if hint else "")) from None
    return cfg.model_copy(update={"base_dir": base_dir})


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read, override and validate a run config file."""
    data = apply_overrides(read_config_file(path), list(overrides or []))
    p = Path(path)
    try:
        real = p.resolve()
    except (OSError, RuntimeError):
        real = p.absolute()
    if real.is_file():
        cfg = validate_config(data, real.parent, source=str(real))
    else:  # a pipe (``<(...)``, /dev/fd/N): relative paths are relative to the working directory
        cfg = validate_config(data, Path.cwd(), source=str(p))
    return cfg.model_copy(update={"provenance": {**cfg.provenance, "config_file": str(real),
                                                 "command": recorded_command()}})


def recorded_command() -> str:
    """This process's command line as a run directory records it (``ingrained fuse ...``);
    never a secret (``--set ...api_key=...`` is masked)."""
    import shlex
    import sys

    from ingrained_core.plugin.redact import redact_args

    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    prog = "ingrained" if prog in ("ingrained", "__main__.py") else prog
    return shlex.join([prog, *redact_args(sys.argv[1:])])


def dump_config(cfg: RunConfig, provenance: dict[str, Any]) -> str:
    """The fully resolved config as TOML (absolute paths, every default spelled out).

    Secret fields are dropped and named in a comment and in ``provenance.secrets_removed``,
    which a resumed run's rewrite (given the stored provenance) keeps."""
    import tomli_w

    data = cfg.model_dump(mode="json", exclude_none=True)
    data["provenance"] = dict(provenance)
    earlier = provenance.get("secrets_removed")
    names = list(dict.fromkeys([*(earlier if isinstance(earlier, list) else []), *_drop_secrets(data)]))
    if names:
        data["provenance"]["secrets_removed"] = names
    text = tomli_w.dumps(_drop_empty(data))
    if names:
        text = (f"# removed: {', '.join(names)} (secrets are never written into a run directory; "
                "set them in the environment, e.g. MP_API_KEY, to resume)\n" + text)
    return text


#: config keys holding secrets (API keys, tokens, passwords): never written by ``dump_config``
SECRET_KEYS = re.compile(r"(api_?key|token|secret|password|passwd)$", re.IGNORECASE)


def _drop_secrets(obj: Any, prefix: str = "") -> list[str]:
    """Remove secret-named keys from nested dicts in place; return their dotted names."""
    removed: list[str] = []
    if isinstance(obj, dict):
        for key in list(obj):
            name = f"{prefix}{key}"
            if isinstance(key, str) and SECRET_KEYS.search(key):
                del obj[key]
                removed.append(name)
            else:
                removed += _drop_secrets(obj[key], name + ".")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            removed += _drop_secrets(item, f"{prefix}{i}.")
    return removed


def _drop_empty(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_empty(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_empty(v) for v in obj]
    return obj
