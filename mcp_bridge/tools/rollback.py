"""request_rollback_proposal: a NEW recommendation whose proposed values are an Applied RR's prior state.

It never touches the Applied RR (in particular never sets `rollbackRequested`): the new RR goes
through the same checks and the same human approval as any other proposal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from krr_mcp.api.resource_recommendation import Evidence, HistoryEntry, ResourceAmounts

from ..bridge import Bridge
from ..inputs import ContainerProposal, Namespace, ObjectName, Reason, WorkloadProposal
from ..proposals import ProposalRefused, plan_proposal
from ..views import parse_recommendation
from .common import CREATES_PROPOSALS, in_thread, tool_errors, tool_result
from .propose import ProposeResult, create_planned, created_text


def _amounts(section: Any) -> ResourceAmounts:
    values = section if isinstance(section, dict) else {}
    return ResourceAmounts(
        cpu=str(values["cpu"]) if "cpu" in values else None,
        memory=str(values["memory"]) if "memory" in values else None,
    )


def last_applied(history: list[HistoryEntry]) -> HistoryEntry | None:
    """The most recent successful apply (the state before it is what a rollback restores)."""
    applied = [h for h in history if h.action == "apply" and h.outcome == "Succeeded"]
    return applied[-1] if applied else None


def rollback_proposal(
    bridge: Bridge, namespace: str, name: str, reason: str, expires_in_hours: int
) -> ProposeResult:
    obj = bridge.cluster.get_recommendation(namespace, name)
    rr = parse_recommendation(obj)
    if rr.status.phase != "Applied":
        raise ToolError(
            f"{namespace}/{name} is in phase {rr.status.phase}: only an Applied recommendation's prior state "
            "can be proposed as a rollback"
        )
    entry = last_applied(rr.status.history)
    if entry is None:
        raise ToolError(f"{namespace}/{name} has no successful apply in its history to roll back")
    applied_at = entry.at.isoformat()
    proposal = WorkloadProposal(
        namespace=namespace,
        kind=rr.spec.target.kind,
        name=rr.spec.target.name,
        containers=[
            ContainerProposal(
                name=c.name,
                requests=_amounts(c.before.get("requests")),
                limits=_amounts(c.before.get("limits")),
            )
            for c in entry.containers
        ],
    )
    now = datetime.now(UTC)
    try:
        plan = plan_proposal(
            bridge,
            proposal,
            reason=f"Rollback of {name} to the resources before its apply at {applied_at}. {reason}",
            evidence=Evidence(source="rollback", strategy="rollback", scannedAt=None),
            auto_rollback=True,
            expires_in=timedelta(hours=expires_in_hours),
            now=now,
            rollback_of=name,
        )
    except ProposalRefused as exc:
        raise ToolError(f"request_rollback_proposal refused: {exc}. Nothing was created.") from None
    return create_planned(bridge, [plan], "not-asked")


def register(server: MCPServer, bridge: Bridge) -> None:
    @server.tool(title="Propose rolling back an applied recommendation", annotations=CREATES_PROPOSALS)
    async def request_rollback_proposal(
        namespace: Namespace,
        name: ObjectName,
        reason: Reason,
        expires_in_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 72,
    ) -> Annotated[CallToolResult, ProposeResult]:
        """Create a NEW ResourceRecommendation (approved=false) whose proposed resources are the state
        before an Applied recommendation's change. A human approves it like any other proposal; this
        never triggers a rollback by itself and never modifies the Applied recommendation."""
        with tool_errors(f"rollback proposal for {namespace}/{name}"):
            result = await in_thread(rollback_proposal, bridge, namespace, name, reason, expires_in_hours)
        return tool_result(result, created_text(result))
