"""One lock per RR, so that the calls for the same RR run one at a time.

kopf runs an object's timer apart from its event handlers (and the re-check loop and the workload watch
call in from their own threads); across processes, kopf's peering keeps one operator active.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class RRLocks:
    """`held(namespace, name)`: hold the RR's lock (made on first use, kept while the operator runs)."""

    def __init__(self) -> None:
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    @contextmanager
    def held(self, namespace: str, name: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks[(namespace, name)]
        with lock:
            yield
