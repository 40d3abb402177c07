"""Starting what the demo needs, each in the background: the sandbox cluster, Prometheus, the operator.

Each starter registers its cleanup on an ExitStack, so an interrupted or failed demo leaves nothing
running. A component another part of the project has not delivered raises ComponentMissing, naming it.
"""

from __future__ import annotations

import importlib
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from types import ModuleType

from .narrator import StepFailed


class ComponentMissing(StepFailed):
    """A part of krr-mcp the demo needs is not installed or not built yet."""


def component(module: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ComponentMissing(f"{what} is missing: cannot import {module} ({exc})") from None


def attribute(module: str, name: str, what: str) -> object:
    found = getattr(component(module, what), name, None)
    if found is None:
        raise ComponentMissing(f"{what} is missing: {module}.{name} does not exist")
    return found


@dataclass
class LocalCluster:
    kubeconfig: str
    url: str


def start_sandbox(stack: ExitStack) -> LocalCluster:
    """The seeded in-process API server (krr_mcp.sandbox), stopped when `stack` closes."""
    run_sandbox = attribute("krr_mcp.sandbox", "run_sandbox", "the sandbox API server")
    handle = stack.enter_context(run_sandbox(seed=True))  # type: ignore[operator]
    return LocalCluster(kubeconfig=str(handle.kubeconfig), url=str(handle.url))


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def start_prometheus(stack: ExitStack, kubeconfig: str) -> str:
    """A real Prometheus loaded with generated usage history for the sandbox's workloads; its URL."""
    history = component("krr_mcp.metrics_history", "the metrics history generator (krr_mcp.metrics_history)")
    start = getattr(history, "start_demo_prometheus", None)
    if start is None:
        raise ComponentMissing("krr_mcp.metrics_history.start_demo_prometheus does not exist")
    return str(stack.enter_context(start(kubeconfig=kubeconfig)))


def start_operator(stack: ExitStack, kubeconfig: str, context: str | None) -> None:
    """The kopf operator in a background thread of this process, stopped when `stack` closes."""
    run_in_thread = attribute("krr_operator.runner", "operator_in_thread", "the operator (krr_operator)")
    stack.enter_context(run_in_thread(kubeconfig=kubeconfig, context=context))  # type: ignore[operator]
