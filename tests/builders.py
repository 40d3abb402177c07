"""The one place tests build Kubernetes objects: workloads and ResourceRecommendations as the API
server returns them, and the operator's settings for servers without admission policies.

Built on the project's own table: API versions and pod template paths come from
`krr_mcp.api.workload_kinds`. The defaults describe one Deployment `web` in `default` with one container
`app`, and an RR proposing to shrink it (CURRENT -> PROPOSED).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from krr_operator.approval_gate import ApprovalGate
from krr_operator.reconcile import ReconcileSettings

from krr_mcp.api.resource_recommendation import (
    GROUP,
    VERSION,
    ResourceRecommendation,
    ResourceRecommendationSpec,
)
from krr_mcp.api.workload_kinds import WORKLOAD_KINDS
from mcp_bridge.manifests import LABEL_TARGET_KIND, LABEL_TARGET_NAME

Resources = dict[str, Any]

CURRENT: Resources = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
PROPOSED: Resources = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
# A container's resources as the sandbox and reliability tests start them, and halved.
ORIGINAL: Resources = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
HALVED: Resources = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}
# The safety rules' usual baseline: a container whose memory request equals its limit.
SMALL: Resources = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}
CREATED = "2026-11-25T10:00:00Z"


def resources(
    cpu: str | None = None,
    memory: str | None = None,
    cpu_limit: str | None = None,
    memory_limit: str | None = None,
) -> Resources:
    """A container `resources` dict with only the given values set."""
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    limits = {k: v for k, v in (("cpu", cpu_limit), ("memory", memory_limit)) if v is not None}
    out: Resources = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def containers_of(containers: Mapping[str, Resources] | Sequence[dict[str, Any]], image: str) -> list[Any]:
    """Container dicts: a mapping name -> resources becomes containers of `image`; a list is taken as is."""
    if isinstance(containers, Mapping):
        return [{"name": n, "image": image, "resources": copy.deepcopy(r)} for n, r in containers.items()]
    return copy.deepcopy(list(containers))


def rolled_out_status(kind: str, generation: int, pods: int | None) -> dict[str, Any] | None:
    """The status of a finished rollout of `pods` pods (None: the API's default, 1), as the workload's
    controller reports it; None for a CronJob."""
    fields = {
        "Deployment": ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"),
        "StatefulSet": ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"),
        "DaemonSet": ("desiredNumberScheduled", "updatedNumberScheduled", "numberAvailable"),
    }.get(kind)
    if fields is None:
        return None
    return {"observedGeneration": generation, **dict.fromkeys(fields, 1 if pods is None else pods)}


def workload(
    kind: str = "Deployment",
    name: str = "web",
    containers: Mapping[str, Resources] | Sequence[dict[str, Any]] | None = None,
    *,
    namespace: str = "default",
    init_containers: Mapping[str, Resources] | Sequence[dict[str, Any]] | None = None,
    replicas: int | None = 2,
    scheduled: int = 3,
    generation: int = 1,
    image: str = "nginx:1.27",
    init_image: str = "busybox",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    pod_labels: dict[str, str] | None = None,
    pod_annotations: dict[str, str] | None = None,
    schedule: str = "0 * * * *",
    status: dict[str, Any] | None = None,
    pod_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A workload as the API server returns it, its rollout finished (`status` replaces that status).

    `containers` maps a name to its resources (default: `app` with CURRENT) or lists whole containers.
    `replicas` is a Deployment's or StatefulSet's (None: the field left out, as the API allows),
    `scheduled` a DaemonSet's pod count; a CronJob has neither. `pod_fields` are further pod spec fields
    (serviceAccountName, volumes, ...)."""
    if kind not in WORKLOAD_KINDS:
        raise ValueError(f"not a workload kind: {kind}")
    pod_spec: dict[str, Any] = {"containers": containers_of(containers or {"app": CURRENT}, image)}
    if init_containers:
        pod_spec["initContainers"] = containers_of(init_containers, init_image)
    pod_spec.update(copy.deepcopy(pod_fields or {}))
    template_meta: dict[str, Any] = {"labels": pod_labels or {"app": name}}
    if pod_annotations:
        template_meta["annotations"] = pod_annotations
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"{name}-uid",
        "generation": generation,
        "resourceVersion": "10",
    }
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    obj: dict[str, Any] = {"apiVersion": WORKLOAD_KINDS[kind].api_version, "kind": kind, "metadata": metadata}
    node = obj
    *parents, last = WORKLOAD_KINDS[kind].template_path
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = {"metadata": template_meta, "spec": pod_spec}
    spec = obj["spec"]
    if kind == "CronJob":
        spec["schedule"] = schedule
    else:
        spec["selector"] = {"matchLabels": {"app": name}}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    if kind in ("Deployment", "StatefulSet") and replicas is not None:
        spec["replicas"] = replicas
    count = scheduled if kind == "DaemonSet" else replicas
    rolled = status if status is not None else rolled_out_status(kind, generation, count)
    if rolled is not None:
        obj["status"] = rolled
    return obj


def change(
    name: str = "app", current: Resources | None = None, proposed: Resources | None = None, **fields: Any
) -> dict[str, Any]:
    """One container of an RR's spec: `current` -> `proposed` (default CURRENT -> PROPOSED), plus
    `fields` (usage, severity, valuesFrom)."""
    return {
        "name": name,
        "current": copy.deepcopy(CURRENT if current is None else current),
        "proposed": copy.deepcopy(PROPOSED if proposed is None else proposed),
        **fields,
    }


def rr(
    name: str = "web-rr",
    *,
    namespace: str = "default",
    kind: str = "Deployment",
    target: str = "web",
    containers: list[dict[str, Any]] | None = None,
    evidence: dict[str, Any] | None = None,
    reason: str = "right-size",
    approved: bool | None = False,
    approved_by: str | None = None,
    status: dict[str, Any] | None = None,
    created: str = CREATED,
    generation: int | None = 1,
    resource_version: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    managed_fields: list[dict[str, Any]] | None = None,
    target_labels: bool = False,
    **spec_fields: Any,
) -> dict[str, Any]:
    """An RR as the API server returns it (not validated: tests build hostile ones too). By default it
    proposes `change()` for Deployment `web`; `spec_fields` are further spec fields by their API names.
    Approved means approvedBy too (default alice, an `approvedBy` spec field wins);
    `approved` or `generation` None leaves it out. `target_labels`: the target's labels the bridge sets,
    before `labels`."""
    api_version = WORKLOAD_KINDS[kind].api_version if kind in WORKLOAD_KINDS else "apps/v1"
    spec: dict[str, Any] = {
        "target": {"apiVersion": api_version, "kind": kind, "name": target},
        "containers": [change()] if containers is None else containers,
        "evidence": {"source": "krr"} if evidence is None else evidence,
        "reason": reason,
        **({} if approved is None else {"approved": approved}),
        **spec_fields,
    }
    if approved:
        spec.setdefault("approvedBy", approved_by or "alice")
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "creationTimestamp": created}
    if generation is not None:
        metadata["generation"] = generation
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    if target_labels:
        metadata["labels"] = {LABEL_TARGET_KIND: kind, LABEL_TARGET_NAME: target}
    if labels is not None:
        metadata["labels"] = metadata.get("labels", {}) | labels
    if annotations is not None:
        metadata["annotations"] = annotations
    if managed_fields is not None:
        metadata["managedFields"] = managed_fields
    body: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ResourceRecommendation",
        "metadata": metadata,
        "spec": spec,
    }
    if status is not None:
        body["status"] = status
    return body


def manifest(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as a person applies it: without its status and the metadata only the API server sets."""
    server_set = ("uid", "generation", "resourceVersion", "creationTimestamp", "managedFields")
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    out["metadata"] = {k: v for k, v in out["metadata"].items() if k not in server_set}
    return out


def web_deployment(
    name: str = "web",
    pod_annotations: dict[str, str] | None = None,
    *,
    namespace: str = "default",
    replicas: int = 2,
) -> dict[str, Any]:
    """The manifest of Deployment `name` that the sandbox tests apply: `app` (ORIGINAL) first, a
    `sidecar` with a cpu request only and an `init` container (ORIGINAL)."""
    return manifest(
        workload(
            name=name,
            namespace=namespace,
            replicas=replicas,
            containers=[
                {"name": "app", "image": "nginx:1.27", "resources": ORIGINAL},
                {"name": "sidecar", "image": "envoy:1", "resources": {"requests": {"cpu": "100m"}}},
            ],
            init_containers={"init": ORIGINAL},
            pod_annotations=pod_annotations,
        )
    )


def rr_manifest(
    name: str = "web-rr",
    target: str = "web",
    *,
    proposed: Resources | None = None,
    usage: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """The manifest of an RR in `default` proposing `app`: ORIGINAL -> `proposed` (default HALVED, with
    the scan's `usage` if given) for Deployment `target` (from a krr scan over 14 days); `spec` overrides
    or adds spec fields by their API names."""
    app = change(
        "app",
        ORIGINAL,
        HALVED if proposed is None else proposed,
        **({} if usage is None else {"usage": usage}),
    )
    fields: dict[str, Any] = {
        "containers": [app],
        "evidence": {"source": "krr", "strategy": "simple", "historyHours": 336},
        "reason": "p95 CPU 0.12 cores over 14 days",
        "approved": spec.pop("approved", None),
    }
    return manifest(rr(name, target=target, **(fields | spec)))


# rr() fields of the proposal the admission and CRD rule tests judge: shop/web's `app`, 500m/512Mi ->
# 250m/384Mi (limit 384Mi), from a krr scan.
SHOP_PROPOSAL: dict[str, Any] = {
    "namespace": "shop",
    "containers": [
        change("app", resources("500m", "512Mi"), resources("250m", "384Mi", memory_limit="384Mi"))
    ],
    "reason": "p95 cpu 120m, peak memory 300Mi over 14 days",
}


def stored(body: dict[str, Any]) -> dict[str, Any]:
    """An RR as the API server stores it: validated by the model (a bad value raises), the schema's
    defaults filled in, unset fields left out."""
    return ResourceRecommendation.model_validate(body).model_dump(mode="json", exclude_none=True)


def stored_proposal(namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    """SHOP_PROPOSAL (RR `web-1`, in `namespace`) as the API server stores it, without the metadata it
    sets; `spec` fields are set after validation, so hostile values stay."""
    body = manifest(stored(rr("web-1", approved=None, **(SHOP_PROPOSAL | {"namespace": namespace}))))
    body["spec"].update(spec)
    return body


# app as a native scan proposes to change it (memory request up, limit down).
NATIVE_CURRENT: Resources = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
NATIVE_PROPOSED: Resources = {"requests": {"cpu": "250m", "memory": "640Mi"}, "limits": {"memory": "640Mi"}}
APPLY_ENTRY: dict[str, Any] = {
    "action": "apply",
    "outcome": "Succeeded",
    "at": "2026-11-25T09:05:00Z",
    "actor": "alice",
    "containers": [{"name": "app", "before": NATIVE_CURRENT, "after": NATIVE_PROPOSED}],
}


def bridge_rr(
    name: str = "web-rr",
    namespace: str = "default",
    *,
    phase: str | None = "Proposed",
    approved: bool = False,
    rejected: bool = False,
    resource_version: str = "7",
    expires_at: str | None = None,
    history: list[dict[str, Any]] | None = None,
    safety: dict[str, Any] | None = None,
    rollback_requested: bool = False,
) -> dict[str, Any]:
    """A stored RR the bridge proposed from a native scan (NATIVE_CURRENT -> NATIVE_PROPOSED, with its
    usage), in `phase` (None: no status yet), as `kubectl krr` reads it."""
    usage = {"cpuPercentileCores": "200m", "memoryPeak": "500Mi", "dataPoints": 1000}
    body = rr(
        name,
        namespace=namespace,
        containers=[change("app", NATIVE_CURRENT, NATIVE_PROPOSED, usage=usage, severity="WARNING")],
        evidence={"source": "native", "historyHours": 168, "cpuPercentile": 95},
        reason="CPU p95 is 200m over 7 days",
        approved=approved,
        created="2026-11-25T09:00:00Z",
        generation=None,
        resource_version=resource_version,
        annotations={"krr-mcp.io/created-by": "bridge"},
        rejected=rejected,
        rollbackRequested=rollback_requested,
        expiresAt=expires_at,
    )
    if phase is not None:
        body["status"] = {"phase": phase, "history": history or [], "safety": safety}
    return stored(body)


def rr_spec(
    proposed: Resources | None = None,
    *,
    container: str = "app",
    current: Resources | None = None,
    peak: str | None = "200Mi",
    oom: bool | None = False,
    kind: str = "Deployment",
    name: str = "web",
    more: list[dict[str, Any]] | None = None,
    evidence: dict[str, Any] | None = None,
    reason: str = "right-size from observed usage",
) -> ResourceRecommendationSpec:
    """A validated RR spec for one container, SMALL -> `proposed` (default SMALL) with the scan's usage
    (memory `peak`, `oom`; both None: no usage), plus `more` containers as raw dicts; `evidence` as
    in `rr()`."""
    usage: dict[str, Any] = {} if oom is None else {"oomKilled": oom}
    if peak is not None:
        usage["memoryPeak"] = peak
    first = change(container, SMALL if current is None else current, SMALL if proposed is None else proposed)
    if usage:
        first["usage"] = usage
    body = rr(kind=kind, target=name, containers=[first, *(more or [])], evidence=evidence)
    spec = body["spec"] | {"reason": reason}
    del spec["approved"]
    return ResourceRecommendationSpec.model_validate(spec)


def namespace(
    name: str = "default", labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Namespace as the API server returns it."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
    }


def settings_without_admission(**fields: Any) -> ReconcileSettings:
    """Reconcile settings for API servers that run no admission policies (the sandbox, in-memory
    stand-ins): the approval gate is not required, as with --allow-without-admission-policy."""
    return ReconcileSettings(approval_gate=ApprovalGate(required=False), **fields)
