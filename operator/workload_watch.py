"""Watch the workloads whose rollouts the operator follows, and say which one changed.

One daemon thread per workload kind (and namespace, when the operator watches some only) lists once for a
resource version, then watches from it (bookmarks keep it fresh; `410 Gone` lists again) and calls
`changed(namespace, kind, name)` for every change after that: the operator then re-checks the RRs
following that workload's rollout. The threads live apart from kopf, so a failing watch here never
holds up kopf, and they end within `timeout_seconds` of `stop` being set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from krr_mcp.api.workload_kinds import WORKLOAD_KINDS
from krr_mcp.kube.client import Gone, Kube, KubeError, workload_list_path

log = structlog.get_logger("krr_mcp.operator")

# The workloads that roll out (a CronJob has no rollout: the next Job uses the template).
ROLLOUT_KINDS = tuple(kind for kind, info in WORKLOAD_KINDS.items() if info.rolls_out)

Changed = Callable[[str, str, str], None]


class WorkloadWatch:
    """Daemon threads watching ROLLOUT_KINDS in `namespaces` (None: all), calling `changed`."""

    def __init__(
        self,
        kube: Kube,
        namespaces: list[str] | None,
        changed: Changed,
        stop: threading.Event,
        timeout_seconds: int = 60,
        retry_seconds: float = 2.0,
    ) -> None:
        self.kube = kube
        self.scopes: list[str | None] = list(namespaces) if namespaces else [None]
        self.changed = changed
        self.stop = stop
        self.timeout_seconds = timeout_seconds
        self.retry_seconds = retry_seconds
        self.threads: list[threading.Thread] = []

    def start(self) -> WorkloadWatch:
        for kind in ROLLOUT_KINDS:
            for namespace in self.scopes:
                name = f"watch {kind} in {namespace or 'all namespaces'}"
                thread = threading.Thread(target=self._run, args=(kind, namespace), name=name, daemon=True)
                thread.start()
                self.threads.append(thread)
        return self

    def _run(self, kind: str, namespace: str | None) -> None:
        path = workload_list_path(kind, namespace)
        version: str | None = None
        while not self.stop.is_set():
            try:
                if version is None:
                    listed = self.kube.request(f"list {kind}", "GET", path, query=[("limit", 1)])
                    version = str(listed["metadata"]["resourceVersion"])
                version = self._follow(kind, path, version)
            except Gone:
                version = None  # too old to resume: list again (changes meanwhile are seen on re-checks)
            except KubeError as exc:
                log.warning("workload watch failed", kind=kind, namespace=namespace, error=str(exc))
                self.stop.wait(self.retry_seconds)
            except Exception as exc:  # a bug must not end the watch for good
                log.exception("workload watch error", kind=kind, namespace=namespace, error=str(exc))
                self.stop.wait(self.retry_seconds)

    def _follow(self, kind: str, path: str, version: str) -> str | None:
        """Watch from `version` until the server ends the watch; the version to resume from."""
        for event in self.kube.watch(f"watch {kind}", path, version, self.timeout_seconds):
            if self.stop.is_set():
                return version
            kind_of_event, obj = event.get("type"), event.get("object") or {}
            meta = obj.get("metadata") or {}
            if kind_of_event == "ERROR":
                return None if obj.get("code") == 410 else version
            version = str(meta.get("resourceVersion") or version)
            if kind_of_event in ("ADDED", "MODIFIED", "DELETED"):
                self.changed(str(meta.get("namespace")), kind, str(meta.get("name")))
        return version
