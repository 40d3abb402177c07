"""Property: whatever an assistant sends to whichever tool, no RR ends up approved, with an approver, or
asking for a rollback (the bridge has no code path that writes those fields)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.server.mcpserver import MCPServer

from krr_mcp.sandbox.testing import SandboxHandle

from .bridge_support import WEB_PROPOSAL, list_rrs

HUMAN_APPROVED = "web-approved-by-alice"
SMUGGLED: dict[str, Any] = {
    "approved": True,
    "approvedBy": "assistant",
    "approved_by": "assistant",
    "rollbackRequested": True,
    "rollback_requested": True,
    "rejected": True,
    "spec": {"approved": True, "approvedBy": "assistant", "rollbackRequested": True},
    "status": {"phase": "Approved"},
    "metadata": {"name": HUMAN_APPROVED},
}

namespaces = st.sampled_from(["shop", "billing", "batch", "kube-system", "Shop", "", "a" * 70])
kinds = st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Pod"])
names = st.sampled_from(
    ["web", "api", "postgres", "node-agent", "nightly-report", "ghost", HUMAN_APPROVED, "A!"]
)
containers = st.sampled_from(["web", "api", "postgres", "agent", "report", "log-shipper", "nope"])
cpus = st.sampled_from(["100m", "250m", "500m", "1", "2", "-1", "1e400", "NaN", "0", None])
memories = st.sampled_from(["128Mi", "256Mi", "768Mi", "1Gi", "2Gi", "99999Ei", "1e400", None])
smuggled = st.dictionaries(st.sampled_from(sorted(SMUGGLED)), st.just(None), max_size=3).map(
    lambda keys: {k: SMUGGLED[k] for k in keys}
)


@st.composite
def container_proposals(draw: st.DrawFn) -> dict[str, Any]:
    amounts = {"cpu": draw(cpus), "memory": draw(memories)}
    limits = {"cpu": draw(cpus), "memory": draw(memories)}
    override = {
        "requests": {k: v for k, v in amounts.items() if v is not None},
        "limits": {k: v for k, v in limits.items() if v is not None},
    }
    return {"name": draw(containers), "override": override} | draw(smuggled)


@st.composite
def proposals(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return dict(WEB_PROPOSAL) | draw(smuggled)  # a valid proposal, possibly with smuggled keys
    return {
        "namespace": draw(namespaces),
        "kind": draw(kinds),
        "name": draw(names),
        "containers": draw(st.lists(container_proposals(), min_size=0, max_size=2)),
    } | draw(smuggled)


def tool_calls() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    reason = st.sampled_from(["idle", "", "x" * 5000])
    return st.one_of(
        st.tuples(
            st.just("propose_change"),
            st.fixed_dictionaries(
                {"proposals": st.lists(proposals(), min_size=0, max_size=2), "reason": reason},
                optional={"expires_in_hours": st.integers(-5, 1000), "auto_rollback": st.booleans()},
            ).flatmap(lambda d: smuggled.map(lambda s: d | s)),
        ),
        st.tuples(st.just("preview_change"), proposals()),
        st.tuples(
            st.just("request_rollback_proposal"),
            st.fixed_dictionaries({"namespace": namespaces, "name": names, "reason": reason}).flatmap(
                lambda d: smuggled.map(lambda s: d | s)
            ),
        ),
        st.tuples(
            st.just("get_recommendation"), st.fixed_dictionaries({"namespace": namespaces, "name": names})
        ),
        st.tuples(
            st.just("list_recommendations"), st.fixed_dictionaries({}, optional={"namespace": namespaces})
        ),
        st.tuples(
            st.just("audit_trail"),
            st.fixed_dictionaries(
                {"namespace": namespaces},
                optional={"recommendation": names, "workload_kind": kinds, "workload_name": names},
            ),
        ),
        st.tuples(
            st.just("explain_recommendation"),
            st.fixed_dictionaries(
                {"namespace": namespaces, "kind": kinds, "name": names, "container": containers}
            ),
        ),
        st.tuples(
            st.just("scan_recommendations"),
            st.fixed_dictionaries({}, optional={"namespaces": st.lists(namespaces)}),
        ),
    )


def seed_human_approved_rr(cluster: SandboxHandle) -> None:
    """An RR a human approved and the operator applied, so the rollback tool has something to work on."""
    resources = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    cluster.apply(
        {
            "apiVersion": "krr-mcp.io/v1alpha1",
            "kind": "ResourceRecommendation",
            "metadata": {"name": HUMAN_APPROVED, "namespace": "shop"},
            "spec": {
                "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "containers": [{"name": "web", "current": resources, "proposed": resources}],
                "evidence": {"source": "manual"},
                "reason": "seeded by the test",
                "approved": True,
                "approvedBy": "alice",
            },
            "status": {
                "phase": "Applied",
                "history": [
                    {
                        "action": "apply",
                        "outcome": "Succeeded",
                        "at": "2026-01-01T00:00:00Z",
                        "actor": "alice",
                        "containers": [{"name": "web", "before": resources, "after": resources}],
                    }
                ],
            },
        }
    )


def check_invariant(cluster: SandboxHandle) -> None:
    for rr in list_rrs(cluster):
        spec, name = rr.get("spec") or {}, rr["metadata"]["name"]
        if name == HUMAN_APPROVED:  # the human's approval is untouched, and no rollback was requested
            assert spec.get("approved") is True and spec.get("approvedBy") == "alice", rr
            assert spec.get("rollbackRequested", False) is False, rr
            continue
        assert spec.get("approved", False) is False, rr
        assert not spec.get("approvedBy"), rr
        assert spec.get("rollbackRequested", False) is False, rr
        assert spec.get("rejected", False) is False, rr
        assert rr["metadata"]["annotations"]["krr-mcp.io/created-by"] == "bridge", rr


async def _call(server: MCPServer, tool: str, arguments: dict[str, Any]) -> None:
    async with Client(server) as client:
        await client.call_tool(tool, arguments)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(tool_calls(), min_size=1, max_size=3))
def test_no_tool_input_can_approve_or_roll_back(
    server: MCPServer, cluster: SandboxHandle, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    if cluster.get("krr-mcp.io/v1alpha1", "ResourceRecommendation", HUMAN_APPROVED, "shop") is None:
        seed_human_approved_rr(cluster)
    for tool, arguments in calls:
        asyncio.run(_call(server, tool, arguments))
    check_invariant(cluster)


def test_the_property_reaches_the_writing_paths(server: MCPServer, cluster: SandboxHandle) -> None:
    """The strategies above do create RRs (valid proposals and rollback proposals), so the property is
    checked on real creations, not only on refusals."""
    seed_human_approved_rr(cluster)
    asyncio.run(_call(server, "propose_change", {"proposals": [WEB_PROPOSAL | SMUGGLED], "reason": "x"}))
    asyncio.run(_call(server, "propose_change", {"proposals": [WEB_PROPOSAL], "reason": "x"} | SMUGGLED))
    asyncio.run(
        _call(
            server,
            "request_rollback_proposal",
            {"namespace": "shop", "name": HUMAN_APPROVED, "reason": "x"} | SMUGGLED,
        )
    )
    asyncio.run(_call(server, "propose_change", {"proposals": [WEB_PROPOSAL], "reason": "x"}))
    asyncio.run(
        _call(
            server, "request_rollback_proposal", {"namespace": "shop", "name": HUMAN_APPROVED, "reason": "x"}
        )
    )
    created = [rr for rr in list_rrs(cluster) if rr["metadata"]["name"] != HUMAN_APPROVED]
    assert len(created) == 2  # calls with smuggled keys are refused; the two clean ones create an RR each
    check_invariant(cluster)
