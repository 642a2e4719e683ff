"""Automatic start values of the geometric parameters (``start = "auto"``): lattice peaks of
the experiment matched to the forward model's own simulated lattice, candidates incl. aliases,
the file's calibration, and a global stage ranking candidates by FOM (docs/autostart.md)."""
