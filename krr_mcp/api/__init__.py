"""The project's Kubernetes API: pydantic models, and the registry `krr-mcp crds generate` turns into crds/.

To serve another custom resource, append a `CRDModel` to `CRD_MODELS` and run `krr-mcp crds generate`.
"""

from __future__ import annotations

from typing import Any

from . import policy
from . import resource_recommendation as rr
from .crdgen import CRDModel, crd_for

CRD_MODELS: list[CRDModel] = [
    CRDModel(
        model=rr.ResourceRecommendation,
        group=rr.GROUP,
        version=rr.VERSION,
        kind=rr.KIND,
        plural=rr.PLURAL,
        singular=rr.SINGULAR,
        scope="Namespaced",
        short_names=list(rr.SHORT_NAMES),
        categories=list(rr.CATEGORIES),
        printer_columns=rr.PRINTER_COLUMNS,
    ),
    CRDModel(
        model=policy.ClusterRecommendationPolicy,
        group=rr.GROUP,
        version=rr.VERSION,
        kind=policy.CLUSTER_KIND,
        plural=policy.CLUSTER_PLURAL,
        singular=policy.CLUSTER_SINGULAR,
        scope="Cluster",
        categories=list(policy.CATEGORIES),
        printer_columns=policy.POLICY_PRINTER_COLUMNS,
        status_subresource=False,
    ),
    CRDModel(
        model=policy.RecommendationPolicy,
        group=rr.GROUP,
        version=rr.VERSION,
        kind=policy.KIND,
        plural=policy.PLURAL,
        singular=policy.SINGULAR,
        scope="Namespaced",
        categories=list(policy.CATEGORIES),
        printer_columns=policy.POLICY_PRINTER_COLUMNS,
        status_subresource=False,
    ),
]


def project_crds() -> list[dict[str, Any]]:
    """The project's CustomResourceDefinitions: the documents `krr-mcp crds generate` writes to crds/
    (what a sandbox is given to serve: an installed wheel has them without a checkout)."""
    return [crd_for(info) for info in CRD_MODELS]


__all__ = ["CRD_MODELS", "CRDModel", "project_crds"]
