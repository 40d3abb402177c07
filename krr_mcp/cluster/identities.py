"""Who talks to the local control plane: one kubeconfig context per identity, and the RBAC that makes
each identity what its name says. The people are authenticated by client certificates; the components
by real ServiceAccount tokens (TokenRequest); nobody by a fake."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
APPROVER_ROLE = "recommendation-approver"  # config/rbac/human_roles.yaml
CI_NAMESPACE = "apps"  # where ci-deployer holds the built-in `edit` role


@dataclass(frozen=True)
class Person:
    """A user authenticated by a client certificate (CN = user, O = groups)."""

    context: str
    user: str
    groups: tuple[str, ...] = ()


# admin is cluster-admin through the system:masters group; alice and bob approve; viewer only reads.
PEOPLE = (
    Person("admin", "krr-mcp-admin", ("system:masters",)),
    Person("alice", "alice"),
    Person("bob", "bob"),
    Person("viewer", "viewer"),
)
APPROVERS = ("alice", "bob")
READERS = ("alice", "bob", "viewer")


@dataclass(frozen=True)
class Robot:
    """A ServiceAccount whose token the kubeconfig carries."""

    context: str
    namespace: str
    name: str

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"


def config_service_accounts() -> list[Robot]:
    """The components' ServiceAccounts as config/rbac declares them (their names are defined there)."""
    documents = yaml.safe_load_all((CONFIG_DIR / "rbac" / "service_accounts.yaml").read_text())
    return [
        Robot(doc["metadata"]["name"], doc["metadata"]["namespace"], doc["metadata"]["name"])
        for doc in documents
        if doc and doc.get("kind") == "ServiceAccount"
    ]


def robots() -> list[Robot]:
    return [*config_service_accounts(), Robot("ci-deployer", CI_NAMESPACE, "ci-deployer")]


def contexts() -> list[str]:
    """Every context of the kubeconfig a ControlPlane writes, people first."""
    return [p.context for p in PEOPLE] + [r.context for r in robots()]


def _binding(
    kind: str, name: str, role: str, subjects: list[dict[str, str]], namespace: str | None = None
) -> dict[str, Any]:
    meta: dict[str, str] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


def _users(names: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name} for name in names]


def bootstrap_objects() -> list[dict[str, Any]]:
    """Namespaces, ServiceAccounts and bindings every identity needs, in creation order. The approver
    ClusterRole itself comes with config/ (a binding may name a role before it exists)."""
    namespaces = sorted({robot.namespace for robot in robots()})
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}} for name in namespaces
    ]
    objects += [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": r.name, "namespace": r.namespace}}
        for r in robots()
    ]
    objects.append(
        _binding("ClusterRoleBinding", "krr-mcp-local-approvers", APPROVER_ROLE, _users(APPROVERS))
    )
    objects.append(_binding("ClusterRoleBinding", "krr-mcp-local-readers", "view", _users(READERS)))
    objects.append(
        _binding(
            "RoleBinding", "ci-deployer-edit", "edit",
            [{"kind": "ServiceAccount", "name": "ci-deployer", "namespace": CI_NAMESPACE}], CI_NAMESPACE,
        )
    )  # fmt: skip
    return objects


def kubeconfig_document(
    server: str,
    ca_data: str,
    certificates: dict[str, tuple[str, str]],
    tokens: dict[str, str],
    current: str = "admin",
) -> dict[str, Any]:
    """One cluster, one user and one context per identity: `certificates` maps a context to its
    (cert, key) base64 data, `tokens` a context to its bearer token."""
    cluster = "krr-mcp-local"
    users = [
        {"name": name, "user": {"client-certificate-data": cert, "client-key-data": key}}
        for name, (cert, key) in certificates.items()
    ]
    users += [{"name": name, "user": {"token": token}} for name, token in tokens.items()]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": users,
        "contexts": [{"name": u["name"], "context": {"cluster": cluster, "user": u["name"]}} for u in users],
        "current-context": current,
        "preferences": {},
    }
