"""Issue 15 item 14: no API request is built from an RR's fields before they are validated, and the
client layer refuses to build a path from an invalid name anyway."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from krr_operator.reconcile import Reconciler

from krr_mcp.kube.client import InvalidRequest, Kube, KubeError, namespace_path, rr_path, workload_path
from krr_mcp.sandbox.handle import SandboxHandle

from ..builders import rr_manifest, web_deployment
from .test_operator_sandbox import kubectl

HOSTILE_NAMES = [
    "../../api/v1/namespaces/kube-system/secrets/token",
    "web/../../../../api/v1/secrets",
    "web?watch=true",
    "web#x",
    "WEB",
    "",
    "a" * 254,
]


@pytest.mark.parametrize("name", [n for n in HOSTILE_NAMES if n])
def test_the_client_never_builds_a_path_from_an_invalid_name(name: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        workload_path("default", "Deployment", name)
    assert not refused.value.transient  # a permanent refusal, never retried
    with pytest.raises(InvalidRequest):
        rr_path("default", name)
    with pytest.raises(InvalidRequest):
        workload_path(name, "Deployment", "web")
    with pytest.raises(InvalidRequest):
        namespace_path(name)


@pytest.mark.parametrize("kind", ["Secret", "Pod", "../Deployment", "deployment"])
def test_the_client_knows_only_the_workload_kinds(kind: str) -> None:
    with pytest.raises(InvalidRequest):
        workload_path("default", kind, "web")


def test_valid_paths() -> None:
    assert (
        workload_path("shop", "CronJob", "nightly.report")
        == "/apis/batch/v1/namespaces/shop/cronjobs/nightly.report"
    )
    assert rr_path(None) == "/apis/krr-mcp.io/v1alpha1/resourcerecommendations"


class RecordingKube(Kube):
    """The real client over HTTP, recording every path it requests."""

    paths: list[str]
    bodies: list[Any]

    def request(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        self.paths.append(f"{method} {path}")
        self.bodies.append(kwargs.get("body"))
        return super().request(what, method, path, **kwargs)


@pytest.mark.parametrize("name", HOSTILE_NAMES[:3])
def test_an_rr_with_a_hostile_target_is_refused_without_a_request_built_from_it(
    sandbox: SandboxHandle, name: str
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))

    def store_hostile_target() -> None:
        # What an API server that does not check the CRD schema would store (the sandbox checks it, so
        # the object is written into its store directly: the documented `call` access to server.store).
        rt = sandbox.server.registry.by_kind("krr-mcp.io/v1alpha1", "ResourceRecommendation")
        assert rt is not None
        stored = copy.deepcopy(sandbox.server.store.get(rt.storage_key, "default", "web-rr"))
        stored["spec"]["target"]["name"] = name
        sandbox.server.store.put(rt.storage_key, stored)

    sandbox.call(store_hostile_target)
    with sandbox.api_client() as api:
        kube = RecordingKube(api)
        kube.paths, kube.bodies = [], []
        with pytest.raises(KubeError) as refused:
            Reconciler(kube).reconcile("default", "web-rr")
    # The Failed/InvalidSpec status is written, and the sandbox refuses it for the spec's invalid name.
    assert refused.value.status == 422 and "InvalidSpec" in json.dumps(kube.bodies[-1])
    assert not [p for p in kube.paths if name in p or ".." in p], kube.paths
    assert not [p for p in kube.paths if "/deployments" in p], kube.paths
