"""The namespace-level inputs of the safety check, read once per namespace and reused for a short while.

Every RR of a namespace is checked against the same Namespace, LimitRanges, ResourceQuotas, HPAs,
PDBs and policies: seven reads. When a thousand RRs are approved at once, reading them per RR is
most of the operator's API traffic. `NamespaceInputsCache` keeps them per namespace for `ttl` seconds;
concurrent callers for the same namespace wait for one read instead of each making their own.

The contract: the safety check of a change sees these objects as they were at most `ttl` seconds
before it (ttl 0: read fresh every time). A read that fails is not cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from krr_mcp.core.safety import NamespaceInputs

Loader = Callable[[str], NamespaceInputs]


class NamespaceInputsCache:
    """`get(namespace)`: the namespace's inputs, from `load` at most `ttl` seconds ago."""

    def __init__(self, load: Loader, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0:
            raise ValueError(f"ttl must be >= 0, got {ttl}")
        self._load = load
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, NamespaceInputs]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, namespace: str) -> NamespaceInputs:
        if self.ttl == 0:
            return self._load(namespace)
        with self._guard:
            lock = self._locks.setdefault(namespace, threading.Lock())
        with lock:  # one read per namespace at a time; the others reuse its result
            cached = self._entries.get(namespace)
            if cached is not None and 0 <= self._clock() - cached[0] < self.ttl:  # a clock set back: stale
                return cached[1]
            started = self._clock()
            inputs = self._load(namespace)  # raises: nothing cached, the caller retries
            self._entries[namespace] = (started, inputs)
            return inputs

    def forget(self, namespace: str | None = None) -> None:
        """Drop the cached inputs of `namespace` (None: of every namespace)."""
        with self._guard:
            if namespace is None:
                self._entries.clear()
            else:
                self._entries.pop(namespace, None)
