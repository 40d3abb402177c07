"""propose_change and preview_change against the sandbox, through the SDK's in-process client."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import ElicitRequestParams, ElicitResult

from krr_mcp.sandbox.testing import SandboxHandle

from .bridge_support import WEB_PROPOSAL, assert_nothing_approved


def kubectl_json(cluster: SandboxHandle, *args: str) -> Any:
    done = cluster.kubectl(*args, "-o", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_propose_creates_an_unapproved_rr_and_hands_over_kubectl_commands(
    server: MCPServer, cluster: SandboxHandle
) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "propose_change", {"proposals": [WEB_PROPOSAL], "reason": "web is idle"}
        )
    assert not result.is_error, result.content
    out = result.structured_content
    assert out is not None and out["confirmation"] == "not-asked"
    [created] = out["created"]
    name = created["name"]
    approve_patch = (
        '{"metadata":{"resourceVersion":"<resourceVersion>"},"spec":{"approved":true,"approvedBy":"<you>"}}'
    )
    expected = f"kubectl patch rr {name} -n shop --type merge -p '{approve_patch}'"
    assert created["review"]["approve"] == expected
    assert created["review"]["approve_with_plugin"] == f"kubectl krr approve {name} -n shop"
    assert name in result.content[0].text and "kubectl krr approve" in result.content[0].text

    rr = kubectl_json(cluster, "get", "rr", name, "-n", "shop", "--show-managed-fields")
    spec = rr["spec"]
    assert spec.get("approved", False) is False and "approvedBy" not in spec
    assert spec.get("rollbackRequested", False) is False
    assert spec["target"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    [container] = spec["containers"]
    assert container["current"] == {
        "requests": {"cpu": "1", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    assert container["proposed"] == {
        "requests": {"cpu": "500m", "memory": "768Mi"},
        "limits": {"memory": "1Gi"},
    }
    # No scan behind these numbers: the RR says they are the assistant's, and the evidence is manual.
    assert container["valuesFrom"] == "assistant" and spec["evidence"]["source"] == "manual"
    assert rr["metadata"]["labels"] == {
        "krr-mcp.io/target-kind": "Deployment",
        "krr-mcp.io/target-name": "web",
    }
    assert rr["metadata"]["annotations"]["krr-mcp.io/created-by"] == "bridge"
    managers = {m["manager"] for m in rr["metadata"].get("managedFields") or []}
    assert managers == {"krr-mcp-bridge"}
    # The bridge set none of the human-only fields: it never owns approvedBy, and the others it owns
    # only as the API server's schema defaults (false), which a real server also credits to the creator.
    for entry in rr["metadata"].get("managedFields") or []:
        owned_spec = (entry.get("fieldsV1") or {}).get("f:spec") or {}
        assert "f:approvedBy" not in owned_spec
        for field in ("approved", "rollbackRequested", "rejected"):
            assert f"f:{field}" not in owned_spec or spec[field] is False
    # The human sees it with plain kubectl.
    listing = cluster.kubectl("get", "recommendations", "-n", "shop")
    assert listing.returncode == 0 and name in listing.stdout


async def test_preview_shows_patch_dry_run_and_safety_and_changes_nothing(
    server: MCPServer, cluster: SandboxHandle, rrs: Any
) -> None:
    before = kubectl_json(cluster, "get", "deployment", "web", "-n", "shop")
    async with Client(server) as client:
        result = await client.call_tool("preview_change", {k: WEB_PROPOSAL[k] for k in WEB_PROPOSAL})
    assert not result.is_error, result.content
    out = result.structured_content
    assert out is not None
    assert out["dry_run"]["accepted"] is True
    assert out["dry_run"]["resulting_resources"]["web"] == {
        "requests": {"cpu": "500m", "memory": "768Mi"},
        "limits": {"memory": "1Gi"},
    }
    ops = out["patch"]
    assert {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "web"} in ops
    assert any(op["op"] == "remove" and op["path"].endswith("/limits/cpu") for op in ops)
    assert out["safety"]["allowed"] is True and out["safety"]["risk"] in ("low", "medium", "high")
    assert "3 pod(s)" in out["restart_impact"]
    after = kubectl_json(cluster, "get", "deployment", "web", "-n", "shop")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["spec"] == before["spec"]
    assert rrs() == []
    assert out["dry_run"]["nothing_persisted"] is True
    assert f"resourceVersion {before['metadata']['resourceVersion']} unchanged" in out["dry_run"]["message"]


async def test_preview_never_says_nothing_was_persisted_when_the_dry_run_wrote(
    server: MCPServer, cluster: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API server (or a webhook with side effects) that ignores dryRun: the preview used to repeat
    "nothing was persisted" without looking. Here the patch really lands in the sandbox."""
    from krr_mcp.kube.client import Kube

    real_patch = Kube.patch_workload

    def ignores_dry_run(self: Kube, *args: Any, **kwargs: Any) -> Any:
        return real_patch(self, *args, **(kwargs | {"dry_run": False}))

    monkeypatch.setattr(Kube, "patch_workload", ignores_dry_run)
    async with Client(server) as client:
        result = await client.call_tool("preview_change", {k: WEB_PROPOSAL[k] for k in WEB_PROPOSAL})
    out = result.structured_content
    assert out is not None and out["dry_run"]["accepted"] is True
    assert out["dry_run"]["nothing_persisted"] is False
    text = result.content[0].text  # type: ignore[union-attr]
    assert "nothing was persisted" not in text and "nothing was changed" not in text, text
    assert "may have been persisted" in out["dry_run"]["message"] and "WARNING" in text


async def test_a_change_the_safety_rules_refuse_is_previewed_but_never_proposed(
    server: MCPServer, rrs: Any
) -> None:
    proposal = copy.deepcopy(WEB_PROPOSAL)
    override = proposal["containers"][0]["override"]
    override["requests"] = {"cpu": "100", "memory": "1Gi"}  # above the 64-core ceiling
    override["limits"] = {"cpu": "100", "memory": "2Gi"}
    async with Client(server) as client:
        preview = await client.call_tool("preview_change", proposal)
        proposed = await client.call_tool("propose_change", {"proposals": [proposal], "reason": "more"})
    assert not preview.is_error
    assert preview.structured_content is not None
    assert preview.structured_content["safety"]["allowed"] is False
    assert preview.structured_content["would_be_refused"] is True
    assert proposed.is_error
    assert (
        "safety rules refuse" in proposed.content[0].text
        and "Nothing was created" in proposed.content[0].text
    )
    assert rrs() == []


async def test_propose_is_all_or_nothing(server: MCPServer, rrs: Any) -> None:
    bad = copy.deepcopy(WEB_PROPOSAL) | {"name": "ghost"}
    async with Client(server) as client:
        result = await client.call_tool("propose_change", {"proposals": [WEB_PROPOSAL, bad], "reason": "two"})
    assert result.is_error and "Deployment shop/ghost not found" in result.content[0].text
    assert rrs() == []


def _answer(action: str, content: dict[str, Any] | None = None) -> Any:
    seen: list[str] = []

    async def callback(context: Any, params: ElicitRequestParams) -> ElicitResult:
        seen.append(params.message)
        return ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    callback.seen = seen  # type: ignore[attr-defined]
    return callback


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # input-required rounds, and a mid-call request
async def test_elicitation_confirms_the_proposal_when_the_client_supports_it(
    server: MCPServer, cluster: SandboxHandle, rrs: Any, mode: str
) -> None:
    confirm = _answer("accept", {"confirm": True})
    async with Client(server, elicitation_callback=confirm, mode=mode) as client:
        result = await client.call_tool("propose_change", {"proposals": [WEB_PROPOSAL], "reason": "idle"})
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["confirmation"] == "confirmed"
    [question] = confirm.seen
    assert "Deployment shop/web" in question and "500m" in question and "approves" in question
    assert len(rrs()) == 1
    assert_nothing_approved(cluster)


async def test_a_declined_or_cancelled_proposal_creates_nothing(server: MCPServer, rrs: Any) -> None:
    for callback, expected in (
        (_answer("decline"), "declined"),
        (_answer("cancel"), "cancelled"),
        (_answer("accept", {"confirm": False}), "declined"),
    ):
        async with Client(server, elicitation_callback=callback) as client:
            result = await client.call_tool("propose_change", {"proposals": [WEB_PROPOSAL], "reason": "idle"})
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert result.structured_content["confirmation"] == expected
        assert result.structured_content["created"] == []
    assert rrs() == []
