"""Frozen-phonon cost of a thickness series on the small CdTe [110] cell (issue 19), same process.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_phonons.py [--configs 0 2 4] [--periods 2]

Coarse (0.1 Å sampling, 50-80 mrad ADF, sparse scan, PRISM without interpolation), so it
takes a minute or two: the ratios between configuration counts are the figure, the
seconds depend on the machine's load. Prints one JSON line per configuration count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ase.build import bulk
from pymatgen.io.ase import AseAtomsAdaptor

PERIOD = 4.5820519
PARAMS = {"pixel_size": 0.2, "source_size": 0.6, "crop_height": 51, "crop_width": 41,
          "detector_inner": 50.0, "detector_outer": 80.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--periods", type=int, default=2)
    args = ap.parse_args(argv)
    from ingrained_abtem.model import HaadfMultislice

    cell = AseAtomsAdaptor.get_structure(bulk("CdTe", "zincblende", a=6.48, orthorhombic=True)) * (1, 2, 2)
    HaadfMultislice(cell, method="prism", sampling=0.1, phonon_configs=0, scan_sampling=0.5).simulate(
        {**PARAMS, "thickness": PERIOD})  # first use (kernel compilation) outside the timings
    for n in args.configs:
        model = HaadfMultislice(cell, method="prism", sampling=0.1, slice_thickness=2.3, phonon_configs=n,
                                scan_sampling=0.5, thickness_max=args.periods * PERIOD)
        t0 = time.perf_counter()
        sim = model.simulate({**PARAMS, "thickness": args.periods * PERIOD})
        info = sim.metadata["multislice"]
        print(json.dumps({"configs": n, "periods": args.periods, "wall_s": round(time.perf_counter() - t0, 2),
                          "phonons": info["phonons"], "load_average": os.getloadavg()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
