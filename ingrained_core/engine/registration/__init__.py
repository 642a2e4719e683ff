"""Coarse-to-fine placement of a simulation inside the experimental image (the paper's
"Image Registration"), and the residual translation d_trans.

Both images are quantised to 16 grey levels (each with its own range), as published.

1. **Coarse**: candidate placements are ranked, by one FFT normalised cross-correlation
   surface over every placement, pooled in 4 x 4 blocks (``method="ncc"``, default), or by
   the published windowed-histogram chi-squared map of the 4x-downsampled images
   (``method="chi2"``). Candidates are tested in rank order for *stability*: the
   unnormalised circular cross-correlation (``phase_cross_correlation(simulation, patch,
   normalization=None)``) of the 4 x 4 block-averaged simulation and patch (same block
   grid) peaks at zero shift. The first stable candidate wins (else the smallest shift).
2. **Fine** (native resolution): placements within +-4 px of the coarse one are tested the
   same way, in order of native correlation following residual shifts (``fine="ranked"``,
   default) or row by row as published (``fine="scan"``); the first locked placement
   wins, else the one with the smallest residual shift.
3. ``d_trans = |dy| + |dx|`` of the residual shift at the chosen placement.

Search bias (the published grain-boundary mode): a fraction ``b`` of the free range of
top-left positions is excluded, half at each end (``vertical_bias = 0.15`` by default).
Everything that depends on the experiment alone is computed once; transforms are cached
per simulation shape, and transforms of experimental patches (which depend on the
experiment alone) in stores bounded in bytes (:class:`~.cache.ByteLRU`). Exact semantics
and the comparison with the published method: ``docs/registration.md``.
"""

from __future__ import annotations

from ingrained_core.engine.registration.correlation import residual_shift, residual_shift_exact
from ingrained_core.engine.registration.registrar import Placement, Registrar

__all__ = ["Placement", "Registrar", "residual_shift", "residual_shift_exact"]
