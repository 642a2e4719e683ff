"""A synthetic Cu2O(111) partial charge density: a Tersoff–Hamann s-wave MODEL, not DFT.

The published run used a DFT (VASP) partial charge density that is not public. For tests
and the example this module builds a stand-in from stated physics, fixed before any fit
and never tuned against the image:

Structure
    Bulk cuprite Cu2O, space group Pn-3m (224), a0 = 4.2696 Å: O on a bcc lattice
    (0,0,0), (½,½,½) and Cu at the four (¼,¼,¼)-type sites between them. The (111) slab is
    cut with pymatgen's ``SlabGenerator`` (primitive surface cell, c made normal to the
    surface), keeping the stoichiometric, non-polar, symmetric termination whose top
    layers are O (3-fold) over a Cu4 layer over O — the bulk-terminated Cu2O(111). The
    surface cell is hexagonal, a = a0·√2 = 6.038 Å, γ = 60°; it is kept as it is (nothing
    is orthogonalised) with vacuum above and below.

Density
    Tersoff–Hamann with s-wave tip states: the states near E_F decay into the vacuum as
    exp(−κ r) with κ = sqrt(2 m_e φ)/ħ, φ the work function, so their density decays as
    exp(−2κ r). The model density is a sum of atom-centred terms
    ρ(r) = Σ_i w_i (κ³/π) exp(−2κ |r − R_i|) (each term integrates to w_i electrons), summed
    over periodic images, on a grid of about 0.1 Å. φ = 4.75 eV, the middle of the
    4.5–5 eV range usual for Cu2O surfaces, gives κ = 1.117 Å⁻¹.

Weights (filled-state image of the valence-band top)
    Cu2O nominally has a filled upper valence band of Cu 3d states and an empty Cu 4s
    conduction band, with O 2p lying mostly deeper in the valence band (Ghijsen et al.,
    Phys. Rev. B 38, 11322 (1988); photoemission and band-structure studies since). The
    states within ~1 eV of the valence-band top are therefore taken as Cu-centred:
    w_Cu = 1.0, and O contributes only through hybridisation: w_O = 0.1. This is an
    order-of-magnitude statement of orbital character, not a measured or fitted number.

Surface variants (screening candidates, :func:`cu2o_111_variant`)
    Physically different Cu2O(111) surfaces, the same density recipe, changed only at the
    top surface (the one the model images): ``"stoichiometric"`` (the slab above);
    ``"cu_cus_vacancy"`` — the coordinatively unsaturated Cu of the top Cu4 layer (the one
    not bonded to the top O) removed, the Cu-deficient 1x1 surface discussed for
    Cu2O(111) (Soon et al., Phys. Rev. B 75, 125420 (2007)); ``"cu_terminated"`` — the top
    O removed, so the Cu4 layer is outermost. ``"o_states"`` keeps the stoichiometric
    atoms but images O-centred states (w_O = 1, w_Cu = 0.1), the electronic alternative.

ρ is in electrons per Å³ like a VASP PARCHG; :func:`write_parchg` writes ρ·V_cell, the
VASP convention, through pymatgen, and the file is read back by the model's normal reader.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np

from .density import Density

#: Cuprite lattice constant (Å), room temperature.
A0_CU2O = 4.2696
#: Work function used for the decay constant (eV).
WORK_FUNCTION_EV = 4.75
#: Per-element weights of the model density (see the module docstring).
WEIGHTS: dict[str, float] = {"Cu": 1.0, "O": 0.1}


def decay_constant(work_function_ev: float = WORK_FUNCTION_EV) -> float:
    """κ = sqrt(2 m_e φ)/ħ in Å⁻¹ for a work function φ in eV (from CODATA constants)."""
    from scipy import constants as c

    return math.sqrt(2.0 * c.m_e * work_function_ev * c.e) / c.hbar * 1e-10


def cu2o_bulk(a0: float = A0_CU2O):
    """Bulk cuprite Cu2O (Pn-3m) as a pymatgen ``Structure``."""
    from pymatgen.core import Lattice, Structure

    return Structure(
        Lattice.cubic(a0),
        ["O", "O", "Cu", "Cu", "Cu", "Cu"],
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25], [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75]],
    )


def cu2o_111_slab(a0: float = A0_CU2O, min_slab_size: float = 10.0, vacuum: float = 12.0):
    """The stoichiometric, non-polar, symmetric Cu2O(111) slab, hexagonal cell, c normal.

    The returned ``Structure`` has a along x, b in the xy plane (γ = 60°), c along z, and
    the slab centred in the cell.
    """
    from pymatgen.core import Lattice, Structure
    from pymatgen.core.surface import SlabGenerator

    gen = SlabGenerator(
        cu2o_bulk(a0), (1, 1, 1), min_slab_size=min_slab_size, min_vacuum_size=vacuum,
        center_slab=True, in_unit_planes=False, primitive=True,
    )
    chosen = None
    for slab in gen.get_slabs(symmetrize=False):
        if slab.is_polar() or not slab.is_symmetric():
            continue
        comp = slab.composition
        if abs(comp["Cu"] - 2 * comp["O"]) > 1e-8:
            continue
        top = max(slab, key=lambda s: s.coords @ _unit_normal(slab))
        if top.specie.symbol == "O":
            chosen = slab
            break
    if chosen is None:  # pragma: no cover - pymatgen behaviour changed
        raise RuntimeError("SlabGenerator gave no stoichiometric, symmetric, O-terminated Cu2O(111) slab")
    ortho = chosen.get_orthogonal_c_slab()
    lat = ortho.lattice
    clean = Lattice.from_parameters(lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma)
    slab = Structure(clean, [s.specie for s in ortho], np.mod(ortho.frac_coords, 1.0))
    return slab.get_sorted_structure()


def _unit_normal(slab) -> np.ndarray:
    m = slab.lattice.matrix
    n = np.cross(m[0], m[1])
    return n / np.linalg.norm(n)


def grid_shape(lattice_lengths: tuple[float, float, float], spacing: float) -> tuple[int, int, int]:
    """Points per axis: the even count giving a spacing no larger than ``spacing`` Å."""
    return tuple(int(2 * math.ceil(length / spacing / 2.0)) for length in lattice_lengths)  # type: ignore[return-value]


def model_density(
    structure,
    *,
    work_function_ev: float = WORK_FUNCTION_EV,
    weights: Mapping[str, float] | None = None,
    spacing: float = 0.1,
    shape: tuple[int, int, int] | None = None,
    tolerance: float = 1e-9,
) -> Density:
    """The s-wave Tersoff–Hamann model density of ``structure`` on a periodic grid.

    ρ(r) = Σ_i w_i (κ³/π) exp(−2κ|r − R_i|) over all periodic images within the distance
    where a term falls below ``tolerance`` times its peak. ``shape`` overrides ``spacing``.
    """
    weights = dict(WEIGHTS if weights is None else weights)
    missing = sorted({s.specie.symbol for s in structure} - set(weights))
    if missing:
        raise ValueError(f"no weight given for element(s) {', '.join(missing)}")
    kappa = decay_constant(work_function_ev)
    cell = np.array(structure.lattice.matrix)
    if shape is None:
        shape = grid_shape(tuple(structure.lattice.abc), spacing)
    na, nb, nc = shape
    frac_ab = np.stack(np.meshgrid(np.arange(na) / na, np.arange(nb) / nb, indexing="ij"), axis=-1).reshape(-1, 2)
    xy_ab = frac_ab @ cell[:2]  # (P, 3): in-plane part of each column's base point
    layer = np.arange(nc) / nc
    layer_pts = layer[:, None] * cell[2][None, :]  # (K, 3)
    r_cut = math.log(1.0 / tolerance) / (2.0 * kappa)
    # periodic images needed to cover r_cut in every direction
    recip = np.linalg.inv(cell).T  # rows: reciprocal vectors / 2π
    n_img = [int(math.ceil(r_cut * np.linalg.norm(recip[i]))) + 1 for i in range(3)]
    amp = kappa**3 / math.pi
    rho = np.zeros((na * nb, nc))
    xy2 = np.einsum("pd,pd->p", xy_ab, xy_ab)
    normal = np.cross(cell[0], cell[1])
    normal /= np.linalg.norm(normal)
    # Only the grid points a term can reach are computed (the others would add exactly 0):
    # the columns' in-plane positions, and each image's in-plane offset from them.
    xy_in = xy_ab - np.outer(xy_ab @ normal, normal)
    for site in structure:
        w = weights[site.specie.symbol] * amp
        for i in range(-n_img[0], n_img[0] + 1):
            for j in range(-n_img[1], n_img[1] + 1):
                for k in range(-n_img[2], n_img[2] + 1):
                    center = site.coords + i * cell[0] + j * cell[1] + k * cell[2]
                    rel = layer_pts - center  # (K, 3): layer base point relative to the atom
                    ks = np.nonzero(np.abs(rel @ normal) < r_cut)[0]  # layers within reach
                    if ks.size == 0:
                        continue
                    rel = rel[ks]
                    # a column p is out of reach of every layer when its in-plane distance to
                    # each layer's in-plane offset is >= r_cut (|r| >= its in-plane part)
                    rel_in = rel - np.outer(rel @ normal, normal)
                    lo, hi = rel_in.min(axis=0), rel_in.max(axis=0)
                    gap = np.maximum(np.maximum(-(xy_in + hi), xy_in + lo), 0.0)  # distance to the offsets' box
                    rows = np.nonzero(np.einsum("pd,pd->p", gap, gap) < r_cut * r_cut)[0]
                    if rows.size == 0:
                        continue
                    xy = xy_ab[rows]
                    # |xy + rel|^2 = |xy|^2 + 2 xy·rel + |rel|^2
                    d2 = xy2[rows, None] + 2.0 * (xy @ rel.T) + np.einsum("kd,kd->k", rel, rel)[None, :]
                    near = d2 < r_cut * r_cut
                    if not near.any():
                        continue
                    block = np.zeros(d2.shape)
                    block[near] = w * np.exp(-2.0 * kappa * np.sqrt(np.maximum(d2[near], 0.0)))
                    rho[np.ix_(rows, ks)] += block
    values = rho.reshape(na, nb, nc)
    return Density(
        values=values,
        cell=cell,
        positions=np.array(structure.cart_coords),
        species=tuple(s.specie.symbol for s in structure),
        source="synthetic Tersoff–Hamann model density",
    )


def write_parchg(density: Density, path: str | Path, comment: str = "synthetic Tersoff-Hamann model density (not DFT)") -> Path:
    """Write ``density`` as a VASP PARCHG (CHGCAR format, ρ·V_cell) with pymatgen."""
    from pymatgen.io.vasp.inputs import Poscar
    from pymatgen.io.vasp.outputs import Chgcar

    structure = density.structure()
    if structure is None:
        raise ValueError("a PARCHG needs the atoms; this density has none")
    chg = Chgcar(Poscar(structure), {"total": density.values * density.volume})
    path = Path(path)
    chg.write_file(str(path))
    # pymatgen writes a generic first line; put the provenance there (VASP ignores it)
    text = path.read_text()
    path.write_text(comment.replace("\n", " ") + text[text.index("\n"):])
    return path


#: Surface variants of :func:`cu2o_111_variant` (see the module docstring).
VARIANTS = ("stoichiometric", "cu_cus_vacancy", "cu_terminated", "o_states")


def cu2o_111_variant(variant: str = "stoichiometric", **slab_options: float):
    """(slab, weights) of a Cu2O(111) surface variant; see the module docstring and VARIANTS."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown Cu2O(111) variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    slab = cu2o_111_slab(**slab_options)
    weights = dict(WEIGHTS)
    if variant == "o_states":
        weights = {"Cu": WEIGHTS["O"], "O": WEIGHTS["Cu"]}
    if variant in ("cu_cus_vacancy", "cu_terminated"):
        normal = _unit_normal(slab)
        heights = np.array([s.coords @ normal for s in slab])
        top_o = int(np.argmax(heights))
        if variant == "cu_terminated":
            slab.remove_sites([top_o])
        else:
            # the top Cu layer: Cu within 1 Å below the top O; CUS = farthest (in-plane, periodic) from it
            cu = [i for i, s in enumerate(slab) if s.specie.symbol == "Cu" and 0.0 < heights[top_o] - heights[i] < 1.0]
            lat2 = slab.lattice.matrix[:2, :2]

            def inplane(i: int) -> float:
                d = slab[i].frac_coords[:2] - slab[top_o].frac_coords[:2]
                d -= np.round(d)
                return float(np.linalg.norm(d @ lat2))

            slab.remove_sites([max(cu, key=inplane)])
    return slab, weights


def make_cu2o_111_parchg(
    path: str | Path,
    *,
    spacing: float = 0.1,
    min_slab_size: float = 10.0,
    vacuum: float = 12.0,
    work_function_ev: float = WORK_FUNCTION_EV,
    weights: Mapping[str, float] | None = None,
    variant: str = "stoichiometric",
) -> Path:
    """Build the Cu2O(111) slab (or a ``variant``), its model density, and write it as a PARCHG."""
    slab, variant_weights = cu2o_111_variant(variant, min_slab_size=min_slab_size, vacuum=vacuum)
    density = model_density(slab, work_function_ev=work_function_ev, weights=weights or variant_weights,
                            spacing=spacing)
    return write_parchg(density, path, comment=f"synthetic Tersoff-Hamann model density (not DFT), Cu2O(111) {variant}")
