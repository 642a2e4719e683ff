"""A least-recently-used store of numpy arrays bounded by their total size in bytes.

The registrar keeps transforms of experimental patches that depend on the experiment
alone (an optimizer revisits the same placements and columns), but a long run visits
thousands of them: the stores must stay bounded (the soak benchmark allows 50 MB of growth
over 10 000 evaluations), and arrays of different shapes weigh differently, so the bound
is in bytes rather than entries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

import numpy as np


class ByteLRU:
    """Arrays by key; beyond ``max_bytes`` the least recently used are dropped (the most
    recent one is always kept)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The array stored under ``key`` (now the most recently used), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Store ``value`` under ``key`` as the most recently used, then drop the least
        recently used entries while the total exceeds ``max_bytes``."""
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old.nbytes
        self._items[key] = value
        self.nbytes += value.nbytes
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            self.nbytes -= self._items.popitem(last=False)[1].nbytes
