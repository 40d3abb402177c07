"""The components' names, each defined once.

The operator and the bridge run as ServiceAccounts of these names in SYSTEM_NAMESPACE (config/rbac),
write as field managers of these names, and the operator reports Events and records its own decisions
under its name."""

from __future__ import annotations

SYSTEM_NAMESPACE = "krr-mcp-system"
OPERATOR_NAME = "krr-mcp-operator"
BRIDGE_NAME = "krr-mcp-bridge"


def service_account_user(name: str, namespace: str = SYSTEM_NAMESPACE) -> str:
    """The user name the API server gives the ServiceAccount `namespace/name`."""
    return f"system:serviceaccount:{namespace}:{name}"
