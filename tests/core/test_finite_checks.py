"""The one-pass finiteness checks of the similarity and the registration (issue 18): a
finite sum proves every value finite; an overflowing sum of finite values must still be
accepted, and a NaN or an infinity anywhere refused with the usual message."""

from __future__ import annotations

import numpy as np
import pytest

from ingrained_core.builtins.similarity import PaperSSIM
from ingrained_core.engine.registration.images import check_image
from ingrained_core.plugin.errors import ConfigError


def test_huge_finite_values_pass_although_their_sum_overflows():
    rng = np.random.default_rng(0)
    a = rng.random((40, 40)) * 1e307
    with np.errstate(over="ignore"):
        assert not np.isfinite(a.sum())  # the fast test fails; the value-by-value one decides
    assert check_image(a, "simulation") is not None
    d = PaperSSIM().distance(a, rng.random((40, 40)))
    assert np.isfinite(d)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_no_overflow_warning_from_the_checks():
    a = np.full((40, 40), 1e307)
    check_image(a, "simulation")
    PaperSSIM().distance(a, np.eye(40))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_single_non_finite_value_is_refused(bad):
    a = np.ones((40, 40))
    a[17, 3] = bad
    with pytest.raises(ConfigError, match="NaN or infinite"):
        check_image(a, "simulation")
    with pytest.raises(ConfigError, match="NaN or infinite"):
        PaperSSIM().distance(a, np.ones((40, 40)))
