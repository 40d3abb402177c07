"""The operator's workload watch against the sandbox API server: every change of a Deployment after the
watch started is reported (namespace, kind, name), nothing of the state before it, and it stops."""

from __future__ import annotations

import threading
import time

import yaml
from krr_operator.workload_watch import WorkloadWatch

from krr_mcp.kube.client import Kube, connect
from krr_mcp.sandbox.testing import SandboxHandle

from ..builders import web_deployment
from .operator_harness import wait_for
from .test_operator_sandbox import kubectl, rolled_out


def test_changes_after_the_start_are_reported_and_the_watch_stops(sandbox: SandboxHandle) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)
    seen: list[tuple[str, str, str]] = []
    stop = threading.Event()
    watch = WorkloadWatch(Kube(connect(str(sandbox.kubeconfig))), None, lambda *c: seen.append(c), stop, 2)
    watch.start()
    try:
        time.sleep(1)  # the watch has listed: web as it is now is not a change
        assert seen == []
        kubectl(sandbox, "scale", "deployment", "web", "-n", "default", "--replicas=3")
        wait_for("the scale reported", lambda: ("default", "Deployment", "web") in seen)
        assert {change[1] for change in seen} == {"Deployment"}
    finally:
        stop.set()
    for thread in watch.threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in watch.threads)
