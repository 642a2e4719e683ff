"""A reader for plain VASP 5 POSCAR files that avoids importing ``pymatgen.io.vasp``.

Why: ``pymatgen.io.vasp`` imports its output parsers, which pull in ``scipy.signal``
and ``scipy.stats``. That costs 0.8-1.4 s of a run's set-up on the 2-core machine
(issue 18: the twin's fuse took 21 s from launch to stop, and the structure is read
before the search starts). pymatgen stays the reader of every other POSCAR.

Only the simplest layout is read here: a positive scale factor, three lattice rows, one
line of element symbols, one line of counts, ``Direct`` coordinates, with no selective
dynamics, no comments after the header, no velocities and nothing else after the
coordinates. For anything else :func:`read_plain_poscar` returns None and the caller
asks pymatgen. Where it returns a structure, it is the one ``Structure.from_file`` gives,
to the last bit: the same lattice, species and fractional coordinates, made by the same
arithmetic (``tests/structures/test_poscar_reader.py`` compares them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

#: File names pymatgen reads as POSCAR and this reader also takes (upper-cased name or suffix).
POSCAR_NAMES = ("POSCAR", "CONTCAR")
POSCAR_SUFFIX = ".vasp"


def is_poscar_name(path: Path) -> bool:
    """True when ``path``'s name makes pymatgen read it as a POSCAR (``*.vasp``, ``POSCAR``, ``CONTCAR``)."""
    return path.suffix.lower() == POSCAR_SUFFIX or path.name.upper() in POSCAR_NAMES


def read_plain_poscar(text: str) -> Any | None:
    """The pymatgen ``Structure`` of a plain VASP 5 POSCAR ``text``; None for any other layout.

    None means "not read here", never "invalid": the caller then reads the file with
    pymatgen, which gives its own message for a broken file.
    """
    from pymatgen.core import Element, Structure

    if not text.strip():
        return None
    chunks = re.split(r"\n\s*\n", text.rstrip(), flags=re.MULTILINE)
    if len(chunks) != 1:
        return None  # a blank line: velocities or a predictor block follow (or a broken file)
    lines = [line.strip() for line in chunks[0].split("\n")]
    if len(lines) < 9 or any("#" in line for line in lines[1:]):
        return None
    try:
        scale = float(lines[1])
        rows = [[float(v) for v in line.split()] for line in lines[2:5]]
        symbols = lines[5].split()
        counts = [int(v) for v in lines[6].split()]
    except ValueError:
        return None
    if not scale > 0 or any(len(row) != 3 for row in rows):
        return None
    if not symbols or len(symbols) != len(counts) or any(n <= 0 for n in counts):
        return None
    if not all(Element.is_valid_symbol(sym) for sym in symbols):
        return None
    if not lines[7] or lines[7][0] not in "dD":
        return None  # selective dynamics, Cartesian coordinates or something else
    n_sites = sum(counts)
    if len(lines) != 8 + n_sites:
        return None  # truncated, or lattice velocities after the coordinates
    lattice = np.array(rows)
    lattice *= scale
    coords = []
    try:
        for line in lines[8:]:
            tokens = line.split()
            if len(tokens) < 3:
                return None
            coords.append([float(v) for v in tokens[:3]])
    except ValueError:
        return None
    species = [sym for sym, n in zip(symbols, counts) for _ in range(n)]
    return Structure(lattice, species, coords, to_unit_cell=False, validate_proximity=False, coords_are_cartesian=False)
