"""ingrained-stm: Tersoff–Hamann STM forward model for ingrained.

Importing this package is cheap (no numpy, scipy or pymatgen): the model lives in
:mod:`ingrained_stm.model`, the synthetic Cu2O(111) density in :mod:`ingrained_stm.synthetic`.
"""

__version__ = "0.1.0"
