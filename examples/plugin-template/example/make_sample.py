"""Write ``lattice.npy``, the sample image ``fuse.toml`` fits: the template model plus seeded noise.

The truth (pixel 0.22 Å, spot sigma 0.6 Å, rotation 12°) is
what a fit of ``fuse.toml`` should find; the Gaussian noise (σ 0.05 of the peak) is seeded,
so the file is the same every time. Run ``python make_sample.py`` in this folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingrained_gaussian_lattice.model import GaussianLattice

TRUTH = {"pixel_size": 0.22, "sigma": 0.6, "rotation": 12.0, "crop_height": 95, "crop_width": 95}


def main() -> None:
    image = GaussianLattice().simulate(TRUTH).array
    noisy = image + np.random.default_rng(15).normal(0.0, 0.05, image.shape)
    np.save(Path(__file__).with_name("lattice.npy"), noisy.astype(np.float32), allow_pickle=False)


if __name__ == "__main__":
    main()
