"""Which RRs follow a rollout of which workload: the operator's workload watch wakes exactly these.

The reconciler marks an RR as following before it patches the workload (so the controller's first
event after the patch already finds it) and unmarks it once its change has settled. After a restart
the resume handler reconciles every RR, which marks those still rolling out again.
"""

from __future__ import annotations

import threading

WorkloadKey = tuple[str, str, str]  # (namespace, kind, name)


class Following:
    """A thread-safe map from a workload to the names of the RRs following its rollout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_workload: dict[WorkloadKey, set[str]] = {}
        self._workload_of: dict[tuple[str, str], WorkloadKey] = {}

    def follow(self, namespace: str, kind: str, name: str, rr: str) -> None:
        """RR `namespace/rr` follows the rollout of workload `kind` `namespace/name` (until `settle`)."""
        workload = (namespace, kind, name)
        with self._lock:
            previous = self._workload_of.get((namespace, rr))
            if previous is not None and previous != workload:
                self._drop(namespace, rr, previous)
            self._workload_of[(namespace, rr)] = workload
            self._by_workload.setdefault(workload, set()).add(rr)

    def settle(self, namespace: str, rr: str) -> None:
        """RR `namespace/rr` follows nothing (any more)."""
        with self._lock:
            workload = self._workload_of.pop((namespace, rr), None)
            if workload is not None:
                self._drop(namespace, rr, workload)

    def rrs_of(self, namespace: str, kind: str, name: str) -> list[str]:
        """The RRs following the rollout of workload `kind` `namespace/name`, by name."""
        with self._lock:
            return sorted(self._by_workload.get((namespace, kind, name), ()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._workload_of)

    def _drop(self, namespace: str, rr: str, workload: WorkloadKey) -> None:
        rrs = self._by_workload.get(workload, set())
        rrs.discard(rr)
        if not rrs:
            self._by_workload.pop(workload, None)
