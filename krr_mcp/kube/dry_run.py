"""Dry run: the exact patch the operator would apply for an RR, and the API server's verdict on it
(`dryRun=All`: validated and admitted, nothing persisted). Used by the bridge's preview_change. It
gathers the decision's inputs with the operator's own gatherer (`decision_inputs.InputsGatherer`) and
decides once with the same `decide`; the operator's own checks (who approved, the approval gate, newer
RRs, the usage re-read) are no part of it, so it runs on the client alone, without the reconciler.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from krr_mcp.api.resource_recommendation import ContainerChange, SafetyReport
from krr_mcp.core.decisions import Action, decide
from krr_mcp.core.patches import JsonPatch, json_patch
from krr_mcp.core.workloads import find_container

from .client import AdmissionDenied, Forbidden, Kube, KubeError, Unreachable
from .decision_inputs import InputsGatherer


@dataclass
class DryRunResult:
    """What applying the RR now would do.

    `accepted` is the API server's verdict on the patch (dryRun=All); `action` is the operator's own
    decision ("apply", or e.g. "refuse" when the safety rules refuse: the patch is shown even then).
    `message` is the operator's own words. `error`: the client's typed error when the patch was sent
    and not accepted (`Forbidden`: this identity may not patch the workload, so the server never
    judged the patch; `AdmissionDenied`, `Invalid`, ...: it judged and refused it; `Unreachable`);
    its text (`server_answer`) is what the API server or an admission policy or webhook answered:
    text written by others, kept apart from `message`.
    """

    accepted: bool
    message: str
    action: str
    patch: JsonPatch = field(default_factory=list)
    changes: list[ContainerChange] = field(default_factory=list)
    safety: SafetyReport | None = None
    result: dict[str, Any] | None = None  # the would-be workload the server returned
    error: KubeError | None = None

    @property
    def server_answer(self) -> str | None:
        """What the server answered to the refused patch (None when it was accepted or not sent)."""
        return str(self.error) if self.error is not None else None

    def resulting_resources(self) -> dict[str, dict[str, Any]]:
        """Per changed container, its `resources` in the object the dry run returned."""
        if self.result is None:
            return {}
        kind = str(self.result.get("kind"))
        out = {}
        for change in self.changes:
            found = find_container(self.result, kind, change.name)
            if found is not None:
                out[change.name] = found[1].get("resources") or {}
        return out


def refused_patch(error: KubeError) -> str:
    """Who refused the dry-run patch, in the operator's words (the server's own are `error`'s)."""
    if isinstance(error, Unreachable):
        return "the API server was not reached"
    if isinstance(error, Forbidden):
        return (
            f"this identity may not patch the workload (RBAC, HTTP {error.status}): the patch was not judged"
        )
    if isinstance(error, AdmissionDenied):
        return f"an admission policy or webhook refused the patch (HTTP {error.status})"
    return f"the API server refused the patch (HTTP {error.status})"


def dry_run(
    kube: Kube, rr: dict[str, Any], namespace: str | None = None, now: datetime | None = None
) -> DryRunResult:
    """Decide for `rr` as if a human had approved it now; send the resulting patch with dryRun=All.

    `rr` may be a manifest not yet created (no status); `namespace` defaults to its metadata's.
    Nothing is written: no status, no Events, no workload change.
    """
    now = now or datetime.now(UTC)
    body = copy.deepcopy(rr)
    meta = body.setdefault("metadata", {})
    meta.setdefault("namespace", namespace or "default")
    meta.setdefault("name", "dry-run")
    spec = body.setdefault("spec", {})
    spec["approved"], spec["rejected"], spec["rollbackRequested"] = True, False, False
    spec["approvedBy"] = spec.get("approvedBy") or "dry-run"
    body["status"] = {}
    # Not an input here: the operator's own checks (who approves, the approval gate, newer RRs, the
    # usage re-read). The same gatherer and the same `decide` as the operator's, once.
    inputs = InputsGatherer(kube).gather(body, now)
    decision = decide(inputs)
    workload, report = inputs.workload, inputs.safety
    # Refused by the safety rules: still show the exact patch a reviewer would be refusing, and the
    # server's verdict on it.
    refused_by_safety = decision.action == Action.REFUSE and decision.reason == "SafetyRefused"
    planned = decision.refused_changes if refused_by_safety else decision.changes
    if (decision.action != Action.APPLY and not refused_by_safety) or workload is None or not planned:
        return DryRunResult(False, decision.message, str(decision.action), safety=report)
    target = spec["target"]
    patch = json_patch(target["kind"], workload, planned)
    changes = list(planned)
    action = str(decision.action)
    refusal = f"; the operator would refuse it: {decision.message}" if refused_by_safety else ""
    try:
        result = kube.patch_workload(meta["namespace"], target["kind"], target["name"], patch, dry_run=True)
    except KubeError as exc:
        return DryRunResult(
            False, f"{refused_patch(exc)}{refusal}", action, patch, changes, report, error=exc
        )
    message = f"the API server accepted the patch (dryRun=All){refusal}"
    return DryRunResult(True, message, action, patch, changes, report, result)
