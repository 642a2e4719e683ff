"""Per-evaluation cost of the reliability checks (fence, plugin call wrapper, result check, deadline)."""
import tempfile, time, timeit
from pathlib import Path
import numpy as np
from ingrained_core.engine.lock import RunLock
from ingrained_core.engine.plugin_calls import call_plugin, check_simulation

class Sim:
    def __init__(self, a): self.array = a
d = Path(tempfile.mkdtemp())
lock = RunLock(d); lock.acquire(); fence = lock.fence
sim = Sim(np.random.default_rng(0).random((61, 71)))
f = lambda: sim
n = 20000
t_fence = timeit.timeit(fence.check, number=n) / n
t_call = timeit.timeit(lambda: call_plugin("m", f), number=n) / n - timeit.timeit(f, number=n) / n
t_check = timeit.timeit(lambda: check_simulation("m", sim), number=n) / n
t_clock = timeit.timeit(time.time, number=n) / n
print(f"fence.check {t_fence*1e6:.2f} us, call_plugin wrapper {t_call*1e6:.2f} us, "
      f"check_simulation (61x71) {t_check*1e6:.2f} us, deadline clock read {t_clock*1e6:.2f} us; "
      f"total {(t_fence+t_call+t_check+t_clock)*1e3:.4f} ms per evaluation")
lock.release()
