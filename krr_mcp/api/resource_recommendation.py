"""The ResourceRecommendation custom resource: the one definition of its schema.

`crds/` is generated from these models (`krr-mcp crds generate`), and a test fails when they drift.
Field names are the Kubernetes (camelCase) names; Python code uses the same names through aliases-free
camelCase attributes, so a dict from the API server validates as it is.

Rules the API server can enforce live here too, as `x-kubernetes-validations` (CEL) in the models'
json_schema_extra; they are evaluated for real in tests/api/test_cel_rules.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from .quantities import QUANTITY_PATTERN, QuantityError, parse_resource_quantity
from .text import SafeText
from .workload_kinds import WORKLOAD_KINDS

GROUP = "krr-mcp.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "ResourceRecommendation"
PLURAL = "resourcerecommendations"
SINGULAR = "resourcerecommendation"
SHORT_NAMES = ["rr", "recommendation", "recommendations"]
CATEGORIES = ["recommendations", "krr-mcp"]

# DNS-1123 label / subdomain, as the API server checks object and container names.
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

Quantity = Annotated[str, Field(pattern=QUANTITY_PATTERN, max_length=64)]
# The id under which the bridge keeps a scan's result (mcp_bridge/paging.py).
SCAN_ID_PATTERN = r"^[0-9a-f]{16}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_enum_values=True)


class WorkloadKind(StrEnum):
    """Workload kinds the operator knows how to patch (and where their pod template lives)."""

    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"
    DAEMONSET = "DaemonSet"
    CRONJOB = "CronJob"


WORKLOAD_API_VERSIONS: dict[str, str] = {kind: info.api_version for kind, info in WORKLOAD_KINDS.items()}


class Phase(StrEnum):
    PROPOSED = "Proposed"
    APPROVED = "Approved"
    APPLYING = "Applying"
    APPLIED = "Applied"
    FAILED = "Failed"
    STALE = "Stale"
    EXPIRED = "Expired"
    REJECTED = "Rejected"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    SUPERSEDED = "Superseded"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class TargetRef(_Model):
    """The workload whose containers the recommendation resizes; it lives in the RR's namespace."""

    apiVersion: str = Field(pattern=r"^(apps|batch)/v1$", description="apps/v1 or batch/v1.")
    kind: WorkloadKind
    name: str = Field(pattern=DNS1123_SUBDOMAIN, max_length=253)


def valid_target(rr: dict[str, Any]) -> TargetRef | None:
    """The RR's target if it is valid (a known kind, a DNS-1123 name), else None: nothing is requested
    from the API server with an RR's fields before they are validated."""
    try:
        return TargetRef.model_validate((rr.get("spec") or {}).get("target"))
    except ValidationError:
        return None


class ResourceAmounts(_Model):
    """CPU and memory amounts; an absent field means "not set" on the container."""

    cpu: Quantity | None = None
    memory: Quantity | None = None

    @field_validator("cpu", "memory")
    @classmethod
    def _sane(cls, value: str | None, info: Any) -> str | None:
        if value is not None:
            try:
                parse_resource_quantity(value, info.field_name)
            except QuantityError as exc:
                raise ValueError(str(exc)) from None
        return value


class ContainerResources(_Model):
    """A container's CPU/memory requests and limits (other resource names are never touched)."""

    requests: ResourceAmounts = Field(default_factory=ResourceAmounts)
    limits: ResourceAmounts = Field(default_factory=ResourceAmounts)


class ContainerUsage(_Model):
    """What the recommender observed for one container over the history window."""

    cpuPercentileCores: Quantity | None = Field(None, description="CPU usage at the strategy's percentile.")
    cpuPeakCores: Quantity | None = None
    memoryPeak: Quantity | None = Field(None, description="Peak working set over the window.")
    dataPoints: int | None = Field(None, ge=0)
    oomKilled: bool = False


_LIMITS_NOT_BELOW_REQUESTS: list[JsonValue] = [
    {
        "rule": "!has(self.requests) || !has(self.requests.cpu) || "
        "!has(self.limits) || !has(self.limits.cpu) || "
        "quantity(self.limits.cpu).compareTo(quantity(self.requests.cpu)) >= 0",
        "message": "limits.cpu must not be below requests.cpu",
    },
    {
        "rule": "!has(self.requests) || !has(self.requests.memory) || "
        "!has(self.limits) || !has(self.limits.memory) || "
        "quantity(self.limits.memory).compareTo(quantity(self.requests.memory)) >= 0",
        "message": "limits.memory must not be below requests.memory",
    },
]


ValuesFrom = Literal["scan", "scan-within-max-step", "assistant", "rollback"]


class ContainerRecommendation(_Model):
    """One container's proposal: `proposed` replaces `current` for cpu and memory, exactly.

    `proposed` is the complete desired cpu/memory requests and limits: a value absent there is
    removed from the container (krr's simple strategy recommends no CPU limit).
    """

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": []})

    name: str = Field(pattern=DNS1123_LABEL, max_length=63)
    current: ContainerResources = Field(description="The container's resources when this was proposed.")
    proposed: ContainerResources = Field(
        json_schema_extra={"x-kubernetes-validations": _LIMITS_NOT_BELOW_REQUESTS}
    )
    usage: ContainerUsage | None = None
    severity: str | None = Field(None, pattern=r"^(UNKNOWN|GOOD|OK|WARNING|CRITICAL)$", max_length=16)
    valuesFrom: ValuesFrom | None = Field(
        None,
        description="Where `proposed` came from: the bridge's scan recommendation (scan), the same moved "
        "at most the policy's largest step (scan-within-max-step), the assistant's own numbers "
        "(assistant: its assertion, not the scan's), or the state before an apply (rollback). Absent: "
        "not recorded (written without the bridge).",
    )


class Evidence(_Model):
    """Where the numbers came from."""

    source: Literal["krr", "native", "manual", "rollback"]
    strategy: SafeText = Field("simple", max_length=63)
    historyHours: int | None = Field(None, ge=1, le=24 * 365)
    cpuPercentile: float | None = Field(None, ge=0, le=100)
    memoryBufferPercentage: float | None = Field(None, ge=0, le=1000)
    scannedAt: datetime | None = None
    scanId: str | None = Field(
        None, pattern=SCAN_ID_PATTERN, description="The bridge's scan the numbers were checked against."
    )


_SPEC_RULES: list[JsonValue] = [
    {
        "rule": "!oldSelf.approved || self.containers == oldSelf.containers && self.target == oldSelf.target",
        "message": "an approved recommendation is immutable: target and containers cannot change",
    },
    {
        "rule": "!oldSelf.approved || self.approved",
        "message": "approval cannot be withdrawn; set rejected or rollbackRequested instead",
    },
    {
        "rule": "!oldSelf.approved || !has(oldSelf.approvedBy) || "
        "(has(self.approvedBy) && self.approvedBy == oldSelf.approvedBy)",
        "message": "approvedBy cannot change once approved",
    },
    {
        "rule": "!oldSelf.rejected || self.rejected",
        "message": "a rejection cannot be withdrawn",
    },
    {
        "rule": "!oldSelf.rollbackRequested || self.rollbackRequested",
        "message": "a rollback request cannot be withdrawn",
    },
    {
        "rule": "!has(oldSelf.rollbackRequestedBy) || "
        "(has(self.rollbackRequestedBy) && self.rollbackRequestedBy == oldSelf.rollbackRequestedBy)",
        "message": "rollbackRequestedBy cannot change once set",
    },
]

_SPEC_STATE_RULES: list[JsonValue] = [
    {
        "rule": "!self.approved || (has(self.approvedBy) && size(self.approvedBy) > 0)",
        "message": "approved requires approvedBy (the human who approved)",
    },
    {
        "rule": "!self.rollbackRequested || "
        "(has(self.rollbackRequestedBy) && size(self.rollbackRequestedBy) > 0)",
        "message": "rollbackRequested requires rollbackRequestedBy (the human who asked for it)",
    },
    {
        "rule": "!self.rollbackRequested || self.approved",
        "message": "only an approved recommendation can be rolled back",
    },
    {
        "rule": "!(self.approved && self.rejected)",
        "message": "a recommendation cannot be both approved and rejected",
    },
]


class ResourceRecommendationSpec(_Model):
    """What is proposed, on what evidence, and the human's decisions about it."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": _SPEC_STATE_RULES + _SPEC_RULES})

    target: TargetRef
    containers: list[ContainerRecommendation] = Field(
        min_length=1,
        max_length=64,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    evidence: Evidence
    reason: SafeText = Field(
        max_length=4096,
        description="Why this change, in words a reviewer reads (no control or bidirectional-formatting "
        "characters).",
    )
    approved: bool = Field(False, description="Set to true by a human (kubectl) to allow the change.")
    approvedBy: SafeText | None = Field(None, max_length=512, description="The approving user's name.")
    rejected: bool = Field(False, description="Set by a human to refuse the proposal for good.")
    rollbackRequested: bool = Field(False, description="Set by a human to restore the prior resources.")
    rollbackRequestedBy: str | None = Field(
        None,
        max_length=512,
        description="The user who asked for the rollback (checked by the admission policy).",
    )
    autoRollback: bool = Field(True, description="Roll back by itself when the rollout fails.")
    expiresAt: datetime | None = Field(None, description="Not applied after this time.")
    rolloutTimeoutSeconds: int = Field(
        600,
        ge=10,
        le=86400,
        description="How long the rollout may take once the workload's controller has taken up the "
        "change; longer, and it counts as failed (rolled back when autoRollback).",
    )

    @field_validator("containers")
    @classmethod
    def _unique_names(cls, value: list[ContainerRecommendation]) -> list[ContainerRecommendation]:
        names = [c.name for c in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate container names: {', '.join(duplicates)}")
        return value


class Condition(_Model):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str = Field(max_length=316)
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(max_length=1024)
    message: str = Field("", max_length=32768)
    lastTransitionTime: datetime
    observedGeneration: int | None = None


class SafetyFinding(_Model):
    """One rule's verdict on the proposal."""

    rule: str
    severity: Literal["info", "warning", "refuse"]
    message: str
    container: str | None = None


class SafetyReport(_Model):
    """The safety rules' verdict; `allowed` is false when any finding refuses."""

    allowed: bool
    risk: RiskLevel
    findings: list[SafetyFinding] = Field(default_factory=list)
    checkedAt: datetime | None = None


class ContainerChange(_Model):
    """A container's full `resources` before and after one change (before is the rollback snapshot)."""

    name: str
    before: dict[str, Any] = Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})
    after: dict[str, Any] = Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})


class HistoryEntry(_Model):
    """One change the operator made (or is about to make: outcome Pending is the write-ahead record)."""

    action: Literal["apply", "rollback", "auto-rollback"]
    outcome: Literal["Pending", "Succeeded", "Failed", "Abandoned", "Unknown"] = Field(
        description="Pending: written before the patch; Abandoned: the patch never happened; Unknown: "
        "interrupted, and the workload was deleted or replaced before its outcome could be read."
    )
    at: datetime
    actor: str = Field(description="Who asked for it: the approver, or the operator for auto-rollback.")
    containers: list[ContainerChange]
    workloadGenerationBefore: int | None = None
    workloadGenerationAfter: int | None = None
    workloadResourceVersionBefore: str | None = None
    workloadResourceVersionAfter: str | None = None
    workloadUid: str | None = Field(
        default=None, description="The uid of the workload the change was meant for (a replaced one differs)."
    )
    rolloutObservedAt: datetime | None = Field(
        default=None,
        description="When the operator first saw the workload's controller take up this change: the "
        "rollout timeout counts from here. Until then nothing of the change is rolled out, and it is "
        "not rolled back for being slow.",
    )
    message: str = ""


class ApprovalPin(_Model):
    """What was approved, recorded by the operator when it first sees the approval: nothing else is
    ever applied or rolled back for this RR (`krr_mcp.core.decisions.approval_pin`)."""

    specDigest: str = Field(
        max_length=128,
        description="sha256 of the approved target, containers, approved and approvedBy, as first seen.",
    )
    workloadUid: str | None = Field(
        default=None,
        max_length=128,
        description="The uid of the workload when the approval was first seen (absent: it did not exist).",
    )


class Savings(_Model):
    """What a change saves per month: (current - proposed) requests x replicas, priced.

    Positive: it frees resources and money; negative: it needs more. Requests only (what the scheduler
    reserves and cost tools allocate); a resource not requested on either side counts 0.
    """

    replicas: int = Field(ge=0, description="Pods running the template (the workload's replicas).")
    cpuCores: float = Field(description="Cores freed over all replicas (negative: more cores).")
    memoryBytes: float = Field(description="Bytes freed over all replicas (negative: more memory).")
    monthly: float = Field(description="Money saved per month (730 h) at the prices below.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", max_length=3)
    cpuPerCoreHour: float
    memoryPerGiBHour: float
    pricesFrom: str = Field(max_length=512, description="Where the prices came from.")
    perMonth: str = Field(max_length=64, description='The money per month as text ("12.34 USD").')


class ResourceRecommendationStatus(_Model):
    """What the operator saw and did. Written only by the operator (status subresource)."""

    phase: Phase = Phase.PROPOSED
    message: str = ""
    observedGeneration: int | None = None
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    safety: SafetyReport | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    supersededBy: str | None = None
    approvedAt: datetime | None = None
    approval: ApprovalPin | None = None
    appliedAt: datetime | None = None
    # One-line summaries for printer columns (JSONPath cannot format quantities).
    cpuChange: str | None = None
    memoryChange: str | None = None
    containerNames: str | None = None
    risk: RiskLevel | None = None
    savings: Savings | None = Field(
        default=None,
        description="What the change saves per month, computed by the operator from the spec's current and "
        "proposed requests, the workload's live replicas and the cluster's prices (OpenCost's or the "
        "policy's table: pricesFrom). Absent while the workload is missing; the Priced condition says why.",
    )


class ObjectMeta(BaseModel):
    """The parts of metadata the product reads; the rest is kept as it is."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(pattern=DNS1123_SUBDOMAIN, max_length=253)
    namespace: str | None = Field(None, pattern=DNS1123_LABEL, max_length=63)
    uid: str | None = None
    resourceVersion: str | None = None
    generation: int | None = None
    creationTimestamp: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ResourceRecommendation(BaseModel):
    """A proposal to resize the containers of one workload, applied only after a human approves it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, use_enum_values=True)

    apiVersion: Literal["krr-mcp.io/v1alpha1"] = "krr-mcp.io/v1alpha1"
    kind: Literal["ResourceRecommendation"] = "ResourceRecommendation"
    metadata: ObjectMeta
    spec: ResourceRecommendationSpec
    status: ResourceRecommendationStatus = Field(default_factory=ResourceRecommendationStatus)

    def to_manifest(self) -> dict[str, Any]:
        """The object as the API server takes it (no status: the operator owns that)."""
        body = self.model_dump(mode="json", exclude_none=True, exclude={"status"})
        return body


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Target", "type": "string", "jsonPath": ".spec.target.name"},
    {"name": "Kind", "type": "string", "jsonPath": ".spec.target.kind", "priority": 1},
    {"name": "Containers", "type": "string", "jsonPath": ".status.containerNames"},
    {
        "name": "CPU",
        "type": "string",
        "jsonPath": ".status.cpuChange",
        "description": "requests: current -> proposed",
    },
    {"name": "Memory", "type": "string", "jsonPath": ".status.memoryChange"},
    {
        "name": "Saves/Month",
        "type": "string",
        "jsonPath": ".status.savings.perMonth",
        "description": "(current - proposed) requests x live replicas, priced per month",
    },
    {"name": "Risk", "type": "string", "jsonPath": ".status.risk"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Approved-By", "type": "string", "jsonPath": ".spec.approvedBy"},
    {"name": "Source", "type": "string", "jsonPath": ".spec.evidence.source", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def summary_columns(spec: dict[str, Any]) -> dict[str, str]:
    """status.cpuChange / memoryChange / containerNames for PRINTER_COLUMNS (requests, current -> new)."""
    containers = spec.get("containers") or []
    names = ",".join(str(c.get("name")) for c in containers)
    columns = {"containerNames": names}
    for resource, key in (("cpu", "cpuChange"), ("memory", "memoryChange")):
        parts = []
        for c in containers:
            old = ((c.get("current") or {}).get("requests") or {}).get(resource) or "-"
            new = ((c.get("proposed") or {}).get("requests") or {}).get(resource) or "-"
            parts.append(f"{old}->{new}" if len(containers) == 1 else f"{c.get('name')}:{old}->{new}")
        columns[key] = " ".join(parts)
    return columns


def supersede_view(rr: Mapping[str, Any], name: str | None = None) -> dict[str, Any]:
    """What the supersede search (`newer_overlapping`) reads of an RR (a dict, or kopf's view of one),
    and nothing more: the operator's kopf index keeps this per RR, so that searching the index equals
    searching the full list. `name` defaults to the RR's own. The RR's spec must be a mapping whose
    target is one."""
    spec = rr["spec"]
    target = spec["target"]
    meta = rr.get("metadata") or {}
    raw_containers = spec.get("containers")
    containers: list[Any] = raw_containers if isinstance(raw_containers, list) else []
    return {
        "metadata": {"name": name or meta.get("name"), "creationTimestamp": meta.get("creationTimestamp")},
        "spec": {
            "target": {"kind": target.get("kind"), "name": target.get("name")},
            "containers": [{"name": c.get("name")} for c in containers if isinstance(c, dict)],
            "rejected": spec.get("rejected"),
        },
        "status": {"phase": (rr.get("status") or {}).get("phase")},
    }


def newer_overlapping(rr: dict[str, Any], siblings: list[dict[str, Any]]) -> str | None:
    """The supersede search: the name of the newest other RR for the same workload and an overlapping
    container, if it is newer than `rr` (creationTimestamp, then name) and still a live proposal (not
    rejected, expired or superseded). Pure: `siblings` are RRs as the API server returns them."""
    spec = rr.get("spec") or {}
    target = spec.get("target") or {}
    mine = {c.get("name") for c in spec.get("containers") or []}
    key = _age_key(rr)
    best: tuple[str, str] | None = None
    for other in siblings:
        meta = other.get("metadata") or {}
        if meta.get("name") == (rr.get("metadata") or {}).get("name"):
            continue
        ospec = other.get("spec") or {}
        otarget = ospec.get("target") or {}
        if (otarget.get("kind"), otarget.get("name")) != (target.get("kind"), target.get("name")):
            continue
        if not mine & {c.get("name") for c in ospec.get("containers") or []}:
            continue
        if ospec.get("rejected") or (other.get("status") or {}).get("phase") in (
            Phase.REJECTED,
            Phase.EXPIRED,
            Phase.SUPERSEDED,
        ):
            continue
        okey = _age_key(other)
        if okey > key and (best is None or okey > best):
            best = okey
    return best[1] if best else None


def _age_key(rr: dict[str, Any]) -> tuple[str, str]:
    meta = rr.get("metadata") or {}
    created = meta.get("creationTimestamp") or ""
    if isinstance(created, datetime):
        created = created.isoformat()
    return str(created), str(meta.get("name") or "")
