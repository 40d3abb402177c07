"""The recommenders' shared result model: what a scan asks for and what it found.

Both sources (the krr CLI adapter and the native Prometheus engine) produce a `ScanResult`. Per-container
quantities reuse the RR model's `ContainerResources` / `ContainerUsage`, so a `ContainerScan` turns into a
`ContainerRecommendation` without conversion. A container whose recommendation is incomplete (krr's `"?"`,
an error) has `proposable == False` and must never become a proposal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from krr_mcp.api.resource_recommendation import ContainerResources, ContainerUsage, Savings
from krr_mcp.core.savings import Prices, price, request_change

Severity = Literal["UNKNOWN", "GOOD", "OK", "WARNING", "CRITICAL"]
SEVERITY_ORDER: dict[str, int] = {"UNKNOWN": 0, "GOOD": 1, "OK": 2, "WARNING": 3, "CRITICAL": 4}
SourceName = Literal["krr", "native", "report"]
ResourceName = Literal["cpu", "memory"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScanRequest(_Model):
    """What to scan and with which strategy settings (names and defaults follow krr's `simple`)."""

    namespaces: list[str] = Field(default_factory=list, description="Empty: every namespace but kube-system.")
    label_selector: str | None = Field(
        default=None, description="Workload labels, krr's -s syntax: a=b,c!=d."
    )
    kinds: list[str] = Field(default_factory=list, description="Workload kinds; empty: all.")
    names: list[str] = Field(default_factory=list, description="Workload names; empty: all.")
    strategy: str = Field(default="simple", pattern=r"^[a-z][a-z0-9_-]{0,62}$")
    history_hours: float = Field(default=336.0, ge=1, le=24 * 90)
    timeframe_minutes: float = Field(
        default=1.25, gt=0, le=24 * 60, description="PromQL step (krr --timeframe_duration)."
    )
    cpu_percentile: float = Field(default=95.0, gt=0, le=100)
    cpu_request_percentile: float = Field(
        default=66.0, gt=0, le=100, description="simple_limit: CPU request percentile (krr --cpu_request)."
    )
    cpu_limit_percentile: float = Field(
        default=96.0, gt=0, le=100, description="simple_limit: CPU limit percentile (krr --cpu_limit)."
    )
    memory_buffer_pct: float = Field(default=15.0, gt=0, le=1000)
    points_required: int = Field(default=100, ge=1)
    allow_hpa: bool = False
    use_oomkill_data: bool = False
    oom_memory_buffer_pct: float = Field(default=25.0, ge=0, le=1000)
    cpu_min_millicores: int = Field(default=10, ge=0, le=100_000)
    memory_min_mib: int = Field(default=100, ge=0, le=1_000_000)
    source: Literal["auto", "krr", "native", "report"] = "auto"
    prometheus_url: str | None = None
    report_path: str | None = Field(
        default=None,
        description="A saved report (krr -f json output or a krr-mcp ScanResult JSON) for source 'report'; "
        "'auto' uses it when set.",
    )
    timeout_seconds: float = Field(
        default=600.0, gt=0, le=3600, description="krr: the whole run; native: each Prometheus query."
    )
    max_concurrency: int = Field(
        default=8, ge=1, le=64, description="Concurrent Prometheus queries (native)."
    )
    query_mode: Literal["batched", "per_object"] = Field(
        default="batched",
        description="per_object reproduces krr's query pattern (benchmark comparison only).",
    )
    end_time: datetime | None = Field(
        default=None, description="Evaluate at this instant instead of now (native)."
    )
    keep_explanations: bool = Field(
        default=True,
        description="native: keep each container's explanation (the numbers behind it, for "
        "explain_recommendation and saved results). scan_recommendations never shows them and asks for "
        "none: about a third less memory per kept container.",
    )
    krr_extra_args: list[str] = Field(default_factory=list, max_length=64)
    kubeconfig: str | None = Field(
        default=None,
        description="krr source: the kubeconfig krr reads (--kubeconfig); the bridge passes its own.",
    )
    kube_context: str | None = Field(
        default=None,
        description="krr source: the context krr scans (--context); default: the kubeconfig's current one.",
    )
    kube_as: str | None = Field(
        default=None,
        description="krr source: the user krr acts as (--as): the ServiceAccount the bridge impersonates.",
    )


class PodRef(_Model):
    name: str
    deleted: bool = False


class HpaInfo(_Model):
    """An HPA targeting the workload; krr refuses a resource the HPA scales on unless allow_hpa."""

    name: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    current_replicas: int | None = None
    desired_replicas: int | None = None
    target_cpu_utilization_percentage: float | None = None
    target_memory_utilization_percentage: float | None = None


class ResourceExplanation(_Model):
    """The numbers behind one resource's recommendation (explain_recommendation shows these)."""

    resource: ResourceName
    method: str = Field(description="e.g. 'p95 of CPU usage rate' or 'peak working set + 15%'.")
    per_pod: dict[str, float] = Field(default_factory=dict, description="Per-pod percentile or peak.")
    observed: float | None = Field(default=None, description="Max over pods of per_pod (cores or bytes).")
    raw_value: float | None = Field(
        default=None, description="Before rounding and floors (observed x buffer)."
    )
    rounded_value: float | None = Field(default=None, description="After rounding up (1m / 1Mi).")
    final_value: float | None = Field(default=None, description="After the minimum floor.")
    floor: float | None = None
    floor_applied: bool = False
    data_points: int | None = None
    points_required: int | None = None
    oomkill_bytes: float | None = None
    info: str | None = None
    peak: float | None = Field(
        default=None,
        description="The highest CPU usage-rate sample (simple: of the percentile's subquery, max over pods; "
        "simple_limit: of the range query).",
    )
    limit_observed: float | None = Field(
        default=None, description="simple_limit: the CPU limit percentile of the samples."
    )
    limit_final_value: float | None = Field(
        default=None, description="simple_limit: the CPU limit after rounding and the floor."
    )


class ContainerScan(_Model):
    """One container of one workload: current resources, the recommendation and why."""

    namespace: str
    kind: str
    name: str
    container: str
    pods: list[PodRef] = Field(default_factory=list)
    current: ContainerResources = Field(default_factory=ContainerResources)
    recommended: ContainerResources | None = Field(
        default=None,
        description="Complete desired requests/limits; None when there is no usable recommendation.",
    )
    unknown: list[ResourceName] = Field(
        default_factory=list, description="Resources with no recommendation (krr '?'): not enough data, HPA."
    )
    severity: Severity = "UNKNOWN"
    severities: dict[str, Severity] = Field(
        default_factory=dict, description="Per field, e.g. {'requests.cpu': 'GOOD', 'limits.memory': 'OK'}."
    )
    info: dict[str, str] = Field(default_factory=dict, description="krr's per-resource info.")
    usage: ContainerUsage = Field(default_factory=ContainerUsage)
    hpa: HpaInfo | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    error: str | None = Field(
        default=None, description="Why this container has no recommendation (never guessed)."
    )
    explanation: list[ResourceExplanation] = Field(default_factory=list)
    monthly_savings: Savings | None = Field(
        default=None,
        description="What the recommendation saves over the running pods, per month at the cluster's "
        "prices (set by the bridge; None: no recommendation, or not priced).",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def missing_data(self) -> bool:
        """True when some resource has no recommendation or the container errored."""
        return bool(self.unknown) or self.error is not None or self.recommended is None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def proposable(self) -> bool:
        """True only for a complete, error-free recommendation."""
        return not self.missing_data

    @property
    def running_pods(self) -> int:
        """Pods of this workload running now (krr's current_pods_count: the pods not deleted)."""
        return sum(1 for p in self.pods if not p.deleted)

    def savings(self, resource: ResourceName) -> Decimal | None:
        """current request - recommended request (cores or bytes; negative: needs more); None if unknown."""
        if self.recommended is None or resource in self.unknown:
            return None
        return request_change(self.current, self.recommended, resource)

    def priced(self, prices: Prices) -> ContainerScan:
        """A copy whose `monthly_savings` prices its savings over its running pods (None: no
        recommendation)."""
        if self.recommended is None:
            return self.model_copy(update={"monthly_savings": None})
        cpu, memory = self.savings("cpu") or Decimal(0), self.savings("memory") or Decimal(0)
        found = price(cpu, memory, self.running_pods, prices)
        return self.model_copy(update={"monthly_savings": found})


class ScanError(_Model):
    """A problem that kept something out of the result (a namespace, a workload, the whole scan)."""

    scope: Literal["scan", "namespace", "workload", "container", "output"] = "scan"
    message: str
    namespace: str | None = None
    name: str | None = None
    container: str | None = None
    path: str | None = Field(default=None, description="JSON path in krr's output, when parsing found it.")


class ScanSummary(_Model):
    containers: int = 0
    proposable: int = 0
    missing_data: int = 0
    errors: int = 0
    by_severity: dict[str, int] = Field(default_factory=dict)
    cpu_request_savings_cores: float = Field(
        default=0.0, description="Sum over containers of current - recommended request (one pod each)."
    )
    memory_request_savings_bytes: float = 0.0
    cpu_request_savings_cores_running_pods: float = Field(
        default=0.0,
        description="The same, each container multiplied by its running pods (what it saves now).",
    )
    memory_request_savings_bytes_running_pods: float = 0.0
    monthly_savings: float | None = Field(
        default=None,
        description="The items' monthly_savings summed (money per month over the running pods, in "
        "`currency`); None when the scan was not priced.",
    )
    currency: str | None = None


class PriceTable(_Model):
    """The prices a scan's savings were priced with, and where they came from."""

    cpu_per_core_hour: float
    memory_per_gib_hour: float
    currency: str
    source: str


class ScanStats(_Model):
    """How the scan ran (native engine: HTTP requests to Prometheus)."""

    prometheus_requests: int = 0
    prometheus_bytes: int = 0
    duration_seconds: float = 0.0
    query_mode: str | None = None


class SavedReport(_Model):
    """Where a result read from a file came from: its numbers are not from a live scan."""

    path: str
    format: Literal["krr-json", "scan-result"]
    recorded_source: str = Field(description="The recommender that produced the numbers (krr, native).")
    recorded_at: datetime = Field(description="When they were produced (see recorded_at_from).")
    recorded_at_from: Literal["report", "file modification time"]


class ScanResult(_Model):
    items: list[ContainerScan] = Field(default_factory=list)
    summary: ScanSummary = Field(default_factory=ScanSummary)
    source: SourceName
    source_reason: str = ""
    strategy: str = "simple"
    settings: dict[str, Any] = Field(default_factory=dict)
    score: int | None = None
    errors: list[ScanError] = Field(default_factory=list)
    warnings: list[ScanError] = Field(
        default_factory=list,
        description="What krr itself only warns about (e.g. HistoryRangeError): the scan went on.",
    )
    stats: ScanStats = Field(default_factory=ScanStats)
    scanned_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    report: SavedReport | None = Field(
        default=None, description="Set when source is 'report': the file the numbers were read from."
    )

    prices: PriceTable | None = Field(
        default=None, description="The prices of the items' monthly_savings (None: not priced)."
    )

    def with_summary(self) -> ScanResult:
        """A copy whose summary is recomputed from items and errors."""
        return self.model_copy(update={"summary": summarize(self.items, self.errors)})

    def priced(self, prices: Prices, warning: str | None = None) -> ScanResult:
        """A copy with every item's savings priced, the summary's sums, and `warning` (e.g. why the
        prices are not OpenCost's) among the warnings."""
        table = PriceTable(
            cpu_per_core_hour=float(prices.cpu_per_core_hour),
            memory_per_gib_hour=float(prices.memory_per_gib_hour),
            currency=prices.currency,
            source=prices.source,
        )
        warnings = [*self.warnings, ScanError(scope="scan", message=warning)] if warning else self.warnings
        items = [item.priced(prices) for item in self.items]
        return self.model_copy(update={"items": items, "prices": table, "warnings": warnings}).with_summary()


class ScanFilters(_Model):
    """filter_recommendations' criteria; every criterion given must hold."""

    namespaces: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list, description="Workload names; shell globs allowed (web-*).")
    label_selector: str | None = None
    kinds: list[str] = Field(default_factory=list)
    containers: list[str] = Field(default_factory=list)
    min_severity: Severity | None = None
    min_cpu_savings_cores: float | None = Field(
        default=None, description="Keep when cpu request savings >= this."
    )
    min_memory_savings_bytes: float | None = Field(
        default=None, description="Keep when memory savings >= this."
    )
    include_missing_data: bool = True


def summarize(items: list[ContainerScan], errors: list[ScanError]) -> ScanSummary:
    by_severity: dict[str, int] = {}
    cpu = memory = cpu_pods = memory_pods = money = Decimal(0)
    currencies = {i.monthly_savings.currency for i in items if i.monthly_savings is not None}
    for item in items:
        if item.monthly_savings is not None:
            money += Decimal(repr(item.monthly_savings.monthly))
        by_severity[item.severity] = by_severity.get(item.severity, 0) + 1
        item_cpu, item_memory = item.savings("cpu") or 0, item.savings("memory") or 0
        cpu += item_cpu
        memory += item_memory
        cpu_pods += item_cpu * item.running_pods
        memory_pods += item_memory * item.running_pods
    return ScanSummary(
        containers=len(items),
        proposable=sum(1 for i in items if i.proposable),
        missing_data=sum(1 for i in items if i.missing_data),
        errors=len(errors),
        by_severity=by_severity,
        cpu_request_savings_cores=float(cpu),
        memory_request_savings_bytes=float(memory),
        cpu_request_savings_cores_running_pods=float(cpu_pods),
        memory_request_savings_bytes_running_pods=float(memory_pods),
        monthly_savings=float(money) if len(currencies) == 1 else None,
        currency=currencies.pop() if len(currencies) == 1 else None,
    )


def namespace_summaries(items: list[ContainerScan], errors: list[ScanError]) -> dict[str, ScanSummary]:
    """`summarize` per namespace (errors without a namespace count in none)."""
    by_ns: dict[str, tuple[list[ContainerScan], list[ScanError]]] = {}
    for item in items:
        by_ns.setdefault(item.namespace, ([], []))[0].append(item)
    for error in errors:
        if error.namespace:
            by_ns.setdefault(error.namespace, ([], []))[1].append(error)
    return {ns: summarize(*by_ns[ns]) for ns in sorted(by_ns)}
