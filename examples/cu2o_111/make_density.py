"""Write the synthetic Cu2O(111) partial charge density used by this example: Cu2O_111.PARCHG.

The published run used a DFT (VASP) PARCHG that is not public. This script builds the
stand-in documented in docs/models/stm.md and ingrained_stm.synthetic: the stoichiometric
Cu2O(111) slab (hexagonal surface cell, a = 6.038 Å) with a Tersoff–Hamann s-wave model
density (kappa from a 4.75 eV work function; weights Cu 1.0, O 0.1), on a 0.1 Å grid,
written as a real VASP PARCHG with pymatgen (about 17 MB, 15 s). It is a model, not DFT.

    python examples/cu2o_111/make_density.py            # writes next to this file
    python examples/cu2o_111/make_density.py OUT.PARCHG  # or where you say

It also prints the r_val start and bounds given by ingrained_stm.start.suggest_r_val,
which fuse.toml uses.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ingrained_stm.model import TersoffHamannSTM
from ingrained_stm.start import suggest_r_val
from ingrained_stm.synthetic import make_cu2o_111_parchg


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent / "Cu2O_111.PARCHG"
    t0 = time.perf_counter()
    make_cu2o_111_parchg(out, spacing=0.1)
    model = TersoffHamannSTM(out)
    s = suggest_r_val(model, z_above=1.0, z_above_max=4.0)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    print(f"grid {model.density.values.shape}, density range [{model.surface.rho_min:.3g}, {model.surface.rho_max:.3g}] e/Å^3")
    print(f"r_val start {s['start']:.5f}, min {s['min']:.3g}, max {s['max']:.4f} ({s['rule']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
