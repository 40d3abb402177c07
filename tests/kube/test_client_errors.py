"""The client layer's errors are typed by what happened, from real API server answers (the sandbox):
a caller catches NotFound or Conflict, it never compares statuses or matches message text."""

from __future__ import annotations

import socket

import pytest
from kubernetes import client

from krr_mcp.kube.client import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    InvalidRequest,
    Kube,
    KubeError,
    NotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unreachable,
    error_for,
    load_configuration,
    namespace_path,
)
from krr_mcp.sandbox.handle import SandboxHandle


def _configmap(name: str, data: object = "x") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": data}}


def test_a_missing_object_is_not_found_and_get_optional_returns_none(sandbox: SandboxHandle) -> None:
    kube = Kube(sandbox.api_client())
    with pytest.raises(NotFound) as caught:
        kube.request("get cm", "GET", f"{namespace_path('default')}/configmaps/absent")
    assert caught.value.status == 404 and "absent" in caught.value.server_message
    assert kube.get_optional("get cm", f"{namespace_path('default')}/configmaps/absent") is None
    assert kube.get_rr("default", "absent") is None


def test_creating_twice_is_a_conflict_and_an_invalid_object_is_invalid(sandbox: SandboxHandle) -> None:
    kube = Kube(sandbox.api_client())
    path = f"{namespace_path('default')}/configmaps"
    kube.request("create cm", "POST", path, body=_configmap("once"))
    with pytest.raises(Conflict) as conflict:
        kube.request("create cm", "POST", path, body=_configmap("once"))
    assert conflict.value.transient and conflict.value.reason == "AlreadyExists"
    with pytest.raises(Invalid) as invalid:
        kube.request("create cm", "POST", path, body=_configmap("Not_A_Name"))
    assert invalid.value.precondition_failed and not invalid.value.transient


def test_a_server_that_does_not_answer_is_unreachable() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    with pytest.raises(Unreachable) as caught:
        Kube(client.ApiClient(configuration)).request("list ns", "GET", "/api/v1/namespaces")
    assert caught.value.status is None and caught.value.transient


def test_a_path_from_an_invalid_name_is_refused_before_any_request(sandbox: SandboxHandle) -> None:
    with pytest.raises(InvalidRequest):
        Kube(sandbox.api_client()).get_workload("default", "Deployment", "../../secrets")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, Unreachable),
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (422, Invalid),
        (429, TooManyRequests),
        (500, ServerError),
        (503, ServerError),
        (418, KubeError),
    ],
)
def test_error_for_picks_the_type_by_status(status: int | None, kind: type[KubeError]) -> None:
    error = error_for("what: it failed", status)
    assert type(error) is kind and error.status == status


def test_the_one_kubeconfig_loader_reads_the_sandboxes_kubeconfig(sandbox: SandboxHandle) -> None:
    configuration = load_configuration(str(sandbox.kubeconfig))
    assert configuration.host == sandbox.url
