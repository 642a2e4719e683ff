"""ingrained-abtem: the multislice HAADF STEM forward model ("haadf-multislice", abTEM).

Import-light: the entry point (:mod:`ingrained_abtem.plugin`) names the model as a string;
:mod:`ingrained_abtem.model` needs numpy, scipy and ingrained-stem, and abTEM itself is
imported on the first simulation only.
"""

__version__ = "0.1.0"
