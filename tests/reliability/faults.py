"""Fault injection around the operator's API client (the test's own layer; no library internals patched).

`FaultyKube` is the operator's `Kube` with a plan of faults for its next requests:

- an HTTP error the server could answer (409 conflict, 429 throttled, 500/503) before the request is
  handled: nothing happened on the server;
- `timeout`: the request never reached the server (connection refused, client timeout);
- `lost`: the request WAS handled, but its answer never came back (the hard case for "never twice").

It also logs every workload change the operator actually made (before/after of each container),
read from the server around each successful workload patch, for the invariants to check.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from krr_mcp.kube.client import Kube, error_for

FAULT_KINDS = ("409", "429", "500", "503", "timeout", "lost")
WORKLOAD_PATH = re.compile(
    r"^/apis/(apps|batch)/v1/namespaces/([^/]+)/(deployments|statefulsets|daemonsets|cronjobs)/([^/]+)$"
)


@dataclass(frozen=True)
class Change:
    """One workload patch the server applied for the operator."""

    namespace: str
    name: str
    before: dict[str, Any]
    after: dict[str, Any]
    uid: str = ""  # the workload object's uid (a deleted and recreated workload has a new one)


def app_resources(workload: dict[str, Any] | None, container: str = "app") -> dict[str, Any] | None:
    """The resources of `container` in a Deployment-shaped workload (None: no workload/container)."""
    if workload is None:
        return None
    for c in workload["spec"]["template"]["spec"].get("containers") or []:
        if c["name"] == container:
            return copy.deepcopy(c.get("resources") or {})
    return None


@dataclass
class FaultyKube(Kube):
    """`Kube` whose next requests fail as planned; `changes` lists the workload patches that took effect."""

    plan: dict[int, str] = field(default_factory=dict)  # request index (from now) -> fault kind
    calls: int = 0
    changes: list[Change] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)

    def arm(self, fault: str, after: int = 0) -> None:
        """Make the request `after` calls from now fail with `fault`."""
        assert fault in FAULT_KINDS, fault
        self.plan[self.calls + after] = fault

    def disarm(self) -> None:
        self.plan.clear()

    def request(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        index = self.calls
        self.calls += 1
        fault = self.plan.pop(index, None)
        if fault is not None:
            self.injected.append(f"{fault} on {method} {path}")
        if fault in ("409", "429", "500", "503"):
            raise error_for(f"{what}: {fault} injected", int(fault))
        if fault == "timeout":
            raise error_for(f"{what}: API server unreachable (injected timeout)")
        workload = WORKLOAD_PATH.match(path) if method == "PATCH" else None
        dry = any(k == "dryRun" for k, _ in kwargs.get("query") or [])
        before = Kube.request(self, "read before", "GET", path) if workload and not dry else None
        answer = Kube.request(self, what, method, path, **kwargs)
        if workload and not dry and before is not None:
            self.changes.append(
                Change(
                    workload.group(2),
                    workload.group(4),
                    app_resources(before) or {},
                    app_resources(answer) or {},
                    str(before["metadata"].get("uid", "")),
                )
            )
        if fault == "lost":
            raise error_for(f"{what}: API server unreachable (injected: the answer was lost)")
        return answer
