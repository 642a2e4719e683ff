"""benchmarks/bench_structure_read.py runs, agrees with pymatgen on the sites, and writes its record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_structure_read_benchmark_writes_its_record(tmp_path: Path) -> None:
    out = tmp_path / "read.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_structure_read.py"), "--repeats", "1",
                    "--json", str(out)], check=True, capture_output=True, text=True)
    record = json.loads(out.read_text())
    assert record["sites"] == [576, 2238]  # the twin and Ni/M3B2 bicrystals
    assert record["imports_pymatgen_io_vasp"] == {"ingrained": False, "pymatgen": True}
    assert set(record["seconds"]) == {"ingrained", "pymatgen"}
