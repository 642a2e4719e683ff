"""Preprocessing steps of an experimental image, composable from the config, applied in order.

Each step is a small pydantic model with a discriminator field ``op``, so a run config
lists them as TOML tables::

    [[experiment.preprocess]]
    op = "rotate"
    angle = 66            # degrees, counter-clockwise about the centre
    remove_collar = true  # keep the centred square free of rotation collars (the paper's option)

Steps: ``crop``, ``trim``, ``centre-crop``, ``rotate``, ``flip``, ``rescale``, ``wiener`` (scipy's
adaptive noise filter), ``wiener-deconvolve`` and ``unsupervised-wiener-deconvolve``
(scikit-image deconvolution with a box or Gaussian PSF), ``gaussian``, ``median``, ``clahe``, ``plane``, ``invert``. :func:`apply_steps` runs them,
carries the pixel size through (``rescale`` changes it) and records every step in the
image's notices and ``metadata["preprocess"]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.image import ExperimentImage


class StepError(ConfigError):
    """A preprocessing step cannot be applied to the image it receives."""


def _shape(a: np.ndarray) -> str:
    return f"{a.shape[0]} x {a.shape[1]}"


def centred_square_edge(shape: tuple[int, int], angle_deg: float) -> int:
    """Edge of the collar-free centred square after rotating by ``angle_deg``: the paper's rule.

    int(min(h, w) / (|cos θ| + |sin θ|)) - 5 (the 5-pixel margin keeps interpolated
    collar pixels out).
    """
    t = math.radians(angle_deg)
    return int(min(shape) / (abs(math.cos(t)) + abs(math.sin(t)))) - 5


def centred_window(n: int, size: int) -> slice:
    """The centred ``size``-long window of an axis of length ``n`` (start = (n - size) // 2)."""
    start = (n - size) // 2
    return slice(start, start + size)


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a short human description of the step (used in notices)
    def summary(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self.model_dump(exclude={"op"}).items() if v is not None)
        return f"{self.op}({fields})"  # type: ignore[attr-defined]

    def apply(self, image: ExperimentImage) -> ExperimentImage:  # pragma: no cover - abstract
        raise NotImplementedError


def _bounds(spec: Sequence[int] | None, n: int, axis: str) -> slice:
    """A Python slice from a [start] or [start, stop] spec (negative counts from the end)."""
    if spec is None:
        return slice(0, n)
    start = spec[0]
    stop = spec[1] if len(spec) > 1 else None
    s = slice(start, stop)
    lo, hi, _ = s.indices(n)
    if hi - lo < 1:
        raise StepError(f"{axis} {list(spec)} selects nothing of an axis of {n} px")
    return slice(lo, hi)


class Crop(_Step):
    """Keep ``rows`` = [start, stop] and ``cols`` = [start, stop] (Python slices; negatives count
    from the end, e.g. rows = [380, -240]), or a centred ``size`` (int or [rows, cols])."""

    op: Literal["crop"] = "crop"
    rows: list[int] | None = Field(None, min_length=1, max_length=2, description="[start, stop) of the rows kept")
    cols: list[int] | None = Field(None, min_length=1, max_length=2, description="[start, stop) of the columns kept")
    size: int | tuple[int, int] | None = Field(None, description="centred crop of this size instead of rows/cols")

    @model_validator(mode="after")
    def _one_form(self) -> Crop:
        if self.size is not None and (self.rows is not None or self.cols is not None):
            raise ValueError("give either rows/cols or size, not both")
        if self.size is None and self.rows is None and self.cols is None:
            raise ValueError("give rows and/or cols, or size")
        return self

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        a = image.data
        if self.size is not None:
            return CentreCrop(size=self.size).apply(image)
        rs, cs = _bounds(self.rows, a.shape[0], "rows"), _bounds(self.cols, a.shape[1], "cols")
        out = a[rs, cs]
        return image.derive(out, notice=f"crop rows {rs.start}:{rs.stop}, cols {cs.start}:{cs.stop}: "
                                        f"{_shape(a)} -> {_shape(out)}")


class Trim(_Step):
    """Drop ``top``/``bottom`` rows and ``left``/``right`` columns (e.g. bottom = 26, right = 26)."""

    op: Literal["trim"] = "trim"
    top: int = Field(0, ge=0)
    bottom: int = Field(0, ge=0)
    left: int = Field(0, ge=0)
    right: int = Field(0, ge=0)

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        a = image.data
        h, w = a.shape
        if self.top + self.bottom >= h or self.left + self.right >= w:
            raise StepError(f"trimming {self.top}+{self.bottom} rows and {self.left}+{self.right} columns "
                            f"leaves nothing of a {_shape(a)} image")
        out = a[self.top:h - self.bottom, self.left:w - self.right]
        return image.derive(out, notice=f"trim top {self.top}, bottom {self.bottom}, left {self.left}, "
                                        f"right {self.right}: {_shape(a)} -> {_shape(out)}")


class CentreCrop(_Step):
    """Keep the centred ``size`` (int for a square, or [rows, cols]); start = (n - size) // 2."""

    op: Literal["centre-crop", "center-crop"] = "centre-crop"
    size: int | tuple[int, int] = Field(description="edge of the centred square, or [rows, cols]")

    @field_validator("size")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        vals = (v,) if isinstance(v, int) else v
        if any(x < 1 for x in vals):
            raise ValueError(f"size must be >= 1 px, got {v}")
        return v

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        a = image.data
        sh, sw = (self.size, self.size) if isinstance(self.size, int) else self.size
        if sh > a.shape[0] or sw > a.shape[1]:
            raise StepError(f"centre-crop {sh} x {sw} is larger than the {_shape(a)} image")
        out = a[centred_window(a.shape[0], sh), centred_window(a.shape[1], sw)]
        return image.derive(out, notice=f"centre-crop: {_shape(a)} -> {_shape(out)}")


class Rotate(_Step):
    """Rotate by ``angle`` degrees counter-clockwise about the centre (scikit-image
    ``transform.rotate``, range preserved); ``remove_collar`` keeps the centred square of edge
    int(min(h, w) / (|cos θ| + |sin θ|)) - 5, which holds no rotation collar (the paper's option)."""

    op: Literal["rotate"] = "rotate"
    angle: float = Field(description="degrees, counter-clockwise about the image centre")
    remove_collar: bool = Field(False, description="keep the centred collar-free square (the paper's rule)")
    order: int = Field(1, ge=0, le=5, description="spline interpolation order (1 = bilinear, scikit-image's default)")
    mode: Literal["constant", "edge", "symmetric", "reflect", "wrap"] = Field("constant", description="outside the image")
    cval: float = Field(0.0, description="value outside the image for mode 'constant'")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        from skimage.transform import rotate

        a = image.data
        out = rotate(a, self.angle, resize=False, order=self.order, mode=self.mode, cval=self.cval,
                     preserve_range=True)
        note = f"rotate {self.angle:g}° CCW about the centre"
        if self.remove_collar:
            edge = centred_square_edge(a.shape, self.angle)
            if edge < 1:
                raise StepError(f"no collar-free square is left of a {_shape(a)} image rotated by {self.angle}°")
            out = out[centred_window(a.shape[0], edge), centred_window(a.shape[1], edge)]
            note += ", collar removed"
        return image.derive(out, notice=f"{note}: {_shape(a)} -> {_shape(out)}")


class Flip(_Step):
    """Mirror left-right (``axis = "lr"``) or up-down (``"ud"``)."""

    op: Literal["flip"] = "flip"
    axis: Literal["lr", "ud"] = Field(description="'lr' (left-right) or 'ud' (up-down)")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        a = image.data
        out = a[:, ::-1] if self.axis == "lr" else a[::-1, :]
        return image.derive(np.ascontiguousarray(out), notice=f"flip {self.axis}")


class Rescale(_Step):
    """Resample by ``factor`` (> 1 enlarges), or to a target ``pixel_size`` in Å; the pixel size
    changes accordingly (scikit-image ``transform.rescale``, range preserved)."""

    op: Literal["rescale"] = "rescale"
    factor: float | None = Field(None, gt=0, description="scale factor (output px per input px)")
    pixel_size: float | None = Field(None, gt=0, description="target pixel size in Å (needs a calibrated image)")
    order: int = Field(1, ge=0, le=5, description="spline interpolation order")
    anti_aliasing: bool | None = Field(None, description="Gaussian pre-filter when shrinking (default: when shrinking)")

    @model_validator(mode="after")
    def _one(self) -> Rescale:
        if (self.factor is None) == (self.pixel_size is None):
            raise ValueError("give exactly one of factor or pixel_size")
        return self

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        from skimage.transform import rescale

        a = image.data
        if self.factor is not None:
            factor = float(self.factor)
        else:
            if image.pixel_size is None:
                raise StepError("rescale to a pixel_size needs a calibrated image (set experiment.pixel_size)")
            factor = image.pixel_size / float(self.pixel_size)  # type: ignore[arg-type]
        new_h, new_w = round(a.shape[0] * factor), round(a.shape[1] * factor)
        if min(new_h, new_w) < 1:
            raise StepError(f"rescale by {factor:g} leaves nothing of a {_shape(a)} image")
        from ingrained_core.builtins.limits import check_image_size

        check_image_size(new_h, new_w, f"rescale by {factor:g} of a {_shape(a)} image")
        out = rescale(a, factor, order=self.order, preserve_range=True, anti_aliasing=self.anti_aliasing,
                      mode="reflect")
        pixel = None
        if image.pixel_size is not None:
            ry, rx = a.shape[0] / out.shape[0], a.shape[1] / out.shape[1]
            pixel = image.pixel_size * (ry + rx) / 2
        px = f", pixel {image.pixel_size:.6g} -> {pixel:.6g} Å" if pixel is not None else ""
        return image.derive(out, pixel_size=pixel,
                            notice=f"rescale by {factor:.6g}: {_shape(a)} -> {_shape(out)}{px}")


class Wiener(_Step):
    """Adaptive Wiener denoising (scipy ``signal.wiener``) over a ``size`` x ``size`` window."""

    op: Literal["wiener"] = "wiener"
    size: int = Field(3, ge=1, description="window edge in px")
    noise: float | None = Field(None, ge=0, description="noise power (default: the mean local variance)")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        from scipy.signal import wiener

        out = wiener(image.data, mysize=self.size, noise=self.noise)
        out = np.nan_to_num(out, nan=float(np.mean(image.data)))  # flat windows give 0/0
        return image.derive(out, notice=f"Wiener filter {self.size} x {self.size}")


class _Deconvolve(_Step):
    """Shared fields of the Wiener deconvolutions: the PSF (a normalised box or Gaussian) and
    the intensity scaling (the image is mapped to [0, 1] first, then back)."""

    psf: Literal["gaussian", "box"] = Field("gaussian", description="point-spread function shape")
    psf_size: float = Field(gt=0, description="Gaussian: standard deviation (px); box: edge (px, odd or even)")

    def kernel(self) -> np.ndarray:
        """The normalised PSF array."""
        if self.psf == "box":
            n = max(1, int(round(self.psf_size)))
            k = np.ones((n, n), dtype=float)
        else:
            r = max(1, int(math.ceil(3.0 * self.psf_size)))
            ax = np.arange(-r, r + 1, dtype=float)
            g = np.exp(-0.5 * (ax / self.psf_size) ** 2)
            k = np.outer(g, g)
        return k / k.sum()

    def _scaled(self, image: ExperimentImage) -> tuple[np.ndarray, float, float]:
        a = np.asarray(image.data, dtype=float)
        lo, hi = float(a.min()), float(a.max())
        if hi == lo:
            raise StepError(f"{self.op} of a constant image is undefined")  # type: ignore[attr-defined]
        k = self.kernel()
        if k.shape[0] > min(a.shape):
            raise StepError(f"{self.op}: the PSF ({k.shape[0]} px) is larger than the image ({_shape(a)})")  # type: ignore[attr-defined]
        return (a - lo) / (hi - lo), lo, hi


class WienerDeconvolve(_Deconvolve):
    """Wiener–Hunt deconvolution with a known PSF and regularisation ``balance``
    (scikit-image ``restoration.wiener``), as the original Si nanowire example did before CLAHE."""

    op: Literal["wiener-deconvolve"] = "wiener-deconvolve"
    balance: float = Field(0.1, gt=0, description="regularisation: noise-to-signal balance (larger = smoother)")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        from skimage.restoration import wiener

        a, lo, hi = self._scaled(image)
        out = wiener(a, self.kernel(), self.balance, clip=False)
        return image.derive(lo + (hi - lo) * np.asarray(out, dtype=float),
                            notice=f"Wiener deconvolution, {self.psf} PSF {self.psf_size:g} px, balance {self.balance:g}")


class UnsupervisedWienerDeconvolve(_Deconvolve):
    """Wiener–Hunt deconvolution whose balance is estimated from the image (scikit-image
    ``restoration.unsupervised_wiener``, a Gibbs sampler: seeded, so the result repeats)."""

    op: Literal["unsupervised-wiener-deconvolve"] = "unsupervised-wiener-deconvolve"
    seed: int = Field(0, ge=0, description="seed of the sampler")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        from skimage.restoration import unsupervised_wiener

        a, lo, hi = self._scaled(image)
        out, chains = unsupervised_wiener(a, self.kernel(), clip=False, rng=np.random.default_rng(self.seed))
        balance = float(chains["noise"][-1] / chains["prior"][-1]) if len(chains.get("noise", [])) else float("nan")
        return image.derive(lo + (hi - lo) * np.asarray(out, dtype=float),
                            notice=f"unsupervised Wiener deconvolution, {self.psf} PSF {self.psf_size:g} px "
                            f"(estimated balance {balance:.3g})")


class Gaussian(_Step):
    """Gaussian blur with standard deviation ``sigma`` in px (scipy ``ndimage.gaussian_filter``)."""

    op: Literal["gaussian"] = "gaussian"
    sigma: float = Field(gt=0, description="standard deviation in px")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        from scipy.ndimage import gaussian_filter

        return image.derive(gaussian_filter(image.data, self.sigma, mode="reflect"),
                            notice=f"Gaussian filter sigma {self.sigma:g} px")


class Median(_Step):
    """Median filter over a ``size`` x ``size`` window (scipy ``ndimage.median_filter``)."""

    op: Literal["median"] = "median"
    size: int = Field(3, ge=1, description="window edge in px")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        from scipy.ndimage import median_filter

        return image.derive(median_filter(image.data, size=self.size, mode="reflect"),
                            notice=f"median filter {self.size} x {self.size}")


class Clahe(_Step):
    """Contrast-limited adaptive histogram equalisation (scikit-image ``equalize_adapthist``);
    the output lies in [0, 1]."""

    op: Literal["clahe"] = "clahe"
    clip_limit: float = Field(0.01, gt=0, le=1, description="contrast clip limit (0-1)")
    kernel_size: int | None = Field(None, ge=2, description="tile edge in px (default 1/8 of the image)")
    nbins: int = Field(256, ge=2, description="histogram bins")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        from skimage.exposure import equalize_adapthist

        a = image.data
        lo, hi = float(a.min()), float(a.max())
        if hi == lo:
            raise StepError("CLAHE of a constant image is undefined")
        out = equalize_adapthist((a - lo) / (hi - lo), kernel_size=self.kernel_size, clip_limit=self.clip_limit,
                                 nbins=self.nbins)
        return image.derive(np.asarray(out, dtype=float),
                            notice=f"CLAHE clip {self.clip_limit:g} (intensities now in [0, 1])")


class Plane(_Step):
    """Subtract the least-squares background plane (``order = 1``) or quadric (``order = 2``),
    e.g. the sample tilt of an STM topograph."""

    op: Literal["plane"] = "plane"
    order: Literal[1, 2] = Field(1, description="1: plane a + b x + c y; 2: adds x², xy, y²")

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        a = image.data
        h, w = a.shape
        y, x = np.mgrid[0:h, 0:w].astype(float)
        y = (y - (h - 1) / 2) / max(h, 1)
        x = (x - (w - 1) / 2) / max(w, 1)
        cols = [np.ones_like(x), x, y] + ([x * x, x * y, y * y] if self.order == 2 else [])
        design = np.stack([c.ravel() for c in cols], axis=1)
        coef, *_ = np.linalg.lstsq(design, a.ravel(), rcond=None)
        out = a - (design @ coef).reshape(h, w)
        return image.derive(out, notice=f"background {'plane' if self.order == 1 else 'quadric'} subtracted",
                            background_coefficients=[float(c) for c in coef])


class Invert(_Step):
    """Invert intensities within their range: max + min - value (dark atoms become bright)."""

    op: Literal["invert"] = "invert"

    def apply(self, image: ExperimentImage) -> ExperimentImage:
        a = image.data
        return image.derive(float(a.max()) + float(a.min()) - a, notice="intensities inverted")


#: one preprocessing step, chosen by its ``op`` field
Step = Annotated[
    Crop | Trim | CentreCrop | Rotate | Flip | Rescale | Wiener | WienerDeconvolve | UnsupervisedWienerDeconvolve
    | Gaussian | Median | Clahe | Plane | Invert,
    Field(discriminator="op"),
]

STEP_TYPES: tuple[type[_Step], ...] = (Crop, Trim, CentreCrop, Rotate, Flip, Rescale, Wiener, WienerDeconvolve,
                                       UnsupervisedWienerDeconvolve, Gaussian, Median, Clahe, Plane, Invert)

_STEPS_ADAPTER: TypeAdapter[list[Any]] = TypeAdapter(list[Step])


def parse_steps(steps: Sequence[Any]) -> list[Any]:
    """Validate a list of step mappings (or step models) into step models."""
    return list(_STEPS_ADAPTER.validate_python(list(steps)))


def apply_steps(image: ExperimentImage, steps: Sequence[Any], *, where: str = "experiment.preprocess") -> ExperimentImage:
    """Apply ``steps`` in order; each is recorded in ``notices`` and ``metadata["preprocess"]``.

    A step that cannot be applied (a crop larger than the image, ...) raises
    :class:`StepError` naming ``where[i]`` and the image shape it received.
    """
    models = parse_steps(steps)
    record: list[dict[str, Any]] = list(image.metadata.get("preprocess", []))
    out = image
    for i, step in enumerate(models):
        before = out.shape
        try:
            out = step.apply(out)
        except StepError as exc:
            raise StepError(f"{where}[{i}] ({step.op}) on a {before[0]} x {before[1]} image: {exc}") from None
        if not np.all(np.isfinite(out.data)):
            raise StepError(f"{where}[{i}] ({step.op}) produced NaN/inf values")
        entry = step.model_dump(mode="json")
        entry.update({"shape_in": list(before), "shape_out": list(out.shape), "pixel_size": out.pixel_size})
        record.append(entry)
        out.metadata["preprocess"] = list(record)
    return out
