"""Heap held by ProgressLog over 40 000 appended rows (it used to keep every row: the soak's creep)."""
import tracemalloc, tempfile
from pathlib import Path
from ingrained_core.engine.progress import ProgressLog
names = ["pixel_size", "sigma", "rotation", "crop_height", "crop_width", "spacing"]
d = Path(tempfile.mkdtemp())
def row(i):
    return {"eval": i, "elapsed_s": i * 0.01 + 0.123456, **{n: 0.1 * i + k / 7 for k, n in enumerate(names)},
            "d_trans": i % 5, "d_sim": 0.5 + i / 1e6, "fom": 0.6 + i / 1e6}
tracemalloc.start()
log = ProgressLog(d / "progress.csv", names)
a = tracemalloc.take_snapshot()
for i in range(1, 40001):
    log.append(row(i))
b = tracemalloc.take_snapshot()
grow = sum(s.size_diff for s in b.compare_to(a, "filename"))
kept = [row(i) for i in range(1, 40001)]
c = tracemalloc.take_snapshot()
held = sum(s.size_diff for s in c.compare_to(b, "filename"))
print(f"ProgressLog heap growth over 40 000 appends: {grow/1e6:.2f} MB; 40 000 such rows held in memory (the old log.rows): {held/1e6:.1f} MB")
