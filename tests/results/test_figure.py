"""The talk figure: one magnification for every panel, scale bars of the right length.

Measured on the saved 300-dpi PNG: figure pixels per image pixel from each panel's axes
transform, and each scale bar's drawn length found in the PNG by its colour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingrained_core.apps.figures import FIGURE_DPI, SCALEBAR_COLOR, fused_figure, nice_length, save_figure_set


def _bar_rgb() -> np.ndarray:
    h = SCALEBAR_COLOR.lstrip("#")
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=float)


def _longest_run(mask: np.ndarray) -> int:
    best = 0
    for row in mask:
        padded = np.concatenate(([0], row.astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(padded))
        if edges.size:
            best = max(best, int((edges[1::2] - edges[::2]).max()))
    return best


@pytest.mark.parametrize("shape, crop, pixel_size", [((300, 400), (101, 81), 0.2), ((512, 256), (201, 167), 0.085)])
def test_common_magnification_and_scalebar_length(tmp_path: Path, shape, crop, pixel_size) -> None:
    import imageio.v3 as iio

    rng = np.random.default_rng(1)
    experiment = rng.normal(size=shape)
    simulation = rng.normal(size=crop)
    patch = {"row": 40, "col": 30, "height": crop[0], "width": crop[1]}
    fig = fused_figure(experiment, simulation, patch, fom=0.3, d_trans=1, d_sim=0.2, alpha=0.1, beta=1.0,
                       pixel_size=pixel_size, params={"pixel_size": pixel_size, "crop_height": crop[0]},
                       units={"pixel_size": "Å", "crop_height": "px"}, title="a title", interface_rows=[50.0])
    paths = save_figure_set(tmp_path / "fused", fig)
    assert [p.suffix for p in paths] == [".png", ".svg", ".pdf"] and all(p.stat().st_size > 0 for p in paths)
    png = iio.imread(paths[0])[..., :3].astype(float)
    assert fig.dpi == FIGURE_DPI
    assert png.shape[1] == pytest.approx(fig.get_figwidth() * FIGURE_DPI, abs=1)

    panels = fig.ingrained_panels
    assert {"experiment", "simulation", "fused"} <= set(panels)
    factors = {}
    for name, ax in panels.items():
        (x0, y0), (x1, y1) = ax.transData.transform([(0.0, 0.0), (1.0, 1.0)])
        factors[name] = (abs(x1 - x0), abs(y1 - y0))
        assert factors[name][0] == pytest.approx(factors[name][1], rel=1e-3)  # square pixels
    ref = factors["experiment"][0]
    for name in ("simulation", "fused", "residual"):
        assert factors[name][0] == pytest.approx(ref, rel=0.01), name

    height = png.shape[0]
    close = np.linalg.norm(png - _bar_rgb(), axis=2) < 15
    for name, ax in panels.items():
        bb = ax.get_window_extent()
        rows = slice(int(height - bb.y1), int(height - bb.y0))
        cols = slice(int(bb.x0), int(bb.x1))
        drawn = _longest_run(close[rows, cols])
        bar_a = fig.ingrained_scalebars_a[name]
        assert bar_a == nice_length(0.3 * ax.get_images()[0].get_array().shape[1] * pixel_size)
        expected = bar_a / pixel_size * factors[name][0]
        # 2 %, or one raster pixel for a short bar (its antialiased ends are not counted)
        assert abs(drawn - expected) <= max(0.02 * expected, 1.0), (name, drawn, expected)


def test_nice_length() -> None:
    assert nice_length(4.9) == 2.0
    assert nice_length(5.0) == 5.0
    assert nice_length(73.0) == 50.0
    assert nice_length(0.13) == pytest.approx(0.1)


def test_image_row_panels_share_one_magnification_and_carry_colour_bars() -> None:
    from ingrained_core.apps.figures import height_label, image_row

    rng = np.random.default_rng(2)
    panels = [
        {"image": rng.normal(size=(512, 512)), "label": "as read", "pixel_size": 0.2},
        {"image": rng.normal(size=(302, 302)), "label": "preprocessed", "pixel_size": 0.2, "boxes": [(10, 10, 50, 60)]},
        {"image": rng.normal(size=(79, 79)), "label": "stm", "pixel_size": 0.27,
         "colorbar": height_label("stm", {"mode": "constant-current"})},
    ]
    fig = image_row(panels, title="t", dpi=100)
    scales = [abs(np.diff(ax.transData.transform([(0, 0), (1, 0)]), axis=0)[0, 0]) for ax in fig.ingrained_panels]
    assert scales[1] == pytest.approx(scales[0], rel=0.01) and scales[2] == pytest.approx(scales[0], rel=0.01)
    assert len(fig.axes) == 4  # three panels and one colour bar
    assert fig.axes[-1].get_ylabel() == "height above the top atom (Å)"
    assert height_label("haadf") is None


def test_vector_files_embed_each_image_at_its_own_pixels(tmp_path: Path) -> None:
    """PDF and SVG hold the experiment (300 x 400) unsampled, not resampled to the figure's dpi;
    the figure's images keep their nearest-neighbour interpolation for the PNG."""
    import re

    rng = np.random.default_rng(2)
    patch = {"row": 40, "col": 30, "height": 101, "width": 81}
    fig = fused_figure(rng.normal(size=(300, 400)), rng.normal(size=(101, 81)), patch, fom=0.3, d_trans=1,
                       d_sim=0.2, alpha=0.1, beta=1.0, pixel_size=0.2)
    save_figure_set(tmp_path / "fig", fig)
    pdf = (tmp_path / "fig.pdf").read_bytes()
    sizes = set(re.findall(rb"/Subtype /Image /Width (\d+) /Height (\d+)", pdf))
    assert (b"400", b"300") in sizes and (b"81", b"101") in sizes, sizes
    import base64
    import io

    from PIL import Image

    svg = (tmp_path / "fig.svg").read_text()  # each image a PNG data URI, scaled by a transform
    shapes = {Image.open(io.BytesIO(base64.b64decode(uri))).size
              for uri in re.findall(r'xlink:href="data:image/png;base64,([^"]+)"', svg)}
    assert (400, 300) in shapes and (81, 101) in shapes, shapes
    assert {im.get_interpolation() for ax in fig.axes for im in ax.get_images()} == {"nearest"}
