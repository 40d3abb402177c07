"""What `krr-mcp serve` is configured with: cluster access, write permission, recommender source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from krr_mcp.api.names import BRIDGE_NAME, SYSTEM_NAMESPACE

BRIDGE_FIELD_MANAGER = BRIDGE_NAME

# Namespaces the bridge never proposes changes in, whatever the policy says (the policy may add more).
ALWAYS_PROTECTED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", SYSTEM_NAMESPACE})


@dataclass(frozen=True)
class BridgeSettings:
    """Settings for one bridge server.

    kubeconfig/context: the kubeconfig file and context to use; both None means in-cluster config when
    running in a pod, else the default kubeconfig. read_only drops every tool that writes.
    scan_report: a saved report (krr -f json or a krr-mcp ScanResult JSON) that scans read instead of a
    live source (source "report", or "auto" when it is set).
    """

    kubeconfig: str | None = None
    context: str | None = None
    read_only: bool = False
    prometheus_url: str | None = None
    source: Literal["auto", "krr", "native", "report"] = "auto"
    scan_report: str | None = None
    field_manager: str = BRIDGE_FIELD_MANAGER
    # Re-ask the API server, before acting in a namespace, whether the bridge's identity may approve or
    # patch there (answers kept this many seconds); None: not asked while serving (the sandbox, tests,
    # --unsafe-allow-approver-credentials).
    identity_check_interval: float | None = None
    protected_namespaces: frozenset[str] = field(default_factory=lambda: ALWAYS_PROTECTED_NAMESPACES)
