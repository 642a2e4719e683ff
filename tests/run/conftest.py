"""The run tests' fixtures (``lattice_plugin``, ``lattice_case``) and the run case's
``TRUTH`` live in tests/conftest.py; they are re-exported here for the modules that
import them from this one (tests/run/test_fuse.py, tests/scale/conftest.py).
"""

from __future__ import annotations

from ..conftest import TRUTH, lattice_case, lattice_plugin

__all__ = ["TRUTH", "lattice_case", "lattice_plugin"]
