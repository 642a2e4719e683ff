"""ingrained_core.engine.memory: glibc heap release and allocator settings (no-ops elsewhere).

The release test measures this process's own RSS around a real heap pattern (many
64 KiB buffers freed below a live one, the fragmentation a run produces); the allocator
test runs in a subprocess, because the settings are process-wide and permanent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ingrained_core.engine.memory import MMAP_THRESHOLD, glibc, release_memory, tune_allocator

REPO = Path(__file__).resolve().parents[2]
on_glibc = pytest.mark.skipif(glibc() is None or not Path("/proc/self/status").exists(),
                              reason="needs glibc and /proc (Linux)")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


def test_no_glibc_is_a_clean_no_op() -> None:
    assert glibc("libingrained-no-such-libc.so.0") is None


@on_glibc
def test_release_memory_returns_freed_heap_pages() -> None:
    """64 MB in 64 KiB heap buffers, freed below a live buffer: RSS keeps them until released."""
    release_memory()
    blocks = [np.ones(8192) for _ in range(1024)]  # 64 KiB each: below the mmap threshold, on the heap
    keep = np.ones(8192)  # above them: freeing the blocks leaves a hole, not a free heap top
    before = _rss_mb()
    del blocks
    held = _rss_mb()
    assert held > before - 16, "glibc returned the hole by itself; nothing left to test"
    assert release_memory() is True
    assert _rss_mb() < held - 32
    assert keep.sum() == 8192


def test_tune_allocator_rejects_bad_thresholds() -> None:
    with pytest.raises(ValueError, match="positive"):
        tune_allocator(mmap_threshold=0)


def _child(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    full.update(env)
    full["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


MAPPED = """
    import ctypes, numpy as np
    from ingrained_core.engine.memory import glibc, tune_allocator
    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                     "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
    lib = glibc(); lib.mallinfo2.restype = Info
    applied = tune_allocator() if {tune} else None
    a = np.ones(2**20 // 8); del a   # a freed 1 MiB mapping raises glibc's dynamic threshold to 1 MiB
    mapped = lib.mallinfo2().hblkhd
    b = np.ones(384 * 1024 // 8)     # 384 KiB: from the heap, unless the threshold is fixed below it
    print(applied, lib.mallinfo2().hblkhd - mapped >= b.nbytes)
"""


@on_glibc
@pytest.mark.skipif(not hasattr(glibc(), "mallinfo2"), reason="mallinfo2 needs glibc >= 2.33")
def test_tune_allocator_keeps_large_buffers_off_the_heap() -> None:
    """With glibc's default a freed large mapping moves later 384 KiB buffers onto the heap;
    after tune_allocator() they stay mapped (so they cannot fragment the heap)."""
    assert MMAP_THRESHOLD < 384 * 1024
    assert _child(MAPPED.format(tune=False)) == "None False"
    assert _child(MAPPED.format(tune=True)) == "True True"


@on_glibc
def test_tune_allocator_respects_the_users_malloc_environment() -> None:
    assert _child(MAPPED.format(tune=True), MALLOC_MMAP_THRESHOLD_="1048576") == "False False"


@on_glibc
def test_tune_allocator_can_override_the_environment() -> None:
    code = MAPPED.format(tune=True).replace("tune_allocator()", "tune_allocator(respect_environment=False)")
    assert _child(code, MALLOC_TRIM_THRESHOLD_="65536") == "True True"
