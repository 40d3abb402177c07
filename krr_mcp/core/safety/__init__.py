"""Safety rules: pure functions from (proposal, live workload, cluster context, policy) to a SafetyReport.

Shared by the bridge (preview and proposal) and the operator (again, right before applying). Nothing
here talks to the API server; `krr_mcp.kube.loaders.load_cluster_context` reads the `ClusterContext`.
"""

from __future__ import annotations

from .container_rules import ceiling_refusals
from .context import ClusterContext, NamespaceInputs
from .evaluate import evaluate
from .gitops import gitops_controller, render_gitops_patch
from .provenance import BRIDGE_SERVICE_ACCOUNT, OPERATOR_SERVICE_ACCOUNT, approval_provenance_problem

__all__ = [
    "BRIDGE_SERVICE_ACCOUNT",
    "OPERATOR_SERVICE_ACCOUNT",
    "ClusterContext",
    "NamespaceInputs",
    "approval_provenance_problem",
    "ceiling_refusals",
    "evaluate",
    "gitops_controller",
    "render_gitops_patch",
]
