"""Set-up cost of reading the bundled POSCAR structures: ingrained's plain-POSCAR reader
against pymatgen's ``Structure.from_file`` (issue 18: the fuse's time to the optimizer's stop).

Each measurement is a fresh process that first imports what a fuse has imported by then
(``scipy.optimize`` and ``pymatgen.core``), then times reading the twin's and Ni/M3B2's
bicrystal POSCARs, the imports each reader pulls in included. The two readers alternate,
so both see the same machine load. Writes a JSON record.

    python benchmarks/bench_structure_read.py --repeats 5 --json benchmarks/results/structure-read-2026-12-02.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = ("examples/cdte_twin/bicrystal.POSCAR.vasp", "examples/ni_m3b2/bicrystal.POSCAR.vasp")

_CODE = """
import sys, time, warnings
import scipy.optimize, pymatgen.core
from pathlib import Path
files = sys.argv[2:]
t = time.perf_counter()
if sys.argv[1] == "ingrained":
    from ingrained_core.builtins.structures.poscar import read_plain_poscar
    sites = [len(read_plain_poscar(Path(f).read_text())) for f in files]
else:
    from pymatgen.core import Structure
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sites = [len(Structure.from_file(f)) for f in files]
print(time.perf_counter() - t, *sites, "pymatgen.io.vasp" in sys.modules)
"""


def _once(reader: str) -> tuple[float, list[int], bool]:
    out = subprocess.run([sys.executable, "-c", _CODE, reader, *FILES], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), [int(v) for v in out[1:-1]], out[-1] == "True"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    times: dict[str, list[float]] = {"ingrained": [], "pymatgen": []}
    sites: dict[str, list[int]] = {}
    imported: dict[str, bool] = {}
    for _ in range(args.repeats):
        for reader in times:
            t, n, vasp = _once(reader)
            times[reader].append(t)
            sites[reader], imported[reader] = n, vasp
    if sites["ingrained"] != sites["pymatgen"]:
        raise SystemExit(f"the readers disagree on the number of sites: {sites}")
    med = {k: statistics.median(v) for k, v in times.items()}
    for reader, values in times.items():
        print(f"{reader:9s} median {med[reader]:.3f} s  (runs: {', '.join(f'{v:.3f}' for v in values)}); "
              f"pymatgen.io.vasp imported: {imported[reader]}")
    print(f"saved per run set-up: {med['pymatgen'] - med['ingrained']:.3f} s (median of the differences "
          f"{statistics.median(p - i for p, i in zip(times['pymatgen'], times['ingrained'])):.3f} s)")
    if args.json:
        record = {
            "benchmark": "structure read at set-up", "date": date.today().isoformat(), "files": list(FILES),
            "sites": sites["ingrained"], "seconds": times, "median_s": med,
            "saved_s": med["pymatgen"] - med["ingrained"], "imports_pymatgen_io_vasp": imported,
            "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "load_average": list(os.getloadavg())},
            "command": "python benchmarks/bench_structure_read.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        }
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
