"""Prompts that walk an assistant through scan -> preview -> propose -> hand to a human."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from .inputs import Namespace, ObjectName

RIGHT_SIZE = """You are helping right-size the Kubernetes workloads in namespace {namespace}.
Follow these steps, and never skip the human:
1. Call scan_recommendations for namespace {namespace}. Read the severity of each container; focus on
   CRITICAL and WARNING ones. Use explain_recommendation when a number looks surprising.
2. For each change worth making, call preview_change with the scan_id scan_recommendations returned
   and the workload and containers to change (the bridge proposes the scan's numbers; within_max_step
   limits them to the policy's largest step). Read the safety report (risk, refusals,
   HPA/LimitRange/quota/QoS effects) and the dry-run result. Drop anything refused or high-risk unless
   the user insists.
3. Call propose_change for the changes you keep, with the same scan_id, workloads and containers and a
   reason a reviewer understands. It creates ResourceRecommendations with approved=false. Give
   `override` numbers only when the user asked for specific values; the reviewer sees them as yours.
4. Hand over: show the user each created recommendation's name and the exact kubectl commands it
   returned to review and approve. You cannot approve or apply anything yourself; a human does that
   with kubectl, and the operator applies the change and records it.
"""

REVIEW = """Explain ResourceRecommendation {name} in namespace {namespace} to the user.
Call get_recommendation for it and audit_trail with recommendation={name}. Say what it changes
(current -> proposed for each container), the risk and safety findings, its phase, and who approved it
if anyone. If it is still Proposed, give the kubectl commands to approve or reject it; do not try to
approve it yourself. If it was Applied and the user wants to undo it, call request_rollback_proposal,
which creates a new proposal a human approves like any other.
"""


def register(server: MCPServer) -> None:
    """Add the guiding prompts to `server`."""

    @server.prompt(
        name="right_size_namespace",
        title="Right-size a namespace (scan, preview, propose, hand to a human)",
    )
    def right_size_namespace(namespace: Namespace) -> str:
        """Guide the assistant through scan -> preview -> propose -> human approval for one namespace."""
        return RIGHT_SIZE.format(namespace=namespace)

    @server.prompt(name="review_recommendation", title="Explain a recommendation and how to approve it")
    def review_recommendation(namespace: Namespace, name: ObjectName) -> str:
        """Explain one ResourceRecommendation and the human's next step."""
        return REVIEW.format(namespace=namespace, name=name)
