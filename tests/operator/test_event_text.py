"""Events are read by people (`kubectl describe`, `kubectl get events`): the operator writes their
messages with control and bidi characters escaped, whatever text (an RR's, the API server's) they quote."""

from __future__ import annotations

from krr_mcp.api.text import UNSAFE_CHARACTER
from krr_mcp.kube.client import Kube
from krr_mcp.kube.events import create_event
from krr_mcp.sandbox.testing import SandboxHandle


def test_event_messages_escape_control_and_bidi_characters(seeded_sandbox: SandboxHandle) -> None:
    involved = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
    }
    hostile = "applied \x1b[2J\x1b[Hfake line\r\nApproved-By: alice \u202eexe.live"
    with seeded_sandbox.api_client() as api:
        created = create_event(Kube(api, "krr-mcp-operator"), involved, "Applied", hostile)
    message = created["message"]
    assert not UNSAFE_CHARACTER.search(message), repr(message)
    assert message == "applied \\x1b[2J\\x1b[Hfake line\\x0d\\x0aApproved-By: alice \\u202eexe.live"
