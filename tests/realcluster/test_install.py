"""config/default on a real API server: the CRDs, RBAC, both admission policies and their bindings are
accepted (real CEL type-checking and cost estimation), and each identity of the local cluster is who its
context says."""

from __future__ import annotations

import json

import pytest

from krr_mcp.cluster import binaries, identities

from ..delivery.manifests import RENDERINGS, of_kind, render
from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(600)]


def test_every_object_of_config_default_is_served_as_rendered(real_cluster: RealCluster) -> None:
    rendered = render(RENDERINGS["base"])
    assert rendered, "config/default renders nothing"
    for kind in (
        "CustomResourceDefinition",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ClusterRole",
    ):
        for obj in of_kind(rendered, kind):
            served = real_cluster.get(kind.lower(), obj["metadata"]["name"])
            assert served["metadata"]["name"] == obj["metadata"]["name"]


def test_crds_are_established_and_policies_type_check(real_cluster: RealCluster) -> None:
    for crd in real_cluster.get("crd", "-l", "app.kubernetes.io/part-of=krr-mcp")["items"]:
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True", crd["metadata"]["name"]
    for policy in real_cluster.get("validatingadmissionpolicies")["items"]:
        if not policy["metadata"]["name"].startswith("krr-mcp"):
            continue
        # The API server type-checks every expression against the matched resources' schemas and
        # reports what it found in status.typeChecking: no warning means every rule compiled.
        status = policy.get("status", {})
        assert status.get("observedGeneration") == policy["metadata"]["generation"], "not type-checked yet"
        assert not (status.get("typeChecking") or {}).get("expressionWarnings"), json.dumps(status, indent=1)


@pytest.mark.parametrize(
    "context", [p.context for p in identities.PEOPLE] + [r.context for r in identities.robots()]
)
def test_each_context_is_its_identity(real_cluster: RealCluster, context: str) -> None:
    review = json.loads(real_cluster.kubectl("auth", "whoami", "-o", "json", context=context).stdout)
    expected = {p.context: p.user for p in identities.PEOPLE} | {
        r.context: r.user for r in identities.robots()
    }
    assert review["status"]["userInfo"]["username"] == expected[context]


def test_people_and_viewers_list_recommendations_in_every_namespace(real_cluster: RealCluster) -> None:
    for context in identities.READERS:
        done = real_cluster.kubectl("get", "recommendations", "-A", context=context)
        assert done.returncode == 0
    refused = real_cluster.kubectl("get", "recommendations", "-A", context="ci-deployer", check=False)
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower()


def test_the_api_server_reports_its_pinned_release(real_cluster: RealCluster) -> None:
    """The binaries are stamped with the k8s.io/kubernetes version hack/controlplane pins (tools that
    check the server's version, like Helm's kubeVersion, see a release, not v0.0.0-master)."""
    done = real_cluster.kubectl("version", "-o", "json")
    server = json.loads(done.stdout)["serverVersion"]
    pinned = binaries.pinned_version("k8s.io/kubernetes")
    assert pinned is not None and server["gitVersion"] == pinned, server
    assert (server["major"], server["minor"]) == tuple(pinned[1:].split(".")[:2]), server
