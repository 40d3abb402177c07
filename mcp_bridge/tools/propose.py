"""propose_change: create ResourceRecommendations for a human to review (never to approve them).

The plan (live workload, containers, safety rules) is computed by a resolver before anything is asked
or created, so a refused proposal fails without bothering the human. When the client supports form
elicitation, the human is asked to confirm the *proposal* (creating the RRs); approving the *change*
always stays with kubectl.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types import CallToolResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field

from krr_mcp.api.resource_recommendation import SafetyReport

from ..bridge import Bridge
from ..inputs import Reason, ScanId, WorkloadChoice
from ..proposals import (
    MANUAL_EVIDENCE,
    PlannedRecommendation,
    PlannedSummary,
    ProposalRefused,
    plan_proposal,
    summarize_plan,
)
from ..scans import evidence_from_scan
from .common import (
    CREATES_PROPOSALS,
    ReviewCommands,
    in_thread,
    kept_scan,
    review_commands,
    tool_errors,
    tool_result,
)


class ProposalConfirmation(BaseModel):
    """The human's answer to "create these proposals?" (approval of the change is separate)."""

    confirm: bool = Field(description="Create these ResourceRecommendations for review?")


class ConfirmationNotAsked(BaseModel):
    """The client cannot show an elicitation form, so the human was not asked."""


Confirmation = Literal["confirmed", "not-asked", "declined", "cancelled"]


class CreatedRecommendation(BaseModel):
    name: str
    namespace: str
    target: str
    risk: str
    changes: list[str]
    safety: SafetyReport
    review: ReviewCommands


class ProposeResult(BaseModel):
    created: list[CreatedRecommendation]
    confirmation: Confirmation = Field(
        description="What the human answered when asked to confirm the proposal (not-asked: the client "
        "does not support elicitation)."
    )
    message: str


def client_supports_elicitation(ctx: Context) -> bool:
    """Whether this client can show a form: it declared form elicitation and, before the
    input-required protocol, the connection can carry a server-to-client request."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return True
    return bool(ctx.session.can_send_request)


def confirmation_outcome(answer: ElicitationResult[ProposalConfirmation]) -> Confirmation:
    """What the human said: accepting the form with confirm=false counts as declining."""
    if isinstance(answer, AcceptedElicitation):
        if isinstance(answer.data, ConfirmationNotAsked):
            return "not-asked"
        return "confirmed" if answer.data.confirm else "declined"
    return "declined" if answer.action == "decline" else "cancelled"


def confirmation_question(plans: list[PlannedSummary]) -> str:
    lines = [f"Create {len(plans)} ResourceRecommendation(s) for human review?"]
    for plan in plans:
        lines.append(f"- {plan.target} (risk {plan.risk}):")
        lines.extend(f"    {change}" for change in plan.changes)
    lines.append("Nothing changes in the cluster until a human approves each one with kubectl.")
    return "\n".join(lines)


def created_text(result: ProposeResult) -> str:
    lines = [result.message]
    for rr in result.created:
        lines.append(f"- {rr.namespace}/{rr.name} for {rr.target} (risk {rr.risk})")
        lines.append(f"    review:  {rr.review.describe}")
        lines.append(f"    approve: {rr.review.approve}")
        lines.append(f"         or: {rr.review.approve_with_plugin}")
    return "\n".join(lines)


def create_planned(
    bridge: Bridge, plans: list[PlannedRecommendation], confirmation: Confirmation
) -> ProposeResult:
    """Create every planned RR; on a failure, say which were created before it."""
    created: list[CreatedRecommendation] = []
    for plan in plans:
        try:
            obj = bridge.cluster.create_recommendation(plan.manifest)
        except Exception as exc:
            done = ", ".join(f"{c.namespace}/{c.name}" for c in created) or "none"
            raise ToolError(
                f"creating the recommendation for {plan.kind} {plan.namespace}/{plan.name} "
                f"failed: {exc} (already created: {done})"
            ) from None
        name = obj["metadata"]["name"]
        summary = summarize_plan(plan)
        created.append(
            CreatedRecommendation(
                name=name,
                namespace=plan.namespace,
                target=summary.target,
                risk=summary.risk,
                changes=summary.changes,
                safety=plan.safety,
                review=review_commands(plan.namespace, name),
            )
        )
    message = (
        f"Created {len(created)} ResourceRecommendation(s) with approved=false. Nothing changes until a "
        "human reviews and approves each one with kubectl (commands below); the assistant cannot approve."
    )
    return ProposeResult(created=created, confirmation=confirmation, message=message)


def register(server: MCPServer, bridge: Bridge) -> None:
    """Add propose_change to `server`."""

    def plan_all(
        proposals: list[WorkloadChoice],
        reason: str,
        scan_id: str | None,
        auto_rollback: bool,
        expires_in_hours: int,
    ) -> list[PlannedRecommendation]:
        targets = [(p.namespace, p.kind, p.name) for p in proposals]
        if len(set(targets)) != len(targets):
            raise ToolError("propose_change failed: the same workload appears twice in proposals")
        now = datetime.now(UTC)
        scan = kept_scan(bridge, scan_id, "propose_change")
        with tool_errors("propose_change"):
            try:
                return [
                    plan_proposal(
                        bridge,
                        p,
                        reason=reason,
                        evidence=evidence_from_scan(scan, scan_id) if scan else MANUAL_EVIDENCE,
                        auto_rollback=auto_rollback,
                        expires_in=timedelta(hours=expires_in_hours),
                        now=now,
                        scan=scan,
                    )
                    for p in proposals
                ]
            except ProposalRefused as exc:
                raise ToolError(f"propose_change refused: {exc}. Nothing was created.") from None

    def ask_human(
        plans: Annotated[list[PlannedRecommendation], Resolve(plan_all)], ctx: Context
    ) -> Elicit[ProposalConfirmation] | ConfirmationNotAsked:
        if not client_supports_elicitation(ctx):
            return ConfirmationNotAsked()
        return Elicit(confirmation_question([summarize_plan(p) for p in plans]), ProposalConfirmation)

    @server.tool(title="Propose a resource change for human approval", annotations=CREATES_PROPOSALS)
    async def propose_change(
        proposals: Annotated[list[WorkloadChoice], Field(min_length=1, max_length=20)],
        reason: Reason,
        scan_id: ScanId | None = None,
        auto_rollback: bool = True,
        expires_in_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 72,
        *,
        plans: Annotated[list[PlannedRecommendation], Resolve(plan_all)],
        answer: Annotated[ElicitationResult[ProposalConfirmation], Resolve(ask_human)],
    ) -> Annotated[CallToolResult, ProposeResult]:
        """Create ResourceRecommendation(s) (approved=false) proposing a scan's recommendations for
        workload containers, after checking the live workload and the safety rules (a refused proposal
        creates nothing). Name the scan (scan_id) and, per workload, the containers to change: the
        numbers, usage and evidence are the bridge's own scan's, never the assistant's. Give `override`
        values only when the user asked for specific numbers; the reviewer sees them as the assistant's.
        Returns each RR's name and the kubectl commands a human runs to review and approve it. The
        assistant can never approve or apply a change."""
        confirmation = confirmation_outcome(answer)
        if confirmation in ("declined", "cancelled"):
            result = ProposeResult(
                created=[],
                confirmation=confirmation,
                message=f"The human {confirmation} the proposal; nothing was created.",
            )
            return tool_result(result, result.message)
        result = await in_thread(create_planned, bridge, plans, confirmation)
        return tool_result(result, created_text(result))
