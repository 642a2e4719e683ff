"""Keeping a long run's resident memory flat: glibc allocator settings and heap release.

Why: an evaluation allocates and frees dozens of numpy buffers of 100 KiB - 1.5 MiB
(simulation crops, FFT spectra, NCC maps, the registration's per-shape DFT matrices,
which an optimizer varying the crop size keeps replacing in a bounded cache). glibc
serves a request above ``M_MMAP_THRESHOLD`` (128 KiB at start) with its own ``mmap``,
returned to the system on ``free``; but each such ``free`` *raises* the threshold to the
freed size (the "dynamic mmap threshold", up to 32 MiB), so after the first evaluations
all these buffers come from the ``brk`` heap instead. Long-lived cache entries then sit
between short-lived temporaries, the heap fragments, and its extent - the process's
resident set - creeps up by ~5 MB per 1000 evaluations without end, although the live
data stays constant (measured on the CdTe twin: heap in use 110-125 MB throughout, free
holes in the heap 33 -> 77 MB, RSS +57 MB from evaluation 200 to 10 000;
``benchmarks/bench_soak.py``, docs/reliability.md).

:func:`tune_allocator` fixes the mmap threshold at 256 KiB (which also turns the dynamic
adjustment off), so the large buffers are mapped and unmapped individually and never
fragment the heap, and raises the trim threshold so that freeing the top of the heap does
not return memory that the next evaluation takes back at once. Cost: ~5 % per evaluation
(page faults of fresh mappings); at 128 KiB it was ~40 %. :func:`release_memory` calls
``malloc_trim(0)``, which returns every free heap page to the system; it lowers RSS at
once but not for long (the next evaluations touch the holes again), so it is for
measurements and for a process going idle, not a fix for fragmentation.

Both are no-ops returning False where the C library is not glibc (macOS, musl, Windows);
:func:`tune_allocator` also leaves the settings alone when the user chose them through
glibc's environment variables (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``GLIBC_TUNABLES``).
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from typing import Any

#: mmap threshold set by :func:`tune_allocator` (bytes): larger buffers are mapped individually.
MMAP_THRESHOLD = 256 * 1024
#: trim threshold set by :func:`tune_allocator` (bytes): free space kept at the top of the heap.
TRIM_THRESHOLD = 64 * 1024 * 1024

# glibc's mallopt parameter numbers (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@cache
def glibc(name: str = "libc.so.6") -> Any | None:
    """The glibc shared library (a ``ctypes.CDLL``), or None where there is none.

    glibc is recognised by the functions used here, ``mallopt`` and ``malloc_trim``
    (musl has neither; macOS and Windows have no ``libc.so.6``).
    """
    try:
        lib = ctypes.CDLL(name)
        lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.mallopt.restype = ctypes.c_int
        lib.malloc_trim.argtypes = [ctypes.c_size_t]
        lib.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return lib


def release_memory() -> bool:
    """Return the heap's free pages to the system (glibc ``malloc_trim(0)``).

    True if memory was released, False if there was none to release or the C library is
    not glibc. Takes a few milliseconds on a run's heap.
    """
    lib = glibc()
    return bool(lib is not None and lib.malloc_trim(0))


def tune_allocator(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD,
                   respect_environment: bool = True) -> bool:
    """Fix glibc's mmap threshold (and trim threshold) for a long run (see the module docstring).

    Process-wide and lasting (glibc has no way back to the dynamic threshold); safe to call
    more than once. Returns True if both settings were applied; False where the C library
    is not glibc or, with ``respect_environment``, the user set the allocator through its
    environment variables (``respect_environment=False`` overrides them, e.g. a dask
    worker's ``MALLOC_TRIM_THRESHOLD_=65536``, which makes every evaluation twice as slow).
    """
    if mmap_threshold <= 0 or trim_threshold < 0:
        raise ValueError(f"thresholds must be positive, got mmap {mmap_threshold}, trim {trim_threshold}")
    lib = glibc()
    if lib is None or (respect_environment and any(os.environ.get(name) for name in _USER_SETTINGS)):
        return False
    return bool(lib.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) and lib.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))
