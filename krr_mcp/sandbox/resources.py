"""The kinds the sandbox serves: a registry of built-in kinds plus the ones CRDs register at run time.

A `ResourceType` says everything discovery, routing and storage need about one (group, version, plural).
Objects are stored per (group, plural), so every served version of a CRD sees the same objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)


@dataclass(frozen=True)
class PrinterColumn:
    """One server-side Table column; `json_path` is evaluated on the object (CRD-style), or `builtin`
    names a computed cell in tables.py."""

    name: str
    type: str = "string"
    json_path: str = ""
    priority: int = 0
    description: str = ""
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    verbs: tuple[str, ...] = ALL_VERBS
    columns: tuple[PrinterColumn, ...] = ()
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    custom: bool = False
    virtual: bool = False  # create-only review kinds: answered, never stored

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def storage_key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _t(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    cats: tuple[str, ...] = (),
    sub: tuple[str, ...] = (),
    verbs: tuple[str, ...] = ALL_VERBS,
    virtual: bool = False,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=short,
        categories=cats,
        subresources=frozenset(sub),
        verbs=verbs,
        virtual=virtual,
    )


ALL = ("all",)
BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _t("", "v1", "Namespace", "namespaces", namespaced=False, short=("ns",), sub=("status",)),
    _t("", "v1", "Pod", "pods", short=("po",), cats=ALL, sub=("status",)),
    _t("", "v1", "Event", "events", short=("ev",)),
    _t("", "v1", "ConfigMap", "configmaps", short=("cm",)),
    _t("", "v1", "Secret", "secrets"),
    _t("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",)),
    _t("", "v1", "Service", "services", short=("svc",), cats=ALL, sub=("status",)),
    _t("", "v1", "LimitRange", "limitranges", short=("limits",)),
    _t("", "v1", "ResourceQuota", "resourcequotas", short=("quota",), sub=("status",)),
    _t("", "v1", "Node", "nodes", namespaced=False, short=("no",), sub=("status",)),
    _t("apps", "v1", "Deployment", "deployments", short=("deploy",), cats=ALL, sub=("status", "scale")),
    _t("apps", "v1", "StatefulSet", "statefulsets", short=("sts",), cats=ALL, sub=("status", "scale")),
    _t("apps", "v1", "DaemonSet", "daemonsets", short=("ds",), cats=ALL, sub=("status",)),
    _t("apps", "v1", "ReplicaSet", "replicasets", short=("rs",), cats=ALL, sub=("status", "scale")),
    _t("batch", "v1", "CronJob", "cronjobs", short=("cj",), cats=ALL, sub=("status",)),
    _t("batch", "v1", "Job", "jobs", cats=ALL, sub=("status",)),
    _t(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short=("hpa",),
        cats=ALL,
        sub=("status",),
    ),
    _t("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short=("pdb",), sub=("status",)),
    _t("coordination.k8s.io", "v1", "Lease", "leases"),
    # Stored and served, never enforced (the sandbox runs no admission): what the operator reads to
    # know whether approvals are verified (krr_operator.approval_gate).
    _t(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        namespaced=False,
        sub=("status",),
    ),
    _t(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        namespaced=False,
    ),
    _t("events.k8s.io", "v1", "Event", "events", short=("ev",)),
    _t(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short=("crd", "crds"),
        sub=("status",),
    ),
    _t(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        False,
        verbs=CREATE_ONLY,
        virtual=True,
    ),
    _t("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False, verbs=CREATE_ONLY, virtual=True),
    _t(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        False,
        verbs=CREATE_ONLY,
        virtual=True,
    ),
    _t(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        False,
        verbs=CREATE_ONLY,
        virtual=True,
    ),
    _t(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        False,
        verbs=CREATE_ONLY,
        virtual=True,
    ),
)

# Discovery lists groups in this order (core first), then CRD groups alphabetically.
BUILTIN_GROUP_ORDER = (
    "",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "policy",
    "coordination.k8s.io",
    "apiextensions.k8s.io",
)


class Registry:
    """All served kinds, keyed by (group, version, plural). Not thread-safe: used from the server's loop."""

    def __init__(self, types: Iterable[ResourceType] = BUILTIN_TYPES) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for rt in types:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        self._types[(rt.group, rt.version, rt.plural)] = rt

    def remove_custom(self, group: str, plural: str) -> None:
        for key in [k for k, rt in self._types.items() if rt.custom and k[0] == group and k[2] == plural]:
            del self._types[key]

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._types.values())

    def group_versions(self) -> dict[str, list[str]]:
        """group -> served versions (preferred first)."""
        out: dict[str, list[str]] = {}
        for rt in self._types.values():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        order = {g: i for i, g in enumerate(BUILTIN_GROUP_ORDER)}
        return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.group == group and rt.version == version]

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for rt in self._types.values():
            if rt.api_version == api_version and rt.kind == kind:
                return rt
        return None

    def storage_types(self) -> dict[tuple[str, str], ResourceType]:
        """One representative type per storage key."""
        out: dict[tuple[str, str], ResourceType] = {}
        for rt in self._types.values():
            out.setdefault(rt.storage_key, rt)
        return out


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The served versions of a CustomResourceDefinition object as ResourceTypes."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        columns = tuple(
            PrinterColumn(
                name=c.get("name", ""),
                type=c.get("type", "string"),
                json_path=c.get("jsonPath", ""),
                priority=int(c.get("priority", 0) or 0),
                description=c.get("description", ""),
                format=c.get("format", ""),
            )
            for c in version.get("additionalPrinterColumns") or []
        )
        subresources = frozenset((version.get("subresources") or {}).keys())
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        out.append(
            ResourceType(
                group=group,
                version=version.get("name", ""),
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                singular=names.get("singular") or names.get("kind", "").lower(),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subresources,
                columns=columns,
                schema=schema,
                custom=True,
            )
        )
    return out
