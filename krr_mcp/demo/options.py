"""What `krr-mcp demo` was asked to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoOptions:
    """kubeconfig None: start the local sandbox (and the operator) in this process."""

    kubeconfig: str | None = None
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
