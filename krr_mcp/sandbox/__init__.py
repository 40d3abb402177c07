"""The sandbox: an in-process, in-memory Kubernetes-compatible API server over HTTP on 127.0.0.1 that
kubectl, kopf and the kubernetes client accept. See docs/sandbox.md."""

from .handle import SandboxHandle
from .kubeconfig import CONTEXT, write_kubeconfig
from .launch import run_sandbox, seed_server, start_sandbox
from .server import SandboxServer

__all__ = [
    "CONTEXT",
    "SandboxHandle",
    "SandboxServer",
    "run_sandbox",
    "seed_server",
    "start_sandbox",
    "write_kubeconfig",
]
