"""The thickness series (``thickness_max``): one propagation, every period's image, the thickness scanned.

Small CdTe [110] cell (4.58 Å per period), coarse settings (0.1 Å sampling, 50-80 mrad
detector, sparse scan, static lattice). The checks: the image after k periods of the
series equals the single-thickness simulation of k periods (both methods), every
thickness <= thickness_max costs no new simulation, and a run's thickness is chosen by
scanning the series through the problem's registration (the true thickness of an
experiment made by the model itself comes out).
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import SMALL_PARAMS

pytestmark = pytest.mark.abtem

PERIOD = 4.5820519
FAST = {"sampling": 0.1, "phonon_configs": 0, "slice_thickness": 2.3, "scan_sampling": 0.5}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["prism", "multislice"])
def test_series_equals_single_thickness_simulations(need_abtem, small_cell, method):
    from ingrained_abtem.model import HaadfMultislice

    opts = {**FAST, "method": method}
    series = HaadfMultislice(small_cell, **opts, thickness_max=2 * PERIOD)
    images = series.thickness_series(SMALL_PARAMS)
    assert [t for t, _ in images] == pytest.approx([PERIOD, 2 * PERIOD], abs=1e-3)
    assert series.stats["computed"] == 1  # one propagation for both thicknesses
    single = HaadfMultislice(small_cell, **opts)
    for k, (_t, cell) in enumerate(images, start=1):
        ref = single.cell_image({**SMALL_PARAMS, "thickness": k * PERIOD}).array
        assert np.max(np.abs(cell.array - ref)) <= 1e-5 * np.ptp(ref)
    # thicker specimen, more of the probe on the ADF detector
    assert images[1][1].array.mean() > images[0][1].array.mean()
    sim = series.simulate({**SMALL_PARAMS, "thickness": 2 * PERIOD})
    assert sim.metadata["multislice"]["repeats"] == 2 and sim.metadata["multislice"]["thickness_series"]
    assert series.stats["computed"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_smatrix_built_propagated_and_downsampled_in_beam_batches(need_abtem, small_cell, threads):
    """The series' in-place S-matrix steps, in batches of 3 plane waves, give abTEM's whole-array
    results: the build, the propagation through a second period (``threads`` batches at once)
    and the downsampling."""
    import abtem
    from ingrained_abtem.engine import CellSimulator, abtem_settings
    from ingrained_abtem.model import HaadfMultislice
    from ingrained_abtem.specimen import specimen_at

    model = HaadfMultislice(small_cell, **FAST, method="prism", threads=threads)
    params = model.Params(**{**SMALL_PARAMS, "thickness": PERIOD})
    specimen = specimen_at(model.projection, model._numbers, params.interface_width, PERIOD)
    plan = model.plan(params)
    sim = CellSimulator(model.options)
    sim.batch_bytes = 3 * int(np.prod(plan.gpts)) * 8  # 3 plane waves a batch
    with abtem_settings(abtem):
        period = sim._potential_of(sim._periods(specimen.to_atoms(), specimen)[0], plan, specimen.depth).build(lazy=False)
        whole = abtem.SMatrix(potential=period, energy=params.energy * 1e3, semiangle_cutoff=params.aperture,
                              interpolation=model.options.prism_interpolation, downsample=False).build(lazy=False)
        batched = sim._built_in_place(period, params)
        assert whole.array.shape[0] > 6 and sim._beam_batch(batched.array.shape[1:]) == 3
        np.testing.assert_array_equal(batched.array, whole.array)
        deeper = whole.multislice(period)
        sim._propagated_in_place(batched, period)
        np.testing.assert_array_equal(batched.array, deeper.array)
        down = sim._downsampled(batched, period, params)
        ref = abtem.Waves(deeper.array, energy=deeper.waves.energy, extent=deeper.waves.extent,
                          metadata={**deeper.waves.metadata,
                                    "adjusted_antialias_cutoff_gpts": deeper.waves.antialias_cutoff_gpts},
                          ensemble_axes_metadata=deeper.waves.ensemble_axes_metadata).downsample(
            gpts=down.array.shape[1:], normalization="intensity")
        assert down.array.shape == ref.array.shape and ref.array.shape[1] < whole.array.shape[1]
        np.testing.assert_allclose(down.array, ref.array, rtol=0, atol=1e-6 * np.abs(ref.array).max())


@pytest.mark.slow
def test_defocus_series_equals_single_simulations_at_each_defocus(need_abtem, small_cell):
    """One PRISM propagation reduced at two defoci: each (thickness, defocus) image equals its own simulation."""
    from ingrained_abtem.model import HaadfMultislice

    from ingrained_core.plugin.errors import ParameterError

    opts = {**FAST, "method": "prism"}
    defoci = [0.0, 40.0]
    series = HaadfMultislice(small_cell, **opts, thickness_max=2 * PERIOD, defocus_series=[40.0, 0.0])
    assert series.series_defoci() == defoci  # sorted
    single = HaadfMultislice(small_cell, **opts)
    images = {}
    for d in defoci:
        for k in (1, 2):
            got = series.cell_image({**SMALL_PARAMS, "thickness": k * PERIOD, "defocus": d}).array
            ref = single.cell_image({**SMALL_PARAMS, "thickness": k * PERIOD, "defocus": d}).array
            assert np.max(np.abs(got - ref)) <= 1e-5 * np.ptp(ref)
            images[d, k] = got
    assert series.stats["computed"] == 1  # one propagation for all four images
    # the defocus matters: a 40 Å underfocused probe gives another image
    assert np.max(np.abs(images[40.0, 2] - images[0.0, 2])) > 0.05 * np.ptp(images[0.0, 2])
    assert series.simulate({**SMALL_PARAMS, "thickness": PERIOD, "defocus": 40.0}).metadata["multislice"]["defocus"] == 40.0
    with pytest.raises(ParameterError, match=r"defocus: 5 Å is not in the defocus series .*\[0, 40\]"):
        series.simulate({**SMALL_PARAMS, "thickness": PERIOD, "defocus": 5.0})


@pytest.mark.slow
def test_slice_step_series_between_whole_periods(need_abtem, small_cell):
    """thickness_step = 1 slice: the images at whole periods equal the per-period series';
    the half-period ones lie between them and agree between PRISM and multislice."""
    from ingrained_abtem.model import HaadfMultislice

    half = {}
    for method in ("prism", "multislice"):
        opts = {**FAST, "method": method}
        fine = HaadfMultislice(small_cell, **opts, thickness_max=2 * PERIOD, thickness_step=1)
        assert fine.thicknesses() == pytest.approx([PERIOD / 2, PERIOD, 1.5 * PERIOD, 2 * PERIOD], abs=1e-3)
        whole = HaadfMultislice(small_cell, **opts, thickness_max=2 * PERIOD)
        for k in (1, 2) if method == "prism" else ():  # PRISM's chunks; multislice: its exit planes, below
            got = fine.cell_image({**SMALL_PARAMS, "thickness": k * PERIOD}).array
            ref = whole.cell_image({**SMALL_PARAMS, "thickness": k * PERIOD}).array
            assert np.max(np.abs(got - ref)) <= 1e-5 * np.ptp(ref)
        means = [fine.cell_image({**SMALL_PARAMS, "thickness": t}).array.mean() for t in fine.thicknesses()]
        assert means == sorted(means)  # more specimen, more of the probe on the detector
        assert fine.stats["computed"] == 1
        sim = fine.simulate({**SMALL_PARAMS, "thickness": 2.0})  # the thinnest image that reaches 2 Å
        assert sim.metadata["multislice"]["thickness"] == pytest.approx(PERIOD / 2, abs=1e-3)
        half[method] = fine.cell_image({**SMALL_PARAMS, "thickness": PERIOD / 2}).array
    assert np.max(np.abs(half["prism"] - half["multislice"])) <= 1e-3 * np.ptp(half["multislice"])


def test_thickness_step_is_checked(small_cell):
    from ingrained_abtem.model import HaadfMultislice

    from ingrained_core.plugin.errors import ConfigError

    with pytest.raises(ConfigError, match="thickness_step: 1 slices needs a thickness series"):
        HaadfMultislice(small_cell, **FAST, method="prism", thickness_step=1)
    with pytest.raises(ConfigError, match=r"thickness_step: 3 slices must divide the 2 slices of a cell period "
                                          r"\(4\.5821 Å at slice_thickness 2\.3 Å\): use one of 1, 2"):
        HaadfMultislice(small_cell, **FAST, method="prism", thickness_max=10.0, thickness_step=3)


def test_defocus_series_options_are_checked(small_cell):
    from ingrained_abtem.model import HaadfMultislice

    from ingrained_core.plugin.errors import ConfigError

    with pytest.raises(ConfigError, match="defocus_series: a defocus series is reduced along a thickness series; "
                                          "set forward_model.options.thickness_max"):
        HaadfMultislice(small_cell, method="prism", defocus_series=[0.0, 10.0])
    with pytest.raises(ConfigError, match="defocus_series.*distinct defoci"):
        HaadfMultislice(small_cell, method="prism", thickness_max=10.0, defocus_series=[0.0, 0.0])
    with pytest.raises(ConfigError, match="defocus_series.*-2000, 2000"):
        HaadfMultislice(small_cell, method="prism", thickness_max=10.0, defocus_series=[0.0, 2500.0])
    model = HaadfMultislice(small_cell, method="prism", thickness_max=10.0)
    assert model.series_defoci() == []


def test_thickness_beyond_the_series_and_memory_are_refused_before_abtem(small_cell):
    from .conftest import run_python

    code = (
        "import sys; sys.path.insert(0, 'tests/abtem')\n"
        "from conftest import cdte_110, SMALL_PARAMS\n"
        "from ingrained_abtem.model import HaadfMultislice\n"
        "from ingrained_core.plugin.errors import ConfigError, ParameterError\n"
        "cell = cdte_110()\n"
        "m = HaadfMultislice(cell, method='prism', sampling=0.1, phonon_configs=0, thickness_max=10.0)\n"
        "try:\n    m.simulate({**SMALL_PARAMS, 'thickness': 30.0})\nexcept ParameterError as e:\n    print('P:', e)\n"
        "m = HaadfMultislice(cell, method='multislice', sampling=0.1, phonon_configs=0, thickness_max=4000.0,"
        " memory_limit=0.5)\n"
        "try:\n    m.simulate(SMALL_PARAMS)\nexcept ConfigError as e:\n    print('C:', e)\n"
        "print('abtem loaded:', 'abtem' in sys.modules and sys.modules['abtem'] is not None)\n"
    )
    proc = run_python(code, hide_abtem=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "P: thickness: 30 Å is beyond the thickness series" in out and "thickness_max = 10 Å" in out
    assert "C: forward_model.options.thickness_max: this thickness series needs about" in out
    assert "memory_limit = 0.5 GiB" in out and "a smaller thickness_max" in out
    assert "abtem loaded: False" in out


def test_per_element_sigmas_from_the_debye_waller_table(small_cell):
    from ingrained_abtem.model import HaadfMultislice, MultisliceParams
    from ingrained_abtem.thermal import DEBYE_WALLER_B, sigma_from_b

    assert sigma_from_b(8 * np.pi**2 * 0.01) == pytest.approx(0.1)
    model = HaadfMultislice(small_cell, phonon_configs=2)
    sigmas, sources = model.sigmas({**SMALL_PARAMS, "phonon_sigma": 0.2})
    assert sigmas["Cd"] == pytest.approx(np.sqrt(DEBYE_WALLER_B["Cd"] / (8 * np.pi**2)), abs=1e-6)
    assert sigmas["Te"] == pytest.approx(np.sqrt(DEBYE_WALLER_B["Te"] / (8 * np.pi**2)), abs=1e-6)
    assert "table" in sources["Cd"]
    uniform = HaadfMultislice(small_cell, phonon_configs=2, thermal="phonon_sigma")
    assert uniform.sigmas({**SMALL_PARAMS, "phonon_sigma": 0.2})[0] == {"Cd": 0.2, "Te": 0.2}
    # a different amplitude is a different specimen: another cache key
    assert model.structure_key(MultisliceParams.coerce(SMALL_PARAMS)) != uniform.structure_key(MultisliceParams.coerce(SMALL_PARAMS))


@pytest.mark.slow
def test_frozen_phonon_series_reports_configurations_and_cost(need_abtem, small_cell):
    from ingrained_abtem.model import HaadfMultislice

    model = HaadfMultislice(small_cell, **{**FAST, "phonon_configs": 2}, method="prism", thickness_max=PERIOD)
    sim = model.simulate({**SMALL_PARAMS, "thickness": PERIOD})
    info = sim.metadata["multislice"]["phonons"]
    assert info["configs"] == 2 and info["seconds"] > 0 and info["seconds_per_config"] == pytest.approx(
        info["seconds"] / 2, abs=2e-3)
    assert set(info["sigmas"]) == {"Cd", "Te"} and "Peng" in info["table"]
    static = HaadfMultislice(small_cell, **FAST, method="prism").simulate({**SMALL_PARAMS, "thickness": PERIOD})
    assert not np.allclose(sim.array, static.array)  # the displacements change the image


@pytest.mark.slow
def test_run_chooses_thickness_and_defocus_from_a_defocus_series(need_abtem, small_cell, tmp_path):
    """An experiment simulated at 2 of 3 periods and 60 Å underfocus: the run's scan at the start
    point picks both (the thickness an interior minimum of the series)."""
    import tomllib

    from ingrained_abtem.model import HaadfMultislice

    from ingrained_core.apps.api import fuse

    opts = {**FAST, "method": "prism"}
    truth = HaadfMultislice(small_cell, **opts, thickness_max=2 * PERIOD, defocus_series=[0.0, 60.0])
    params = {**SMALL_PARAMS, "thickness": 2 * PERIOD, "defocus": 60.0, "crop_height": 61, "crop_width": 51}
    image = truth.simulate(params).array
    np.save(tmp_path / "experiment.npy", image / image.max())
    small_cell.to(filename=str(tmp_path / "cell.vasp"), fmt="poscar")
    options = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in opts.items())
    (tmp_path / "fuse.toml").write_text(f"""
[experiment]
path = "experiment.npy"

[structure]
builder = "file"
path = "cell.vasp"

[forward_model]
name = "haadf-multislice"

[forward_model.options]
{options}
thickness_max = {3 * PERIOD}
defocus_series = [-60.0, 0.0, 60.0]

[forward_model.params]
pixel_size = {SMALL_PARAMS["pixel_size"]}
source_size = {SMALL_PARAMS["source_size"]}
shear_x = {SMALL_PARAMS["shear_x"]}
shear_y = 0.0
stretch_x = 0.0
stretch_y = {SMALL_PARAMS["stretch_y"]}
crop_height = 45
crop_width = 37
interface_width = 0.0
detector_inner = 50.0
detector_outer = 80.0
thickness = {PERIOD}
defocus = 0.0

[fom]
similarity = "ssim-float7"      # float SSIM: the 8-bit one cannot tell 1 from 2 periods of this small cell

[registration]
vertical_bias = 0.0

[optimizer]
name = "powell"
max_evals = 2
""")
    result = fuse(tmp_path / "fuse.toml", tmp_path / "run", max_evals=2)
    assert result.params["thickness"] == pytest.approx(2 * PERIOD, abs=1e-3)
    assert result.params["defocus"] == pytest.approx(60.0)
    scan = tomllib.loads((tmp_path / "run" / "config.toml").read_text())["provenance"]["thickness_scan"]
    assert scan["chosen"] == pytest.approx(2 * PERIOD, abs=1e-3)
    assert scan["chosen_defocus"] == pytest.approx(60.0) and len(scan["rows"]) == 9
    assert {r["defocus"] for r in scan["rows"]} == {-60.0, 0.0, 60.0}
    best = min(scan["rows"], key=lambda r: r["fom"])
    assert (best["thickness"], best["defocus"]) == (pytest.approx(2 * PERIOD, abs=1e-3), 60.0)


#: Room-temperature B (Å²) of elemental crystals from an independent tabulation: V. F. Sears
#: and S. A. Shelley, Acta Cryst. A47 (1991) 441 (the values as listed there).
SEARS_SHELLEY_1991_B = {"Al": 0.81, "Si": 0.52, "Fe": 0.34, "Ni": 0.34, "Cu": 0.56, "Ge": 0.61, "Mo": 0.220,
                        "Ag": 0.73, "W": 0.161, "Pt": 0.37, "Au": 0.62, "Pb": 2.11}


def test_debye_waller_table_agrees_with_an_independent_tabulation() -> None:
    """A typo in the table (a factor of ten, a swapped row) shows against another source's
    values for the same crystals; the two tabulations differ by up to ~25 % (Mo)."""
    from ingrained_abtem.thermal import DEBYE_WALLER_B

    common = sorted(set(DEBYE_WALLER_B) & set(SEARS_SHELLEY_1991_B))
    assert len(common) >= 10
    for el in common:
        ours, theirs = DEBYE_WALLER_B[el], SEARS_SHELLEY_1991_B[el]
        assert abs(ours - theirs) / theirs <= 0.25, f"{el}: {ours} Å² against {theirs} Å² (Sears & Shelley 1991)"
