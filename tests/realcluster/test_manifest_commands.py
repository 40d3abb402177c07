"""The Deployments' containers, started as the manifests say (args with $(VAR) expanded from the env the
kubelet would build), against the real API server with their own ServiceAccount's token instead of the
in-cluster credentials, and probed as their startup, readiness and liveness probes would be. Ports are
moved to free ones (the machine is shared). The image itself is not built here (no Docker engine; no
base image can be pulled), so the command runs from this environment."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..delivery.manifests import RENDERINGS, named, render
from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster]

KRR_MCP = Path(sys.executable).parent / "krr-mcp"
TOKEN = "delivery-test-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def container_env(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, str]:
    """The container's env as the kubelet builds it: values, ConfigMap keys, and the token Secret (which
    no manifest ships: the tests supply it, as an operator would create it)."""
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        source = entry.get("valueFrom", {})
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[entry["name"]] = named(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
        elif "secretKeyRef" in source:
            env[entry["name"]] = TOKEN
        elif "fieldRef" in source:
            env[entry["name"]] = {"metadata.namespace": "krr-mcp-system"}.get(
                source["fieldRef"]["fieldPath"], "pod-under-test"
            )
    return env


def expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in args (an unknown variable stays as written)."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), arg)


def _probe_passes(probe: dict[str, Any], ports: dict[str, int]) -> bool:
    if "httpGet" in probe:
        spec = probe["httpGet"]
        try:
            answer = httpx.get(f"http://127.0.0.1:{ports[spec['port']]}{spec['path']}", timeout=5)
        except httpx.HTTPError:
            return False
        return 200 <= answer.status_code < 400
    spec = probe["tcpSocket"]
    try:
        socket.create_connection(("127.0.0.1", ports[spec["port"]]), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize("deployment", ["krr-mcp-operator", "krr-mcp-bridge"])
def test_container_starts_as_written_and_passes_its_probes(
    real_cluster: RealCluster, deployment: str
) -> None:
    objects = render(RENDERINGS["base"])
    container = named(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
    env = container_env(container, objects)
    moved = {p["containerPort"]: _free_port() for p in container["ports"]}
    ports = {p["name"]: moved[p["containerPort"]] for p in container["ports"]}
    args = []
    for arg in container["args"]:
        arg = expand(arg, env)
        assert "$(" not in arg, f"{arg}: a variable the container's env does not define"
        for old, new in moved.items():
            arg = re.sub(rf"(?<=[:=]){old}(?=\D|$)", str(new), arg)
        args.append(arg)
    process = subprocess.Popen(
        [str(KRR_MCP), *args, "--kubeconfig", str(real_cluster.kubeconfig_for(deployment))],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        startup = container["startupProbe"]
        deadline = time.monotonic() + startup["periodSeconds"] * startup["failureThreshold"]
        while not _probe_passes(startup, ports):
            assert process.poll() is None, f"{deployment} exited:\n{process.communicate()[1][-3000:]}"
            assert time.monotonic() < deadline, f"{deployment}: the startup probe never passed"
            time.sleep(0.5)
        for probe in ("readinessProbe", "livenessProbe"):
            assert _probe_passes(container[probe], ports), f"{deployment}: {probe} fails once started"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_expansion_follows_kubernetes_rules() -> None:
    assert expand("--url=$(URL)", {"URL": "http://p"}) == "--url=http://p"
    assert expand("--x=$(MISSING)", {}) == "--x=$(MISSING)"
