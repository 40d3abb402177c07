"""What `krr-mcp demo` was asked to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CLUSTERS = ("sandbox", "real")


@dataclass(frozen=True)
class Identities:
    """The kubeconfig context each part of the demo acts as (None: the kubeconfig's current context)."""

    observer: str | None = None  # the demo's own reads (workloads, RR phases, pods for the history)
    operator: str | None = None
    bridge: str | None = None  # `krr-mcp serve`
    approver: str | None = None  # the human who approves (or rejects)
    rollback: str | None = None  # the human who asks for the rollback

    @classmethod
    def one(cls, context: str | None) -> Identities:
        """Everything as one context: the sandbox's single user, or the user's own cluster."""
        return cls(context, context, context, context, context)


# The real control plane's contexts (krr_mcp.cluster.identities): the components with their config/
# ServiceAccounts' tokens, two different people approving and asking for the rollback, a read-only
# viewer for what the demo itself reads.
REAL_CLUSTER_IDENTITIES = Identities(
    observer="viewer", operator="krr-mcp-operator", bridge="krr-mcp-bridge", approver="alice", rollback="bob"
)


@dataclass(frozen=True)
class DemoOptions:
    """kubeconfig None: start a local cluster (`cluster`: the sandbox or a real control plane) and the
    operator in this process."""

    kubeconfig: str | None = None
    cluster: str = "sandbox"  # one of CLUSTERS; only without a kubeconfig
    context: str | None = None
    namespace: str | None = None
    run_operator: bool = False
    keep_running: bool = False
    interactive: bool = False
    prometheus_url: str | None = None  # use this Prometheus instead of starting one
    mcp_transport: str = "stdio"  # stdio: spawn `krr-mcp serve`; in-process: the bridge's build_server
    timeout: float = 30.0  # per wait for the operator
    state_dir: Path = Path(".krr-mcp")  # the sandbox's kubeconfig and the logs go here

    @property
    def local(self) -> bool:
        return self.kubeconfig is None

    @property
    def sandbox(self) -> bool:
        """The in-process sandbox API server (no RBAC: its one user may do anything)."""
        return self.local and self.cluster == "sandbox"

    @property
    def real_cluster(self) -> bool:
        """A real control plane started by the demo (krr_mcp.cluster)."""
        return self.local and self.cluster == "real"

    @property
    def identities(self) -> Identities:
        return REAL_CLUSTER_IDENTITIES if self.real_cluster else Identities.one(self.context)

    @property
    def real_cluster_kubeconfig(self) -> Path:
        """The real control plane's kubeconfig: one context per identity."""
        return self.state_dir.absolute() / "demo-cluster.kubeconfig"

    @property
    def sandbox_kubeconfig(self) -> Path:
        return self.state_dir.absolute() / "demo.kubeconfig"

    @property
    def operator_log(self) -> Path:
        """The in-process operator's log."""
        return self.state_dir.absolute() / "demo-operator.log"

    @property
    def server_log(self) -> Path:
        """The stderr of the spawned `krr-mcp serve`."""
        return self.state_dir.absolute() / "demo-serve.log"
