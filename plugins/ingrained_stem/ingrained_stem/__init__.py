"""ingrained-stem: the incoherent HAADF STEM forward model ("haadf") for ingrained.

Kept import-light: the entry point (:mod:`ingrained_stem.plugin`) names the model as a
string, and :mod:`ingrained_stem.model` (numpy, scipy) is imported on first use.
"""

__version__ = "0.1.0"
