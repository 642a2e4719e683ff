"""The plugin's registration: entry point, cheap import, the ForwardModel contract."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from ingrained_stem.params import HaadfParams

from ingrained_core.plugin import ForwardModel

from .conftest import single_atom


def test_entry_point_is_declared():
    eps = {ep.name: ep.value for ep in entry_points(group="ingrained")}
    assert eps.get("stem") == "ingrained_stem.plugin"


def test_plugin_module_is_cheap_to_import():
    code = (
        "import sys, ingrained_stem.plugin as p; "
        "heavy = [m for m in ('numpy', 'scipy', 'pymatgen', 'ingrained_stem.model') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_hook_contributes_the_haadf_model():
    from ingrained_stem import plugin

    (contribution,) = plugin.ingrained_forward_models()
    assert contribution.name == "haadf"
    assert contribution.target == "ingrained_stem.model:HaadfConvolution"
    cls = contribution.load()
    assert cls.name == "haadf" and cls.Params is HaadfParams and cls.input_kind == "structure"


def test_model_passes_the_conformance_kit():
    from ingrained_stem.model import HaadfConvolution

    from ingrained_core.testing import check_forward_model

    params = {"crop_height": 61, "crop_width": 71, "pixel_size": 0.3}
    # outside the domain: bounds, and a detector whose outer angle is inside its inner one
    invalid = [{"pixel_size": 2.0}, {"crop_height": 9001}, {"detector_inner": 160.0, "detector_outer": 150.0}]
    check_forward_model(HaadfConvolution, params, input=single_atom("Au"), invalid=invalid)
    model = HaadfConvolution(single_atom("Au"))
    assert isinstance(model, ForwardModel)
    image = model.simulate(HaadfParams(crop_height=101, crop_width=101))
    assert image.metadata["crop_height"] == 101 and image.metadata["notices"] == []
    structure = model.structure_at(HaadfParams())
    assert len(structure) == 1 and structure.site_properties["grain"] == [0]
