"""The plugin talks to the API server through the shared client (krr_mcp.kube.client.Kube) and turns its
typed errors into the documented exit codes, keeping the server's message after naming the call."""

from __future__ import annotations

import pytest

from krr_mcp.kube.client import error_for
from krr_mcp.kubectl_plugin import kube
from krr_mcp.kubectl_plugin.errors import ExitCode, PluginError

from .test_hostile_paths import nowhere


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (404, ExitCode.NOT_FOUND),
        (409, ExitCode.REFUSED),
        (422, ExitCode.REFUSED),
        (401, ExitCode.ERROR),
        (403, ExitCode.ERROR),
        (429, ExitCode.ERROR),
        (500, ExitCode.ERROR),
    ],
)
def test_each_client_error_has_its_exit_code_and_the_servers_message(status: int, code: ExitCode) -> None:
    error = error_for("GET /x: 999 the server's words", status, "Reason", "the server's words")
    translated = kube.translate(error, "reading resourcerecommendation shop/web")
    assert (translated.code, translated.message) == (
        code,
        "reading resourcerecommendation shop/web: the server's words",
    )


def test_an_admission_policys_denial_is_refused_and_rbacs_is_an_error() -> None:
    """Both are 403 on the real server; a ValidatingAdmissionPolicy's carries causes, RBAC's none."""
    denied = error_for("PATCH /x: 403", 403, "Forbidden", "policy says no", causes=("spec: policy says no",))
    forbidden = error_for("PATCH /x: 403", 403, "Forbidden", "alice cannot patch")
    assert kube.translate(denied, "approving shop/web").code == ExitCode.REFUSED
    assert kube.translate(forbidden, "approving shop/web").code == ExitCode.ERROR


def test_an_unreachable_api_server_is_one_sentence_and_exit_1() -> None:
    conn = kube.Connection(nowhere(), "shop", None)
    for call in (lambda: kube.list_rrs(conn, "shop"), lambda: kube.get_rr(conn, "shop", "web-rr")):
        with pytest.raises(PluginError) as caught:
            call()
        assert caught.value.code == ExitCode.ERROR
        assert "API server unreachable" in caught.value.message, caught.value.message
    with pytest.raises(PluginError, match=r"^cannot learn who you are .*API server unreachable"):
        kube.whoami(conn)
