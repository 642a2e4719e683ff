"""Compare a finished Cu2O run with the paper: pixel size and lattice orientation (mod 60°).

    python examples/cu2o_111/check_orientation.py runs/cu2o

The lattice orientation is the surface lattice taken through the model's whole map
(rotation, shear, stretch, pixel size: ingrained_stm.orientation), compared with the
published best through the published code's map and with the lattice measured on the
experimental image itself. The acceptance of the STM issue: pixel within 3 % of 0.2716 Å,
orientation within 3° (mod 60) of the published one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from ingrained_stm import orientation as O

PAPER_BEST = {"shear_x": 0.0757, "shear_y": -0.2462, "stretch_x": -0.0200, "stretch_y": -0.1746,
              "rotation": 113.18, "pixel_size": 0.27159}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    run = Path(argv[0])
    best = json.loads((run / "best.json").read_text())
    p = best["params"]
    from ingrained_stm.model import TersoffHamannSTM

    from ingrained_core.engine.run import load_run_config

    cfg = load_run_config(run)
    lattice = TersoffHamannSTM(cfg.forward_model.input).surface.lattice
    fitted = O.lattice_orientation(p, lattice)
    published = O.published_lattice_orientation(PAPER_BEST, lattice)
    measured = O.measure_lattice(np.load(run / "experiment.npy"))
    d_paper = O.angle_difference(fitted, published)
    ok = abs(p["pixel_size"] / 0.2716 - 1) <= 0.03 and abs(d_paper) <= 3.0
    print(f"FOM {best['fom']:.5f} (d_trans {best['d_trans']}) at evaluation {best['evaluation']} of "
          f"{best['evaluations']}, {best.get('elapsed_s', float('nan')):.1f} s")
    print(f"pixel size {p['pixel_size']:.5f} Å ({100 * (p['pixel_size'] / 0.2716 - 1):+.2f} % from 0.2716)")
    print(f"lattice directions {np.round(O.directions(O.lattice_vectors_px(p, lattice)), 2)} deg; "
          f"measured on the image {np.round(measured['directions'], 2)}")
    print(f"orientation {fitted:.2f}° mod 60; published best {published:.2f}° ({d_paper:+.2f}); "
          f"image {measured['orientation']:.2f}° ({O.angle_difference(fitted, measured['orientation']):+.2f}); "
          f"rotation parameter {p['rotation']:.2f}°")
    print("acceptance (pixel 3 %, orientation 3° mod 60):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
