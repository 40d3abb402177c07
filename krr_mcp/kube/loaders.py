"""What the safety rules and the decisions read of a namespace, through the client (`Kube`): the
effective recommendation policy and the safety rules' `ClusterContext`. One loader for the operator, the
dry run and the bridge, so all of them check the same things; the client itself knows nothing of them."""

from __future__ import annotations

from krr_mcp.api import policy as policy_api
from krr_mcp.api.policy import PolicySpec, policy_from_objects
from krr_mcp.api.resource_recommendation import GROUP, VERSION
from krr_mcp.core.safety import ClusterContext

from .client import Kube, namespace_path, resource_path


def policy_path(namespace: str | None) -> str:
    """The path of the `default` recommendation policy: the cluster's (`namespace` None) or a
    namespace's; InvalidRequest for an invalid namespace."""
    plural = policy_api.CLUSTER_PLURAL if namespace is None else policy_api.PLURAL
    return f"{resource_path(f'{GROUP}/{VERSION}', plural, namespace)}/{policy_api.DEFAULT_POLICY_NAME}"


def load_policy(kube: Kube, namespace: str | None) -> PolicySpec:
    """The effective policy: the cluster `default` ClusterRecommendationPolicy merged with the
    namespace's `default` RecommendationPolicy (either may be absent; `namespace` None: the cluster's
    alone). InvalidRequest for an invalid namespace, before any request; KubeError on a failed read."""
    namespaced_path = policy_path(namespace) if namespace is not None else None
    cluster = kube.get_optional("get cluster policy", policy_path(None))
    namespaced = None
    if namespaced_path is not None:
        namespaced = kube.get_optional(f"get policy of namespace {namespace}", namespaced_path)
    return policy_from_objects(cluster, namespaced)


def load_cluster_context(kube: Kube, namespace: str) -> ClusterContext:
    """The namespace and its LimitRanges, ResourceQuotas, HPAs and PDBs, as the safety rules take them
    (a kind the server does not serve: none)."""
    core = namespace_path(namespace)
    hpas = resource_path("autoscaling/v2", "horizontalpodautoscalers", namespace)
    pdbs = resource_path("policy/v1", "poddisruptionbudgets", namespace)
    return ClusterContext(
        namespace=kube.get_optional(f"get namespace {namespace}", core),
        limit_ranges=tuple(kube.list_items(f"list limitranges in {namespace}", f"{core}/limitranges")),
        resource_quotas=tuple(
            kube.list_items(f"list resourcequotas in {namespace}", f"{core}/resourcequotas")
        ),
        hpas=tuple(kube.list_items(f"list hpas in {namespace}", hpas)),
        pdbs=tuple(kube.list_items(f"list pdbs in {namespace}", pdbs)),
    )
