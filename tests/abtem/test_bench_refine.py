"""The benchmark's refine stage config (``ingrained_core.apps.bench_refine``), without running abTEM.

The full stage (convolution fit, then the multislice refinement) takes minutes at coarse
settings and ~45 min per case at the documented ones: ``benchmarks/bench_abtem.py --refine``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import TWIN_DIR


def test_refinement_config_is_the_documented_multislice_from_the_convolution_best(tmp_path):
    from ingrained_abtem.params import MultisliceOptions

    from ingrained_core.apps.bench_refine import REFINE_SETTINGS, multislice_config
    from ingrained_core.apps.benchmark import CASES, case_overrides
    from ingrained_core.engine.config import load_config

    if not (TWIN_DIR / "fuse.toml").is_file():
        pytest.skip("example missing")
    case = CASES["twin"]
    conv = load_config(TWIN_DIR / "fuse.toml", case_overrides(case, 60.0) + ['forward_model.options.placement="exact"'])
    cfg = multislice_config(conv, tmp_path / "best.json", "documented", thickness_max=None, phonon_configs=0,
                            max_evals=60, time_limit=2700.0)
    fm = cfg.forward_model
    assert fm.name == "haadf-multislice" and fm.start_from == Path(tmp_path / "best.json")
    MultisliceOptions(**fm.options)  # every option valid for the multislice model ("placement" dropped)
    assert fm.options["sampling"] <= 0.05 and fm.options["thickness_max"] == REFINE_SETTINGS["documented"]["thickness_max"]
    # with its case named, the case's own probe window and thickness (wide enough for that thickness)
    twin = multislice_config(conv, tmp_path / "best.json", "documented", thickness_max=None, phonon_configs=0,
                             max_evals=60, time_limit=2700.0, case="twin").forward_model.options
    assert twin["prism_interpolation"] == [4, 8] and "prism_window" not in twin and twin["thickness_max"] == 93.75
    assert MultisliceOptions(**twin).prism_interpolation == (4, 8)
    thinner = multislice_config(conv, tmp_path / "best.json", "documented", thickness_max=30.0, phonon_configs=0,
                                max_evals=60, time_limit=2700.0, case="twin").forward_model.options
    assert thinner["thickness_max"] == 30.0 and thinner["prism_interpolation"] == [4, 8]
    assert fm.options["vertical"] == "up" and fm.options["shear"] == "inverse"  # the case's geometry kept
    p = fm.params
    assert (p["detector_inner"].start, p["detector_outer"].start) == (100.0, 150.0) and p["detector_outer"].fixed
    assert p["crop_height"].start == 195 and p["crop_height"].fixed and p["crop_width"].start == 153
    assert p["interface_width"].fixed and p["interface_width"].start is None  # from start_from
    assert p["thickness"].fixed and p["thickness"].start == fm.options["thickness_max"]
    # the documented series is also reduced at a defocus series that holds the start (0 Å)
    assert fm.options["defocus_series"] == REFINE_SETTINGS["documented"]["defocus_series"]
    assert p["defocus"].fixed and p["defocus"].start == 0.0 and 0.0 in fm.options["defocus_series"]
    plain = multislice_config(conv, tmp_path / "best.json", "documented", thickness_max=None, phonon_configs=0,
                              max_evals=60, time_limit=2700.0, defocus_series=False)
    assert "defocus_series" not in plain.forward_model.options
    listed = multislice_config(conv, tmp_path / "best.json", "documented", thickness_max=None, phonon_configs=0,
                               max_evals=60, time_limit=2700.0, defocus_series=[20.0, 10.0])
    assert listed.forward_model.options["defocus_series"] == [0.0, 10.0, 20.0]  # the start's 0 added
    assert not p["pixel_size"].fixed if p["pixel_size"].fixed is not None else True
    # a window convergence check: explicit PRISM factors replace the settings' window
    assert fm.options["prism_window"] == 8.5 and "prism_interpolation" not in fm.options
    wider = multislice_config(conv, tmp_path / "best.json", "documented", thickness_max=None, phonon_configs=0,
                              max_evals=60, time_limit=2700.0, prism_interpolation=(4, 8)).forward_model.options
    assert "prism_window" not in wider and MultisliceOptions(**wider).prism_interpolation == (4, 8)
    # both cores: abTEM's FFTW and dask threads (and the propagation's batches) from the benchmark's --threads
    assert "threads" not in fm.options
    two = multislice_config(conv, tmp_path / "best.json", "documented", thickness_max=None, phonon_configs=0,
                            max_evals=60, time_limit=2700.0, threads=2).forward_model.options
    assert MultisliceOptions(**two).threads == 2
    assert cfg.optimizer.name == "powell" and cfg.optimizer.starts == 1 and cfg.optimizer.max_evals == 60
