"""Dry run: the exact patch the operator would apply for an RR, and the API server's verdict on it
(`dryRun=All`: validated and admitted, nothing persisted). Used by the bridge's preview_change. The
operator's own inputs (who approved, newer RRs, the usage re-read) are no part of it, so it runs on the
client alone, without the operator's reconciler.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from krr_mcp.api.resource_recommendation import (
    ContainerChange,
    ResourceRecommendationSpec,
    SafetyReport,
    TargetRef,
)
from krr_mcp.core import safety
from krr_mcp.core.decisions import Action, decide
from krr_mcp.core.patches import JsonPatch, json_patch
from krr_mcp.core.workloads import find_container

from .client import Kube, KubeError


@dataclass
class DryRunResult:
    """What applying the RR now would do.

    `accepted` is the API server's verdict on the patch (dryRun=All); `action` is the operator's own
    decision ("apply", or e.g. "refuse" when the safety rules refuse: the patch is shown even then).
    `message` is the operator's own words; what the API server (or an admission webhook) answered to a
    refused patch is `server_answer`, with its HTTP status: text written by others, kept apart.
    """

    accepted: bool
    message: str
    action: str
    patch: JsonPatch = field(default_factory=list)
    changes: list[ContainerChange] = field(default_factory=list)
    safety: SafetyReport | None = None
    result: dict[str, Any] | None = None  # the would-be workload the server returned
    server_answer: str | None = None
    server_status: int | None = None

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


def _inputs(
    kube: Kube, rr: dict[str, Any], now: datetime
) -> tuple[dict[str, Any] | None, SafetyReport | None]:
    """The live workload (None: no valid target, or not found) and the safety rules' report on
    applying `rr` to it now (None: no workload, or a spec the models refuse, which `decide` refuses)."""
    namespace = rr["metadata"]["namespace"]
    try:
        spec = ResourceRecommendationSpec.model_validate(rr.get("spec") or {})
    except ValidationError:
        try:
            target = TargetRef.model_validate((rr.get("spec") or {}).get("target"))
        except ValidationError:
            return None, None
        return kube.get_workload(namespace, target.kind, target.name), None
    workload = kube.get_workload(namespace, spec.target.kind, spec.target.name)
    if workload is None:
        return None, None
    context, policy = kube.load_cluster_context(namespace), kube.load_policy(namespace)
    return workload, safety.evaluate(spec, workload, context, policy, now)


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
    # Not an input here: who approves (provenance, the approval gate), newer RRs, the usage re-read.
    workload, report = _inputs(kube, body, now)
    kwargs: dict[str, Any] = {"safety": report}
    decision = decide(body, workload, now, **kwargs)
    refused_by_safety = decision.action == Action.REFUSE and decision.reason == "SafetyRefused"
    patch_decision = decision
    if refused_by_safety and report is not None:
        # Still show the exact patch a reviewer would be refusing, and the server's verdict on it.
        kwargs["safety"] = report.model_copy(update={"allowed": True})
        patch_decision = decide(body, workload, now, **kwargs)
    if patch_decision.action != Action.APPLY or workload is None or not patch_decision.changes:
        return DryRunResult(False, decision.message, str(decision.action), safety=report)
    target = spec["target"]
    patch = json_patch(target["kind"], workload, patch_decision.changes)
    changes = list(patch_decision.changes)
    action = str(decision.action)
    refusal = f"; the operator would refuse it: {decision.message}" if refused_by_safety else ""
    try:
        result = kube.patch_workload(meta["namespace"], target["kind"], target["name"], patch, dry_run=True)
    except KubeError as exc:
        status = f"HTTP {exc.status}" if exc.status is not None else "not reached"
        message = f"the API server refused the patch ({status}){refusal}"
        return DryRunResult(
            False, message, action, patch, changes, report, server_answer=str(exc), server_status=exc.status
        )
    message = f"the API server accepted the patch (dryRun=All){refusal}"
    return DryRunResult(True, message, action, patch, changes, report, result)
