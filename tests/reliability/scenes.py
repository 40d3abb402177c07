"""A scene for tests of the real operator: a sandbox behind a FaultProxy, a human, the bridge, and the
operator's config pointing at the proxy."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from krr_operator.main import OperatorConfig

from krr_mcp.sandbox.handle import SandboxHandle

from ..builders import change, manifest, rr
from ..operator.operator_harness import OperatorThread, operator_running, wait_for
from .faults import app_resources
from .proxy import FaultProxy
from .world import BRIDGE_PROPOSAL, ORIGINAL, PROPOSALS, Actor

PROPOSED = PROPOSALS[0]
NS = "default"


@dataclasses.dataclass
class Scene:
    sandbox: SandboxHandle
    proxy: FaultProxy
    cfg: OperatorConfig
    human: Actor
    bridge: Actor

    def workload(self, name: str = "web") -> dict[str, Any]:
        live = self.human.kube.get_workload(NS, "Deployment", name)
        assert live is not None
        return live

    def rr(self, name: str = "web-rr") -> dict[str, Any]:
        found = self.human.kube.get_rr(NS, name)
        assert found is not None
        return found

    def propose(self, name: str = "web-rr", target: str = "web") -> None:
        self.bridge.create_rr(
            manifest(
                rr(
                    name,
                    namespace=NS,
                    target=target,
                    containers=[change("app", ORIGINAL, PROPOSED)],
                    **BRIDGE_PROPOSAL,
                )
            )
        )

    def approve(self, name: str = "web-rr", who: str = "alice") -> None:
        self.human.patch_rr_spec(NS, name, {"approved": True, "approvedBy": who})

    def settle(
        self, phase: str, name: str = "web-rr", target: str = "web", timeout: float = 20
    ) -> dict[str, Any]:
        """Wait for `phase`, playing the Deployment controller (rollouts complete) meanwhile."""

        def probe() -> dict[str, Any] | None:
            live = self.workload(target)
            if (live.get("status") or {}).get("observedGeneration") != live["metadata"]["generation"]:
                self.human.rollout(NS, target, "done")
            rr = self.rr(name)
            return rr if (rr.get("status") or {}).get("phase") == phase else None

        return wait_for(f"{name} {phase}", probe, timeout=timeout)

    def operator(self, **changes: Any) -> contextlib.AbstractContextManager[OperatorThread]:
        """The operator through the proxy for a `with` block (operator_running with the scene's config)."""
        return operator_running(self.cfg, **changes)


def assert_applied_once_with_full_audit(scene: Scene, rr: dict[str, Any]) -> None:
    history = rr["status"]["history"]
    assert not [h for h in history if h["outcome"] == "Pending"], history
    succeeded = [h for h in history if h["outcome"] == "Succeeded"]
    assert [h["action"] for h in succeeded] == ["apply"], history
    for entry in history:
        assert entry["actor"] == "alice" and entry["at"], entry
        assert entry["containers"] == [{"name": "app", "before": ORIGINAL, "after": PROPOSED}], entry
    live = scene.workload()
    assert app_resources(live) == PROPOSED
    assert live["metadata"]["generation"] == 2, "the workload was patched more than once"
    events = scene.human.kube.request("events", "GET", f"/api/v1/namespaces/{NS}/events")["items"]
    about_rr = [e for e in events if e["involvedObject"]["name"] == "web-rr"]
    assert about_rr and all(e["reportingComponent"] == "krr-mcp-operator" for e in about_rr)
