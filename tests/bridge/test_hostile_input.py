"""Hostile tool input: every case is a clear tool error (no traceback) and nothing is created."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from krr_mcp.api import project_crds
from krr_mcp.sandbox.testing import SandboxHandle
from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings

from .bridge_support import WEB_PROPOSAL, list_rrs


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MCPServer, SandboxHandle]]:
    """One seeded sandbox for the whole module: every case here must leave it as it was (nothing created)."""
    handle = SandboxHandle(
        tmp_path_factory.mktemp("hostile") / "kubeconfig", seed="default", crds=project_crds()
    )
    try:
        yield build_server(BridgeSettings(kubeconfig=str(handle.kubeconfig))), handle
    finally:
        handle.close()


def web(**container: Any) -> dict[str, Any]:
    """The web proposal with its container's fields replaced (requests and limits: its override's)."""
    proposal = copy.deepcopy(WEB_PROPOSAL)
    values = {k: container.pop(k) for k in ("requests", "limits") if k in container}
    proposal["containers"][0]["override"].update(values)
    proposal["containers"][0].update(container)
    return proposal


def quantity(value: Any) -> dict[str, Any]:
    return web(requests={"cpu": value, "memory": "768Mi"})


# (case id, proposal, words the error message must contain). preview_change takes the proposal's fields as
# its arguments; it may succeed (it writes nothing) where PREVIEW_SUCCEEDS says so.
PROPOSALS: list[tuple[str, Any, str]] = [
    ("namespace-wrong-type", WEB_PROPOSAL | {"namespace": 123}, "namespace"),
    ("containers-wrong-type", WEB_PROPOSAL | {"containers": "web"}, "containers"),
    ("containers-empty", WEB_PROPOSAL | {"containers": []}, "containers"),
    ("huge-name", WEB_PROPOSAL | {"name": "a" * 100_000}, "name"),
    ("huge-container-name", web(name="c" * 5000), "name"),
    ("uppercase-name", WEB_PROPOSAL | {"name": "Web"}, "name"),
    ("underscore-name", WEB_PROPOSAL | {"name": "web_1"}, "name"),
    ("path-name", WEB_PROPOSAL | {"name": "../etc/passwd"}, "name"),
    ("leading-dash-namespace", WEB_PROPOSAL | {"namespace": "-shop"}, "namespace"),
    (
        "protected-namespace",
        WEB_PROPOSAL | {"namespace": "kube-system"},
        "namespace kube-system is protected",
    ),
    ("operator-namespace", WEB_PROPOSAL | {"namespace": "krr-mcp-system"}, "protected"),
    ("negative-cpu", quantity("-1"), "cpu"),
    ("overflowing-cpu", quantity("1e400"), "cpu"),
    ("nan-cpu", quantity("NaN"), "cpu"),
    ("infinite-cpu", quantity("Infinity"), "cpu"),
    ("absurd-memory", web(requests={"cpu": "500m", "memory": "99999Ei"}), "memory"),
    ("number-not-string", quantity(0.5), "cpu"),
    ("not-a-quantity", quantity("lots"), "cpu"),
    ("unknown-kind", WEB_PROPOSAL | {"kind": "Pod"}, "kind"),
    ("replicaset-kind", WEB_PROPOSAL | {"kind": "ReplicaSet"}, "kind"),
    ("nonexistent-target", WEB_PROPOSAL | {"name": "ghost"}, "Deployment shop/ghost not found"),
    ("nonexistent-namespace", WEB_PROPOSAL | {"namespace": "nowhere"}, "not found"),
    ("wrong-kind-for-target", WEB_PROPOSAL | {"kind": "StatefulSet"}, "StatefulSet shop/web not found"),
    ("container-not-in-workload", web(name="sidecar"), "container sidecar is not in Deployment shop/web"),
    ("duplicate-container", WEB_PROPOSAL | {"containers": WEB_PROPOSAL["containers"] * 2}, "twice"),
    ("smuggled-approved", WEB_PROPOSAL | {"approved": True}, "approved"),  # preview: an ignored argument
    ("smuggled-approved-in-container", web(approvedBy="mallory"), "approvedBy"),
    ("limit-below-request", web(limits={"memory": "100Mi"}), "limit"),
]


# A limit below the request is shown as a refusal in the preview's safety report rather than failing it.
PREVIEW_SUCCEEDS = {"limit-below-request"}


@pytest.mark.parametrize(("case", "proposal", "expected"), PROPOSALS, ids=[p[0] for p in PROPOSALS])
async def test_hostile_proposal_is_a_clear_error_and_creates_nothing(
    shared: tuple[MCPServer, SandboxHandle], case: str, proposal: Any, expected: str
) -> None:
    server, cluster = shared
    async with Client(server) as client:
        proposed = await client.call_tool("propose_change", {"proposals": [proposal], "reason": "test"})
        previewed = await client.call_tool("preview_change", proposal)
    for result in (proposed, previewed):
        text = result.content[0].text  # type: ignore[union-attr]
        if result is previewed and case in PREVIEW_SUCCEEDS:
            assert not result.is_error, text
            if case == "limit-below-request":
                assert result.structured_content["would_be_refused"] is True  # type: ignore[index]
            continue
        assert result.is_error, text
        assert expected.lower() in text.lower(), text
        assert "Traceback" not in text and 'File "' not in text
        assert len(text) < 4000
    assert list_rrs(cluster) == []


OTHER_CALLS: list[tuple[str, str, dict[str, Any], str]] = [
    ("no-proposals", "propose_change", {"proposals": [], "reason": "x"}, "proposals"),
    ("huge-reason", "propose_change", {"proposals": [WEB_PROPOSAL], "reason": "x" * 10_000}, "reason"),
    ("empty-reason", "propose_change", {"proposals": [WEB_PROPOSAL], "reason": ""}, "reason"),
    (
        "ansi-in-reason",
        "propose_change",
        {"proposals": [WEB_PROPOSAL], "reason": "\x1b[2J\x1b[HRisk: low"},
        "argument reason contains control or bidirectional-formatting characters (U+001B)",
    ),
    (
        "bidi-in-reason",
        "request_rollback_proposal",
        {"namespace": "shop", "name": "web-rr", "reason": "undo \u202eexe.live"},
        "argument reason contains control or bidirectional-formatting characters (U+202E)",
    ),
    (
        "newline-in-selector",
        "scan_recommendations",
        {"label_selector": "app=web\nrole=x"},
        "argument label_selector contains control",
    ),
    (
        "bad-expiry",
        "propose_change",
        {"proposals": [WEB_PROPOSAL], "reason": "x", "expires_in_hours": -1},
        "expires",
    ),
    ("too-many", "propose_change", {"proposals": [WEB_PROPOSAL] * 21, "reason": "x"}, "proposals"),
    ("same-workload-twice", "propose_change", {"proposals": [WEB_PROPOSAL] * 2, "reason": "x"}, "twice"),
    (
        "rollback-missing",
        "request_rollback_proposal",
        {"namespace": "shop", "name": "ghost", "reason": "x"},
        "not found",
    ),
    (
        "rollback-bad-name",
        "request_rollback_proposal",
        {"namespace": "shop", "name": "A", "reason": "x"},
        "name",
    ),
    ("get-huge", "get_recommendation", {"namespace": "shop", "name": "a" * 300}, "name"),
    ("list-limit", "list_recommendations", {"limit": 0}, "limit"),
    ("list-phase", "list_recommendations", {"phase": "Hacked"}, "phase"),
    ("audit-neither", "audit_trail", {"namespace": "shop"}, "either"),
    (
        "audit-both",
        "audit_trail",
        {"namespace": "shop", "recommendation": "a", "workload_name": "b"},
        "either",
    ),
    ("scan-bad-namespace", "scan_recommendations", {"namespaces": ["Shop!"]}, "namespaces"),
    ("scan-nan-percentile", "scan_recommendations", {"cpu_percentile": "NaN"}, "cpu_percentile"),
    ("scan-huge-history", "scan_recommendations", {"history_hours": 1e400}, "history_hours"),
    (
        "explain-bad-kind",
        "explain_recommendation",
        {"namespace": "shop", "kind": "Pod", "name": "w", "container": "c"},
        "kind",
    ),
]


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"), [c[1:] for c in OTHER_CALLS], ids=[c[0] for c in OTHER_CALLS]
)
async def test_hostile_arguments_to_any_tool(
    shared: tuple[MCPServer, SandboxHandle], tool: str, arguments: dict[str, Any], expected: str
) -> None:
    server, cluster = shared
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error, text
    assert expected.lower() in text.lower(), text
    assert "Traceback" not in text
    assert list_rrs(cluster) == []


async def test_unknown_top_level_arguments_are_refused(server: MCPServer, rrs: Any) -> None:
    """A smuggled or misspelt argument is a tool error naming it, and nothing runs."""
    async with Client(server) as client:
        smuggled = await client.call_tool(
            "propose_change",
            {"proposals": [WEB_PROPOSAL], "reason": "x", "approved": True, "approvedBy": "a"},
        )
        misspelt = await client.call_tool("list_recommendations", {"namepsace": "shop"})
    assert smuggled.is_error and "unknown argument(s) 'approved', 'approvedBy'" in smuggled.content[0].text  # type: ignore[union-attr]
    assert misspelt.is_error and "'namepsace'" in misspelt.content[0].text  # type: ignore[union-attr]
    assert "namespace" in misspelt.content[0].text  # type: ignore[union-attr]
    assert rrs() == []


async def test_invalid_arguments_are_one_sentence_naming_the_argument(
    shared: tuple[MCPServer, SandboxHandle],
) -> None:
    """Not pydantic's multi-line dump (with `input_value=` echoes and type codes)."""
    server, _ = shared
    async with Client(server) as client:
        result = await client.call_tool("propose_change", {"proposals": [quantity("lots")], "reason": "x"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "\n" not in text, text
    assert "proposals.0.containers.0.override.requests.cpu" in text and "input_value" not in text, text


@pytest.mark.parametrize(
    ("prompt", "arguments", "expected"),
    [
        ("right_size_namespace", {}, "needs the argument(s): namespace"),
        ("review_recommendation", {"namespace": "shop"}, "needs the argument(s): name"),
        ("right_size_namespace", {"namespace": "../kube-system"}, "namespace: String should match"),
        ("right_size_namespace", {"namespace": "shop", "approve": "yes"}, "unknown argument(s) 'approve'"),
        ("approve_everything", {}, "unknown prompt 'approve_everything'"),
    ],
)
async def test_prompt_argument_mistakes_are_invalid_params(
    shared: tuple[MCPServer, SandboxHandle], prompt: str, arguments: dict[str, str], expected: str
) -> None:
    """A prompt called without its required argument used to answer "Internal server error"."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS

    server, _ = shared
    async with Client(server) as client:
        with pytest.raises(MCPError) as raised:
            await client.get_prompt(prompt, arguments)
    assert raised.value.error.code == INVALID_PARAMS, raised.value.error
    assert expected in raised.value.error.message and "\n" not in raised.value.error.message
