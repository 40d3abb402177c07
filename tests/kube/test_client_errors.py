"""The client layer's errors are typed by what happened, from real API server answers (the sandbox):
a caller catches NotFound or Conflict, it never compares statuses or matches message text."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from krr_mcp.kube.client import (
    AdmissionDenied,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
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

from ..api_answers import Answers, answering_kube


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


@pytest.mark.parametrize(
    ("kind", "transient", "precondition_failed"),
    [
        (Unreachable, True, False),
        (Conflict, True, True),
        (TooManyRequests, True, False),
        (ServerError, True, False),
        (Invalid, False, True),
        (BadRequest, False, False),
        (Unauthorized, False, False),
        (Forbidden, False, False),
        (AdmissionDenied, False, False),
        (NotFound, False, False),
        (Gone, False, False),
        (InvalidRequest, False, False),
        (KubeError, False, False),
    ],
)
def test_what_the_operator_does_with_an_error_is_its_types(
    kind: type[KubeError], transient: bool, precondition_failed: bool
) -> None:
    """Retry and precondition semantics belong to the class, whatever status an instance carries."""
    assert (kind.transient, kind.precondition_failed) == (transient, precondition_failed)
    assert (kind("x", 999).transient, kind("x", None).precondition_failed) == (transient, precondition_failed)


# The Status bodies kube-apiserver 1.37 answered to a dryRun=All PATCH of Deployment probe/web (recorded
# from the real control plane, krr_mcp/cluster): an identity without `patch` (RBAC), and an admin whose
# patch a ValidatingAdmissionPolicy with `reason: Forbidden` denied. Both are HTTP 403, reason Forbidden.
RBAC_DENIAL = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": 'deployments.apps "web" is forbidden: '
    'User "system:serviceaccount:krr-mcp-system:krr-mcp-bridge" cannot patch resource "deployments" '
    'in API group "apps" in the namespace "probe"',
    "reason": "Forbidden", "details": {"name": "web", "group": "apps", "kind": "deployments"}, "code": 403,
}  # fmt: skip
POLICY = (
    "ValidatingAdmissionPolicy 'probe-forbid' with binding 'probe-forbid' denied request: no changes here"
)
POLICY_DENIAL = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": f'deployments.apps "web" is forbidden: {POLICY}', "reason": "Forbidden",
    "details": {"name": "web", "group": "apps", "kind": "deployments", "causes": [{"message": POLICY}]},
    "code": 403,
}  # fmt: skip
WEBHOOK_DENIAL = {  # how kube-apiserver words a webhook's 403 (webhookerrors.ToStatusErr)
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden",
    "message": 'admission webhook "deny.example.com" denied the request: no', "code": 403,
}  # fmt: skip


@pytest.fixture
def answering() -> Iterator[tuple[Kube, Answers]]:
    with answering_kube() as found:
        yield found


@pytest.mark.parametrize(
    ("body", "kind", "causes"),
    [
        (RBAC_DENIAL, Forbidden, ()),
        (POLICY_DENIAL, AdmissionDenied, (POLICY,)),
        (WEBHOOK_DENIAL, AdmissionDenied, ()),
    ],
    ids=["rbac", "admission-policy", "webhook"],
)
def test_a_403_says_whether_authorization_or_admission_refused(
    answering: tuple[Kube, Answers],
    body: dict[str, Any],
    kind: type[KubeError],
    causes: tuple[str, ...],
) -> None:
    kube, answers = answering
    answers.add(403, json.dumps(body).encode())
    with pytest.raises(KubeError) as caught:
        kube.patch_workload("probe", "Deployment", "web", [], dry_run=True)
    assert type(caught.value) is kind, caught.value
    assert (caught.value.status, caught.value.causes, caught.value.detail) == (403, causes, body["message"])


@pytest.mark.parametrize(
    "details",
    ["causes", {"causes": "a string"}, {"causes": [1, None, "x", {"field": "spec"}]}, [], {"causes": {}}],
)
def test_a_malformed_status_body_still_gives_the_statuss_error(
    answering: tuple[Kube, Answers], details: Any
) -> None:
    """Causes that are not a list of objects with a message are no causes: RBAC's Forbidden, never a
    crash."""
    kube, answers = answering
    answers.add(403, json.dumps({**RBAC_DENIAL, "details": details}).encode())
    with pytest.raises(KubeError) as caught:
        kube.request("get x", "GET", "/api/v1/namespaces")
    assert type(caught.value) is Forbidden and caught.value.causes == ()
    assert caught.value.detail == RBAC_DENIAL["message"]
