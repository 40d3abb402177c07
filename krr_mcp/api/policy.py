"""RecommendationPolicy: the limits the safety rules apply, configured in the cluster.

Two kinds share one `PolicySpec` (as Role/ClusterRole do):

- `ClusterRecommendationPolicy` (cluster-scoped, only the one named `default` is read): the cluster default.
- `RecommendationPolicy` (namespaced, the one named `default`): overrides for its namespace. It cannot
  change the cluster-only fields (protected namespaces, the opt-out key): a namespace must not
  un-protect itself.

Every field is optional; an absent field inherits. `effective_policy(cluster, namespaced)` merges
namespace policy over cluster default over the built-in defaults (`BUILTIN_POLICY`) field by field,
and the result has every field set. `krr_mcp.core.safety.evaluate` takes any `PolicySpec` and fills
what is unset from the built-in defaults itself, so `PolicySpec()` means "the built-in defaults".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from .names import SYSTEM_NAMESPACE
from .resource_recommendation import DNS1123_LABEL, ObjectMeta, ResourceAmounts, _Model

CLUSTER_KIND = "ClusterRecommendationPolicy"
CLUSTER_PLURAL = "clusterrecommendationpolicies"
CLUSTER_SINGULAR = "clusterrecommendationpolicy"
KIND = "RecommendationPolicy"
PLURAL = "recommendationpolicies"
SINGULAR = "recommendationpolicy"
CATEGORIES = ["krr-mcp"]
DEFAULT_POLICY_NAME = "default"

OPT_OUT_KEY = "krr-mcp.io/ignore"
DEFAULT_PROTECTED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", SYSTEM_NAMESPACE]

# Fields only the cluster default may set (a namespaced policy setting them is refused by the CRD).
CLUSTER_ONLY_FIELDS = ("protectedNamespaces", "optOutKey", "pricing")

NamespaceName = Annotated[str, Field(pattern=DNS1123_LABEL, max_length=63)]


class HpaMode(StrEnum):
    """What to do when an HPA scales the workload on a resource whose request changes."""

    WARN = "warn"
    REFUSE = "refuse"


class ResourceBounds(ResourceAmounts):
    """A CPU and/or memory amount (a floor or a ceiling); absent means "inherit"."""


class StepLimit(_Model):
    """How far one recommendation may move a value: `new >= old * (1 - maxDecreasePercent/100)` and
    `new <= old * maxIncreaseFactor`. Exactly at a bound is allowed."""

    maxDecreasePercent: float | None = Field(default=None, ge=0, le=100)
    maxIncreaseFactor: float | None = Field(default=None, ge=1, le=1000)


class StepLimits(_Model):
    cpu: StepLimit | None = None
    memory: StepLimit | None = None


# The built-in prices are OpenCost's own defaults (configs/default.json in github.com/opencost/opencost:
# "Default prices based on GCP us-central1", on-demand list prices). They are an assumption (one cloud
# region's list prices, no discounts): set the cluster's own in `pricing`, or point `openCostUrl` at the
# cluster's OpenCost. The computation is krr_mcp.core.savings.
DEFAULT_CPU_PER_CORE_HOUR = 0.031611
DEFAULT_MEMORY_PER_GIB_HOUR = 0.004237
DEFAULT_CURRENCY = "USD"
DEFAULT_PRICES_SOURCE = "built-in table (OpenCost's default prices: GCP us-central1 on-demand)"
HOURS_PER_MONTH = 730  # 365 days x 24 h / 12, as cloud price lists and OpenCost count a month
MAX_PRICE_PER_HOUR = 1_000_000  # per core or GiB: above it a price is a mistake (the table's and OpenCost's)


class Pricing(_Model):
    """What CPU and memory requests cost; absent fields inherit the built-in table."""

    cpuPerCoreHour: float | None = Field(
        default=None,
        ge=0,
        le=MAX_PRICE_PER_HOUR,
        description="Price of one vCPU (core) requested for one hour.",
    )
    memoryPerGiBHour: float | None = Field(
        default=None,
        ge=0,
        le=MAX_PRICE_PER_HOUR,
        description="Price of one GiB of memory requested for one hour.",
    )
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the prices (e.g. USD, EUR)."
    )
    openCostUrl: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=2048,
        description="OpenCost's API (e.g. http://opencost.opencost:9003): when set, the bridge (per scan) "
        "and the operator (status.savings, asked at most hourly) read the cluster's CPU and memory prices "
        "from its /allocation API and use this table only when that fails (saying so).",
    )


class PolicySpec(_Model):
    """The safety limits. Every field is optional: absent inherits (namespace -> cluster -> built-in)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.floors) || !has(self.ceilings) || !has(self.floors.cpu) || "
                    "!has(self.ceilings.cpu) || quantity(self.floors.cpu).compareTo("
                    "quantity(self.ceilings.cpu)) <= 0",
                    "message": "floors.cpu must not be above ceilings.cpu",
                },
                {
                    "rule": "!has(self.floors) || !has(self.ceilings) || !has(self.floors.memory) || "
                    "!has(self.ceilings.memory) || quantity(self.floors.memory).compareTo("
                    "quantity(self.ceilings.memory)) <= 0",
                    "message": "floors.memory must not be above ceilings.memory",
                },
            ]
        }
    )

    floors: ResourceBounds | None = Field(default=None, description="No request or limit may go below these.")
    ceilings: ResourceBounds | None = Field(
        default=None, description="No request or limit may go above these."
    )
    maxStep: StepLimits | None = Field(
        default=None, description="How far one recommendation may move a value."
    )
    hpaMode: HpaMode | None = Field(
        default=None, description="warn or refuse when an HPA scales on a resource whose request changes."
    )
    requireUsageEvidence: bool | None = Field(
        default=None, description="Refuse a memory decrease without an observed peak working set (else warn)."
    )
    protectedNamespaces: list[NamespaceName] | None = Field(
        default=None, max_length=256, description="Namespaces never changed (cluster default only)."
    )
    optOutKey: str | None = Field(
        default=None,
        max_length=317,
        description='A label or annotation key that, set to "true" on a workload or namespace, opts it out '
        "(cluster default only).",
    )
    pricing: Pricing | None = Field(
        default=None,
        description="What requests cost, for the savings shown per recommendation (cluster default only).",
    )


BUILTIN_POLICY = PolicySpec(
    floors=ResourceBounds(cpu="10m", memory="100Mi"),
    ceilings=ResourceBounds(cpu="64", memory="256Gi"),
    maxStep=StepLimits(
        cpu=StepLimit(maxDecreasePercent=50, maxIncreaseFactor=4),
        memory=StepLimit(maxDecreasePercent=50, maxIncreaseFactor=4),
    ),
    hpaMode=HpaMode.WARN,
    requireUsageEvidence=False,
    protectedNamespaces=list(DEFAULT_PROTECTED_NAMESPACES),
    optOutKey=OPT_OUT_KEY,
    pricing=Pricing(
        cpuPerCoreHour=DEFAULT_CPU_PER_CORE_HOUR,
        memoryPerGiBHour=DEFAULT_MEMORY_PER_GIB_HOUR,
        currency=DEFAULT_CURRENCY,
    ),
)


def _merge(base: BaseModel, override: BaseModel | None) -> Any:
    """`override`'s set (non-None) fields over `base`, recursing into nested models."""
    if override is None:
        return base.model_copy(deep=True)
    values: dict[str, Any] = {}
    for name in type(base).model_fields:
        low, high = getattr(base, name), getattr(override, name)
        if high is None:
            values[name] = low
        elif isinstance(high, BaseModel) and isinstance(low, BaseModel):
            values[name] = _merge(low, high)
        else:
            values[name] = high
    return type(base).model_validate(values)


def effective_policy(cluster: PolicySpec | None = None, namespaced: PolicySpec | None = None) -> PolicySpec:
    """Namespace policy over cluster default over built-in defaults; every field of the result is set.

    The namespaced policy's cluster-only fields (`CLUSTER_ONLY_FIELDS`) are ignored even if present
    (the CRD refuses them too).
    """
    merged: PolicySpec = _merge(BUILTIN_POLICY, cluster)
    if namespaced is not None:
        namespaced = namespaced.model_copy(update=dict.fromkeys(CLUSTER_ONLY_FIELDS))
    return _merge(merged, namespaced)


def _top_level_config(rules: list[JsonValue]) -> ConfigDict:
    """The config of a policy kind: unknown top-level fields ignored, `rules` on the whole object."""
    return ConfigDict(
        extra="ignore",
        populate_by_name=True,
        use_enum_values=True,
        json_schema_extra={"x-kubernetes-validations": rules},
    )


class ClusterRecommendationPolicy(BaseModel):
    """The cluster-wide default policy; only the one named `default` is read."""

    model_config = _top_level_config(
        [{"rule": "self.metadata.name == 'default'", "message": "the cluster policy must be named default"}]
    )

    apiVersion: Literal["krr-mcp.io/v1alpha1"] = "krr-mcp.io/v1alpha1"
    kind: Literal["ClusterRecommendationPolicy"] = "ClusterRecommendationPolicy"
    metadata: ObjectMeta
    spec: PolicySpec = Field(default_factory=PolicySpec)


class RecommendationPolicy(BaseModel):
    """Per-namespace overrides of the cluster default (cluster-only fields excluded); one per namespace,
    named `default`."""

    model_config = _top_level_config(
        [
            {
                "rule": "self.metadata.name == 'default'",
                "message": "a namespace's policy must be named default (one per namespace)",
            },
            {
                "rule": "!has(self.spec) || "
                "(!has(self.spec.protectedNamespaces) && !has(self.spec.optOutKey) && "
                "!has(self.spec.pricing))",
                "message": "protectedNamespaces, optOutKey and pricing are set only in the cluster default "
                "policy",
            },
        ]
    )

    apiVersion: Literal["krr-mcp.io/v1alpha1"] = "krr-mcp.io/v1alpha1"
    kind: Literal["RecommendationPolicy"] = "RecommendationPolicy"
    metadata: ObjectMeta
    spec: PolicySpec = Field(default_factory=PolicySpec)


class PolicyError(ValueError):
    """A policy object in the cluster that does not validate; the message names it and the problem."""


def _spec_of(
    model: type[ClusterRecommendationPolicy | RecommendationPolicy], obj: dict[str, Any]
) -> PolicySpec:
    try:
        return model.model_validate(obj).spec
    except ValidationError as exc:
        meta = obj.get("metadata") or {}
        where = "/".join(str(p) for p in (meta.get("namespace"), meta.get("name")) if p)
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{model.__name__} {where or '?'} is invalid: {problems}") from None


def policy_from_objects(cluster: dict[str, Any] | None, namespaced: dict[str, Any] | None) -> PolicySpec:
    """The effective policy from the API objects as read (either may be None: not found).

    Raises PolicyError (a ValueError) naming the object when one does not validate.
    """
    cluster_spec = _spec_of(ClusterRecommendationPolicy, cluster) if cluster else None
    ns_spec = _spec_of(RecommendationPolicy, namespaced) if namespaced else None
    return effective_policy(cluster_spec, ns_spec)


POLICY_PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "CPU-Floor", "type": "string", "jsonPath": ".spec.floors.cpu"},
    {"name": "Memory-Floor", "type": "string", "jsonPath": ".spec.floors.memory"},
    {"name": "HPA", "type": "string", "jsonPath": ".spec.hpaMode"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
