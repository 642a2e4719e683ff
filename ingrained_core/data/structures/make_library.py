"""Regenerate the bundled bulk cells (``*.cif`` here) from published crystallographic data.

Each entry: formula, space group (Hermann–Mauguin, pymatgen's default setting), lattice
constants (Å), the Wyckoff positions of the asymmetric unit, and the reference the numbers
come from (also listed in README.md). Run ``python make_library.py`` to rewrite the CIFs;
the library builder reads only the CIFs and ``library.json`` (no pymatgen symmetry work at
run time).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: formula, space group, lattice (a, b, c, alpha, beta, gamma), species, fractional coords, Wyckoff labels, reference.
ENTRIES = [
    {
        "formula": "CdTe", "space_group": "F-43m", "lattice": (6.481, 6.481, 6.481, 90, 90, 90),
        "species": ["Cd", "Te"], "coords": [[0, 0, 0], [0.25, 0.25, 0.25]], "wyckoff": ["4a", "4c"],
        "reference": "Zinc-blende CdTe, a = 6.481 Å at room temperature: K. Zanio, 'Cadmium Telluride', "
                  "Semiconductors and Semimetals vol. 13 (Academic Press, 1978), ch. 2.",
    },
    {
        "formula": "Si", "space_group": "Fd-3m", "lattice": (5.431020511, 5.431020511, 5.431020511, 90, 90, 90),
        "species": ["Si"], "coords": [[0, 0, 0]], "wyckoff": ["8a"],
        "reference": "Diamond-structure Si, a = 5.431020511 Å at 22.5 °C: CODATA 2018 recommended value "
                  "(E. Tiesinga et al., Rev. Mod. Phys. 93, 025010 (2021)).",
    },
    {
        "formula": "Ni", "space_group": "Fm-3m", "lattice": (3.5238, 3.5238, 3.5238, 90, 90, 90),
        "species": ["Ni"], "coords": [[0, 0, 0]], "wyckoff": ["4a"],
        "reference": "fcc Ni, a = 3.5238 Å at 26 °C: H. E. Swanson and E. Tatge, NBS Circular 539, vol. I, p. 13 (1953).",
    },
    {
        "formula": "Mo3B2", "space_group": "P4/mbm", "lattice": (6.0652, 6.0652, 3.1437, 90, 90, 90),
        "species": ["Mo", "Mo", "B"], "coords": [[0, 0, 0], [0.1718, 0.6718, 0.5], [0.3880, 0.8880, 0]],
        "wyckoff": ["2a", "4h", "4g"],
        "reference": "U3Si2-type Mo3B2 (P4/mbm) as computed by the Materials Project (DFT-PBE) and used by "
                  "the ingrained paper (Schwenker et al., 2022, Case 2): lattice constants and Wyckoff x "
                  "recovered from the published bicrystal (shared/data/stem/ni_m3b2/bicrystal.POSCAR.vasp) "
                  "by removing its published strains (width -4.303 %, depth -0.438 %). The binary phase has "
                  "no well-characterised experimental cell; the U3Si2 prototype has 4h x = 0.181, 4g x = 0.389.",
    },
    {
        "formula": "Cu2O", "space_group": "Pn-3m", "lattice": (4.2696, 4.2696, 4.2696, 90, 90, 90),
        "species": ["O", "Cu"], "coords": [[0, 0, 0], [0.25, 0.25, 0.25]], "wyckoff": ["2a", "4b"],
        "reference": "Cuprite Cu2O, a = 4.2696 Å at 26 °C: H. E. Swanson and R. K. Fuyat, NBS Circular 539, "
                  "vol. II, p. 23 (1953); origin choice 1 (O at 2a 0,0,0; Cu at 4b 1/4,1/4,1/4).",
    },
    {
        "formula": "Al", "space_group": "Fm-3m", "lattice": (4.0494, 4.0494, 4.0494, 90, 90, 90),
        "species": ["Al"], "coords": [[0, 0, 0]], "wyckoff": ["4a"],
        "reference": "fcc Al, a = 4.0494 Å at 25 °C: H. E. Swanson and E. Tatge, NBS Circular 539, vol. I, p. 11 (1953).",
    },
    {
        "formula": "Al2O3", "space_group": "R-3c", "lattice": (4.7602, 4.7602, 12.9933, 90, 90, 120),
        "species": ["Al", "O"], "coords": [[0, 0, 0.35216], [0.30624, 0, 0.25]], "wyckoff": ["12c", "18e"],
        "reference": "Corundum α-Al2O3 (hexagonal setting): J. Lewis, D. Schwarzenbach and H. D. Flack, "
                  "Acta Cryst. A38, 733-739 (1982).",
    },
]


def build(entry: dict):
    """The pymatgen Structure of one entry (conventional cell)."""
    from pymatgen.core import Lattice, Structure

    lattice = Lattice.from_parameters(*entry["lattice"])
    return Structure.from_spacegroup(entry["space_group"], lattice, entry["species"], entry["coords"])


def main() -> None:
    from pymatgen.io.cif import CifWriter
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    index = []
    for entry in ENTRIES:
        s = build(entry)
        sg = SpacegroupAnalyzer(s, symprec=1e-3).get_space_group_symbol()
        if sg != entry["space_group"]:
            raise SystemExit(f"{entry['formula']}: built structure has space group {sg}, expected {entry['space_group']}")
        name = f"{entry['formula']}_{entry['space_group'].replace('/', '_')}.cif"
        CifWriter(s, symprec=None).write_file(HERE / name)
        index.append({
            "formula": s.composition.reduced_formula, "space_group": entry["space_group"], "file": name,
            "lattice": list(entry["lattice"]), "wyckoff": dict(zip(entry["wyckoff"], entry["species"])),
            "n_atoms": len(s), "reference": entry["reference"],
        })
        print(f"{name}: {s.composition.formula}, {len(s)} atoms, {sg}")
    (HERE / "library.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
