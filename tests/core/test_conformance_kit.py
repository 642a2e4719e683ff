"""The conformance kit (ingrained_core.testing) passes a good model and fails each broken one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ingrained_core.plugin import ImageGeometry, ParameterError, SimulatedImage, param_field
from ingrained_core.testing import ConformanceError, check_forward_model


class SpotParams(ImageGeometry):
    width: float = param_field(1.0, ge=0.2, le=5.0, unit="Å", description="spot width")


class Good:
    """A Gaussian spot at the centre: keeps the contract."""

    name = "good"
    Params = SpotParams
    input_kind = "none"

    def render(self, p: SpotParams) -> np.ndarray:
        y, x = np.mgrid[0:p.crop_height, 0:p.crop_width].astype(float)
        r2 = ((x - (p.crop_width - 1) / 2) ** 2 + (y - (p.crop_height - 1) / 2) ** 2) * p.pixel_size**2
        return np.exp(-r2 / (2 * p.width**2))

    def simulate(self, params: Any) -> SimulatedImage:
        p = SpotParams.coerce(params)
        return SimulatedImage(array=self.render(p), pixel_size=p.pixel_size,
                              metadata={"crop_height": p.crop_height, "crop_width": p.crop_width})

    def structure_at(self, params: Any) -> None:
        return None


class Nondeterministic(Good):
    name = "noisy"

    def simulate(self, params: Any) -> SimulatedImage:
        p = SpotParams.coerce(params)
        noisy = self.render(p) + np.random.default_rng().normal(0, 1e-9, (p.crop_height, p.crop_width))
        return SimulatedImage(array=noisy, pixel_size=p.pixel_size)


class Stateful(Good):
    """Caches its first image whatever the parameters (state carried between calls)."""

    name = "stateful"

    def simulate(self, params: Any) -> SimulatedImage:
        p = SpotParams.coerce(params)
        self.calls = getattr(self, "calls", 0) + 1
        return SimulatedImage(array=self.render(p) * (1 + 1e-12 * (self.calls > 2)), pixel_size=p.pixel_size)


class NaNs(Good):
    name = "nan"

    def simulate(self, params: Any) -> SimulatedImage:
        p = SpotParams.coerce(params)
        a = self.render(p)
        a[0, 0] = np.nan
        return SimulatedImage.model_construct(array=a, pixel_size=p.pixel_size, metadata={})


class WrongShape(Good):
    name = "shape"

    def simulate(self, params: Any) -> SimulatedImage:
        p = SpotParams.coerce(params)
        return SimulatedImage(array=self.render(p)[:-2], pixel_size=p.pixel_size)


class LiesAboutCrop(Good):
    name = "crop-metadata"

    def simulate(self, params: Any) -> SimulatedImage:
        p = SpotParams.coerce(params)
        return SimulatedImage(array=self.render(p), pixel_size=p.pixel_size,
                              metadata={"crop_height": p.crop_height - 2, "crop_width": p.crop_width})


class WrongDtype(Good):
    name = "dtype"

    def simulate(self, params: Any) -> SimulatedImage:
        p = SpotParams.coerce(params)
        return SimulatedImage.model_construct(array=self.render(p).astype(np.float32), pixel_size=p.pixel_size,
                                              metadata={})


class WrongPixelSize(Good):
    name = "pixel"

    def simulate(self, params: Any) -> SimulatedImage:
        p = SpotParams.coerce(params)
        return SimulatedImage(array=self.render(p), pixel_size=p.pixel_size * 2)


class NoParameterError(Good):
    """Simulates anything it is given, bounds or not."""

    name = "no-domain"

    def simulate(self, params: Any) -> SimulatedImage:
        p = params if isinstance(params, SpotParams) else SpotParams.model_construct(**params)
        return SimulatedImage(array=self.render(p), pixel_size=p.pixel_size)


class WrongError(Good):
    name = "wrong-error"

    def simulate(self, params: Any) -> SimulatedImage:
        if isinstance(params, dict) and params.get("width", 1.0) > 5.0:
            raise ValueError("too wide")
        return super().simulate(params)


class BadStructure(Good):
    name = "bad-structure"

    def structure_at(self, params: Any) -> Any:
        return "a structure"


class NotAnImage(Good):
    name = "array"

    def simulate(self, params: Any) -> Any:
        return self.render(SpotParams.coerce(params))


class NoParams:
    name = "no-params"
    input_kind = "none"

    def simulate(self, params: Any) -> None: ...

    def structure_at(self, params: Any) -> None: ...


SMALL = {"crop_height": 21, "crop_width": 25, "pixel_size": 0.25}


def test_a_good_model_passes_as_class_and_instance() -> None:
    report = check_forward_model(Good, SMALL)
    assert report["shape"] == (21, 25) and report["pixel_size"] == 0.25
    assert "determinism" in report["checks"]
    check_forward_model(Good(), SpotParams(**SMALL), factory=Good)


@pytest.mark.parametrize("model, check", [
    (Nondeterministic, "determinism"),
    (Stateful, "determinism"),
    (NaNs, "finite"),
    (WrongShape, "shape"),
    (LiesAboutCrop, "shape"),
    (WrongDtype, "dtype"),
    (WrongPixelSize, "pixel size"),
    (NoParameterError, "domain"),
    (WrongError, "domain"),
    (BadStructure, "structure_at"),
    (NotAnImage, "output"),
    (NoParams, "contract"),
])
def test_each_broken_model_fails_its_check(model: type, check: str) -> None:
    with pytest.raises(ConformanceError) as err:
        check_forward_model(model, SMALL, invalid=[{"width": 6.0}, {"pixel_size": 9.0}])
    assert check in err.value.checks, str(err.value)
    assert model.name in str(err.value)


def test_author_given_domain_errors_are_checked() -> None:
    class RefusesWideSpots(Good):
        def simulate(self, params: Any) -> SimulatedImage:
            p = SpotParams.coerce(params)
            if p.width > 3.0:
                raise ParameterError(f"width: at most 3 Å in this model, got {p.width}")
            return super().simulate(p)

    check_forward_model(RefusesWideSpots, SMALL, invalid=[{"width": 4.0}])
    with pytest.raises(ConformanceError, match="width=4.0: simulated without a ParameterError"):
        check_forward_model(Good, SMALL, invalid=[{"width": 4.0}])


def test_a_simulated_image_carries_the_parameters_used() -> None:
    asked = SpotParams(**SMALL)
    sim = LiesAboutCrop().simulate(asked)  # reports a crop two rows smaller than asked
    used = sim.params_used(asked)
    assert used["crop_height"] == SMALL["crop_height"] - 2 and used["crop_width"] == SMALL["crop_width"]
    assert used["pixel_size"] == 0.25 and Good().simulate(asked).params_used(asked) == asked.model_dump()
