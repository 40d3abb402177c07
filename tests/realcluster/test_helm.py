"""The Helm chart on a real control plane: `helm install --wait`, `helm upgrade` (to the production values)
and `helm uninstall` with the real helm 4, and the approval-integrity cases holding against the chart's
own ServiceAccounts after the install and after the upgrade.

The session's cluster already holds config/default (whose cluster-scoped objects the chart would clash
with), so this starts a control plane of its own, without config/ installed, and installs the chart into
a namespace other than krr-mcp-system, named restricted like config/namespace. Its kubeconfig's
krr-mcp-bridge and krr-mcp-operator contexts are then pointed at the chart's ServiceAccounts (real
tokens), so the cases of test_approval_integrity run as they are, as the chart's components.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from krr_mcp.cluster.control_plane import ControlPlane
from krr_mcp.cluster.identities import CONFIG_DIR, Robot
from krr_mcp.cluster.install import wait_for_approval_policy

from ..conftest import real_cluster_unavailable
from ..distribution.helm import CHART, helm, helm_binary
from . import test_approval_integrity as integrity
from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(1800)]  # helm may be built first

RELEASE = "krr-mcp"
NAMESPACE = "krr-mcp-helm"
COMPONENTS = ("krr-mcp-operator", "krr-mcp-bridge")
POLICIES = ("krr-mcp-recommendation-approval", "krr-mcp-operator-workload-scope")


@pytest.fixture(scope="module")
def helm_bin() -> Path:
    return helm_binary()


@pytest.fixture(scope="module")
def plane(helm_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A control plane of this module's own (1 kwok node), nothing of krr-mcp installed."""
    reason = real_cluster_unavailable()
    if reason:
        pytest.fail(f"the real-cluster suite must run here but cannot: {reason}")
    plane = ControlPlane(tmp_path_factory.mktemp("helm-cluster") / "kubeconfig", nodes=1).start()
    try:
        yield plane
    finally:
        plane.stop()


def _restricted_namespace(cluster: RealCluster, name: str) -> None:
    """The namespace as config/namespace declares it (PodSecurity restricted), under another name."""
    namespace = yaml.safe_load((CONFIG_DIR / "namespace" / "namespace.yaml").read_text())
    namespace["metadata"]["name"] = name
    cluster.apply(namespace)


def _as_the_charts_components(cluster: RealCluster, plane: ControlPlane) -> None:
    """Point the components' contexts at the chart's ServiceAccounts (in NAMESPACE), with real tokens."""
    for name in COMPONENTS:
        token = plane.token(Robot(name, NAMESPACE, name))
        cluster.kubectl("config", "set-credentials", name, f"--token={token}")


def _integrity_holds(cluster: RealCluster) -> None:
    """The approval-integrity cases (test_approval_integrity's own bodies) against this install."""
    assert integrity._user(cluster, integrity.BRIDGE) == f"system:serviceaccount:{NAMESPACE}:krr-mcp-bridge"
    integrity.test_the_bridge_cannot_create_an_approved_recommendation(cluster)
    proposal = integrity.propose(cluster)
    integrity.test_the_bridge_cannot_set_the_decision_fields(cluster, proposal, {"approvedBy": "alice"})
    integrity.test_ci_deployer_cannot_approve(cluster, proposal)
    integrity.test_a_viewer_cannot_approve(cluster, proposal)
    integrity.test_alice_approves_in_her_own_name(cluster, proposal)
    integrity.test_the_operator_cannot_approve_nor_change_spec(cluster, integrity.propose(cluster))


def _wait_until_edit_holds_approve(cluster: RealCluster, timeout: float = 60) -> None:
    """The controller-manager aggregates the chart's recommendation-approver into `edit` shortly after
    the install; ci-deployer's case needs it (RBAC allows, only the policy refuses)."""
    deadline = time.monotonic() + timeout
    can_i = ("auth", "can-i", "approve", "resourcerecommendations", "-n", integrity.NS)
    while cluster.kubectl(*can_i, context=integrity.CI, check=False).stdout.strip() != "yes":
        assert time.monotonic() < deadline, "edit never aggregated the approve verb"
        time.sleep(0.5)


def _deployment(cluster: RealCluster, name: str) -> dict[str, Any]:
    return cluster.get("deployment", name, "-n", NAMESPACE)


def _exists(cluster: RealCluster, *args: str) -> bool:
    return cluster.kubectl("get", *args, "--ignore-not-found", "-o", "name", check=False).stdout.strip() != ""


def test_install_upgrade_uninstall_keep_approvals_to_people(
    helm_bin: Path, plane: ControlPlane, tmp_path: Path
) -> None:
    cluster = RealCluster(plane)
    kube = ("--kubeconfig", str(plane.kubeconfig), "--kube-context", "admin", "--namespace", NAMESPACE)
    wait = ("--wait", "--timeout", "3m")

    def release(command: str, *args: str) -> str:
        """`helm COMMAND krr-mcp [CHART] ARGS` as admin in NAMESPACE; its output."""
        chart = (CHART,) if command in ("install", "upgrade") else ()
        return helm(helm_bin, tmp_path, command, RELEASE, *chart, *kube, *args).stdout

    _restricted_namespace(cluster, NAMESPACE)

    # install: every object served, the pods admitted by PodSecurity restricted and Ready (kwok).
    began = time.monotonic()
    release("install", *wait)
    installed_in = time.monotonic() - began
    assert yaml.safe_load(release("status", "-o", "yaml"))["info"]["status"] == "deployed"
    for name in COMPONENTS:
        deployment = _deployment(cluster, name)
        assert deployment["status"]["readyReplicas"] == 1, deployment["status"]
    for policy in POLICIES:
        assert _exists(cluster, "validatingadmissionpolicy", policy)
        assert _exists(cluster, "validatingadmissionpolicybinding", policy)
    wait_for_approval_policy(plane.kubeconfig)
    _wait_until_edit_holds_approve(cluster)
    _as_the_charts_components(cluster, plane)
    _integrity_holds(cluster)

    # upgrade to the production values: two bridges spread over the nodes with a disruption budget;
    # the integrity cases still hold.
    release("upgrade", "--reuse-values", "--values", str(CHART / "values-production.yaml"), *wait)
    bridge = _deployment(cluster, "krr-mcp-bridge")
    assert (bridge["spec"]["replicas"], bridge["status"]["readyReplicas"]) == (2, 2)
    assert bridge["spec"]["template"]["spec"]["topologySpreadConstraints"]
    budget = cluster.get("poddisruptionbudget", "krr-mcp-bridge", "-n", NAMESPACE)
    assert (
        budget["spec"]["minAvailable"] == 1
        and budget["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE
    )
    assert bridge["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE
    assert [entry["revision"] for entry in yaml.safe_load(release("history", "-o", "yaml"))] == [1, 2]
    _integrity_holds(cluster)

    # The switch: without the policies the operator is told so, and the policies are gone.
    release("upgrade", "--reuse-values", "--set", "admissionPolicies.enabled=false", *wait)
    operator = _deployment(cluster, "krr-mcp-operator")
    args = operator["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--allow-without-admission-policy" in args
    assert not any(_exists(cluster, "validatingadmissionpolicy", policy) for policy in POLICIES)

    # uninstall: the release's objects go; the CRDs and the recommendations (the audit trail) stay.
    release("uninstall", *wait)
    for name in COMPONENTS:
        assert not _exists(cluster, "deployment", name, "-n", NAMESPACE)
        assert not _exists(cluster, "serviceaccount", name, "-n", NAMESPACE)
        assert not _exists(cluster, "clusterrole", name)
    assert not _exists(cluster, "poddisruptionbudget", "krr-mcp-bridge", "-n", NAMESPACE)
    assert not _exists(cluster, "clusterrole", "recommendation-approver")
    assert _exists(cluster, "crd", "resourcerecommendations.krr-mcp.io")
    kept = cluster.get("resourcerecommendations", "-n", integrity.NS)["items"]
    assert kept and all(rr["spec"].get("approvedBy") == "alice" for rr in kept)
    assert installed_in < 180
