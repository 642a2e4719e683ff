"""Registration, cheap import, the shared parameter contract, options and the missing-abTEM errors.

None of these needs abTEM: the missing-abTEM cases hide it in a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
from importlib.metadata import entry_points

import pytest
from ingrained_stem.params import HaadfParams

from ingrained_core.plugin.errors import ConfigError
from ingrained_core.plugin.params import ParameterSpace
from ingrained_core.plugin.protocols import ForwardModel

from .conftest import run_python


def test_entry_point_and_contribution():
    eps = {ep.name: ep.value for ep in entry_points(group="ingrained")}
    assert eps.get("abtem") == "ingrained_abtem.plugin"
    from ingrained_abtem import plugin

    (contribution,) = plugin.ingrained_forward_models()
    assert contribution.name == "haadf-multislice"
    assert contribution.target == "ingrained_abtem.model:HaadfMultislice"
    assert contribution.requires == ("abtem",)
    cls = contribution.load()
    assert cls.name == "haadf-multislice" and cls.input_kind == "structure"


def test_plugin_and_model_modules_do_not_import_abtem():
    proc = run_python(
        "import sys, ingrained_abtem.plugin\n"
        "heavy = [m for m in ('numpy', 'abtem', 'dask', 'numba', 'pymatgen') if m in sys.modules]\n"
        "import ingrained_abtem.model, ingrained_abtem.params\n"
        "print(','.join(heavy) + '|' + str('abtem' in sys.modules))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "|False"


def test_params_extend_the_convolution_models():
    from ingrained_abtem.params import MultisliceParams

    assert issubclass(MultisliceParams, HaadfParams)
    conv, ms = HaadfParams.describe(), MultisliceParams.describe()
    for name, spec in conv.items():  # every 'haadf' parameter, same bounds, units, default status
        assert ms[name] == spec, name
    assert set(ms) - set(conv) == {"thickness", "phonon_sigma"}
    assert ms["thickness"]["unit"] == "Å" and not ms["thickness"]["free"]
    # a 'haadf' run's [forward_model.params] is valid unchanged
    space = ParameterSpace(MultisliceParams, {})
    assert set(space.free_names) == {n for n, s in conv.items() if s["free"]}


def test_model_satisfies_the_protocol_without_abtem(small_cell):
    from ingrained_abtem.model import HaadfMultislice

    model = HaadfMultislice(small_cell)
    assert isinstance(model, ForwardModel)
    s = model.structure_at({"interface_width": 0.0})
    assert len(s) == len(small_cell)


def test_options_are_validated_with_the_field_named(small_cell):
    from ingrained_abtem.model import HaadfMultislice

    with pytest.raises(ConfigError, match="sampling"):
        HaadfMultislice(small_cell, sampling=-0.1)
    with pytest.raises(ConfigError, match="method"):
        HaadfMultislice(small_cell, method="bloch")
    with pytest.raises(ConfigError, match="prism_interpolation"):
        HaadfMultislice(small_cell, prism_interpolation=(2, 0))
    with pytest.raises(ConfigError, match="samplign.*did you mean 'sampling'"):
        HaadfMultislice(small_cell, samplign=0.05)


def test_non_orthogonal_cell_is_refused_with_its_angles():
    from ingrained_abtem.model import HaadfMultislice
    from pymatgen.core import Lattice, Structure

    hexagonal = Structure(Lattice.hexagonal(3.0, 5.0), ["Au"], [[0, 0, 0]])
    with pytest.raises(ConfigError, match=r"orthogonal cell.*120\.0000°"):
        HaadfMultislice(hexagonal)


def test_partial_occupancy_is_refused():
    from ingrained_abtem.model import HaadfMultislice
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.orthorhombic(4, 10, 10), [{"Cd": 0.5, "Te": 0.5}], [[0, 0.5, 0.5]])
    with pytest.raises(ConfigError, match="site 0 is partially occupied or mixed"):
        HaadfMultislice(s)


def test_missing_abtem_gives_the_install_command():
    proc = run_python(
        "from ingrained_abtem.model import HaadfMultislice\n"
        "from tests.abtem.conftest import cdte_110, SMALL_OPTIONS, SMALL_PARAMS\n"
        "from ingrained_core.plugin.errors import PluginError\n"
        "model = HaadfMultislice(cdte_110(), **SMALL_OPTIONS)\n"
        "try:\n"
        "    model.simulate(SMALL_PARAMS)\n"
        "except PluginError as exc:\n"
        "    print('PluginError:', exc)\n",
        hide_abtem=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "PluginError: forward model 'haadf-multislice' needs abTEM" in proc.stdout
    assert "install with: pip install abtem" in proc.stdout


def test_plugins_list_reports_the_missing_dependency():
    proc = run_python("from ingrained_core.cli import main\nmain(['plugins', 'list', '--json'])\n", hide_abtem=True)
    assert proc.returncode == 0, proc.stderr
    (row,) = [r for r in json.loads(proc.stdout) if r["name"] == "haadf-multislice"]
    assert row["status"] == "missing dependency"
    assert row["message"].startswith("missing dependency: abtem") and "pip install abtem" in row["message"]
    # and with abTEM present (this environment), the same listing says ok
    if importlib.util.find_spec("abtem") is not None:
        proc = run_python("from ingrained_core.cli import main\nmain(['plugins', 'list', '--json'])\n")
        (row,) = [r for r in json.loads(proc.stdout) if r["name"] == "haadf-multislice"]
        assert row["status"] == "ok"


def test_a_run_with_abtem_missing_stops_with_the_install_command(tmp_path):
    from ..conftest import real_file
    from .conftest import TWIN_DIR

    real_file("cdte_twin/HAADF26.dm3")
    proc = run_python(
        "from ingrained_core.cli import main\n"
        f"main(['fuse', {str(TWIN_DIR / 'refine-multislice.toml')!r}, '--out', {str(tmp_path / 'run')!r}, '--quiet'])\n",
        hide_abtem=True,
    )
    assert proc.returncode != 0
    assert "missing dependency: abtem" in proc.stderr and "pip install" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_non_periodic_input_is_refused():
    from ingrained_abtem.model import HaadfMultislice
    from pymatgen.core import Molecule

    with pytest.raises(ConfigError, match="periodic pymatgen Structure.*Molecule"):
        HaadfMultislice(Molecule(["Au"], [[0, 0, 0]]))
