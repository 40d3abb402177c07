"""The state one bridge server works with: its settings and its cluster access."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from krr_mcp.api.policy import PolicySpec
from krr_mcp.core.safety import ClusterContext
from krr_mcp.kube.client import InvalidRequest, KubeError
from krr_mcp.kube.loaders import load_cluster_context, load_policy

from .cluster import Cluster, api_client_for, explain_error
from .identity import AccessReviews, IdentityGuard
from .paging import LISTING_TTL_SECONDS, LISTINGS_KEPT, KeptResults, ScanPages
from .settings import BridgeSettings


@dataclass
class Bridge:
    settings: BridgeSettings
    cluster: Cluster
    scan_pages: ScanPages = field(default_factory=ScanPages)  # scans kept for their next pages
    # RR listings (tools.views.Listing) kept for their next pages, briefly
    listings: KeptResults[Any] = field(
        default_factory=lambda: KeptResults("listing", LISTINGS_KEPT, LISTING_TTL_SECONDS)
    )
    identity_guard: IdentityGuard | None = None  # re-checks the identity per namespace while serving

    @classmethod
    def connect(cls, settings: BridgeSettings, api_client: client.ApiClient | None = None) -> Bridge:
        """A bridge on `api_client`, or on one made from the settings' kubeconfig/in-cluster config."""
        api = api_client if api_client is not None else api_client_for(settings)
        interval = settings.identity_check_interval
        guard = IdentityGuard(AccessReviews(api), interval) if interval is not None else None
        return cls(settings=settings, cluster=Cluster(api, settings.field_manager), identity_guard=guard)

    def identity_problem(self, namespace: str) -> str | None:
        """Why the bridge's identity must not act in `namespace` now (it may approve or patch there)."""
        return self.identity_guard.problem(namespace) if self.identity_guard is not None else None

    def policy_for(self, namespace: str | None) -> PolicySpec:
        """The effective policy for a namespace: its RecommendationPolicy over the cluster default
        (`ClusterRecommendationPolicy` named default) over the built-in defaults (`namespace` None:
        the cluster's). InvalidRequest for an invalid namespace, before any request; ClusterError when
        a policy cannot be read. The operator's loader, so both apply the same policy."""
        where = f"namespace {namespace}" if namespace else "the cluster"
        try:
            return load_policy(self.cluster.kube, namespace or None)
        except InvalidRequest:
            raise
        except KubeError as exc:
            raise explain_error(exc, f"the recommendation policy of {where}") from None

    def cluster_context(self, namespace: str) -> ClusterContext:
        """What the safety rules read around a workload: its Namespace, LimitRanges, ResourceQuotas,
        HPAs and PDBs (the operator's loader, so both check the same things)."""
        try:
            return load_cluster_context(self.cluster.kube, namespace)
        except KubeError as exc:
            raise explain_error(exc, f"the surroundings of namespace {namespace}") from None

    def protected_reason(self, namespace: str, policy: PolicySpec | None = None) -> str | None:
        """Why the bridge may not propose changes in `namespace`, or None when it may."""
        protected = set(self.settings.protected_namespaces)
        if policy is not None and policy.protectedNamespaces:
            protected |= set(policy.protectedNamespaces)
        if namespace in protected:
            return f"namespace {namespace} is protected: the bridge never proposes changes there"
        return None
