"""The plugin's only contact with the API server: kubeconfig resolution, RRs, workloads, identity.

Kubeconfig resolution is kubectl's: `--kubeconfig`, else `$KUBECONFIG` (a path list), else
`~/.kube/config`, else the in-cluster service account. Every write carries the field manager
"kubectl-krr".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from krr_mcp.core.workloads import WORKLOAD_PLURALS
from krr_mcp.kube.client import (
    MERGE_PATCH,
    AdmissionDenied,
    Conflict,
    Invalid,
    InvalidRequest,
    Kube,
    KubeError,
    load_configuration,
    rr_path,
)
from krr_mcp.kube.client import NotFound as Missing

from .errors import NotFound, PluginError, Refused

FIELD_MANAGER = "kubectl-krr"
_TIMEOUT = 30


@dataclass
class Connection:
    """An API client plus the namespace the kubeconfig context selects (kubectl's default); `kube`: the
    shared client on it (krr_mcp.kube.client), writing as "kubectl-krr", each call bounded to 30 s."""

    api: client.ApiClient
    namespace: str
    context: str | None
    kube: Kube = field(init=False)

    def __post_init__(self) -> None:
        self.kube = Kube(self.api, field_manager=FIELD_MANAGER, timeout=_TIMEOUT)


def _kubeconfig_paths(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    env = os.environ.get("KUBECONFIG", "")
    paths = [p for p in env.split(os.pathsep) if p]
    if paths:
        return paths
    return [str(Path("~/.kube/config").expanduser())]


def connect(kubeconfig: str | None = None, context: str | None = None) -> Connection:
    """Build a client the way kubectl would for these flags; raise PluginError when nothing works."""
    paths = [p for p in _kubeconfig_paths(kubeconfig) if Path(p).expanduser().exists()]
    if kubeconfig and not paths:
        raise PluginError(f"kubeconfig {kubeconfig} does not exist")
    if paths:
        config_file = os.pathsep.join(paths) if len(paths) > 1 else paths[0]
        try:
            contexts, active = config.list_kube_config_contexts(config_file=config_file)
            chosen = next((c for c in contexts if c["name"] == context), None) if context else active
            if context and chosen is None:
                raise PluginError(f"context {context!r} not found in {config_file}")
            api = client.ApiClient(load_configuration(config_file, context))
        except ConfigException as exc:
            raise PluginError(f"invalid kubeconfig {config_file}: {exc}") from None
        namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
        return Connection(api=api, namespace=namespace, context=(chosen or {}).get("name"))
    try:
        configuration = load_configuration()  # no kubeconfig file: in-cluster, or ConfigException
    except ConfigException:
        raise PluginError(
            "no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a cluster"
        ) from None
    ns_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    namespace = ns_file.read_text().strip() if ns_file.exists() else "default"
    return Connection(api=client.ApiClient(configuration), namespace=namespace, context=None)


def translate(exc: KubeError, what: str) -> PluginError:
    """The plugin's exit code for a client error, keeping the server's message: a name refused before
    any request, a conflict, an invalid object or an admission policy's denial is REFUSED, a missing
    object NOT_FOUND, anything else (unreachable, unauthorized, RBAC's forbidden, server trouble) ERROR."""
    if isinstance(exc, InvalidRequest):
        return Refused(str(exc))
    message = f"{what}: {exc.detail}"
    if isinstance(exc, Missing):
        return NotFound(message)
    if isinstance(exc, Conflict | Invalid | AdmissionDenied):
        return Refused(message)
    return PluginError(message)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except KubeError as exc:
        raise translate(exc, what) from None


def get_rr(conn: Connection, namespace: str, name: str) -> dict[str, Any]:
    with _translated(f"reading resourcerecommendation {namespace}/{name}"):
        rr = conn.kube.get_rr(namespace, name)
    if rr is None:
        raise NotFound(f"resourcerecommendation {name!r} not found in namespace {namespace!r}")
    return rr


def list_rrs(conn: Connection, namespace: str | None) -> list[dict[str, Any]]:
    """All RRs of a namespace, or of every namespace when namespace is None (NOT_FOUND when the kind
    is not served: the CRDs are not installed)."""
    what = "listing resourcerecommendations"
    with _translated(what):
        body = conn.kube.request(what, "GET", rr_path(namespace))
    return list(body.get("items") or [])


def merge_patch_rr(conn: Connection, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch; a `metadata.resourceVersion` in it makes the server refuse stale writes (409)."""
    what = f"patching resourcerecommendation {namespace}/{name}"
    query = [("fieldManager", conn.kube.field_manager)]
    try:
        path = rr_path(namespace, name)
        return dict(conn.kube.request(what, "PATCH", path, body=patch, query=query, content_type=MERGE_PATCH))
    except Conflict:
        raise Refused(
            f"resourcerecommendation {namespace}/{name} changed since it was read "
            f"(resourceVersion {patch.get('metadata', {}).get('resourceVersion')}); "
            "review it again: kubectl krr show " + name
        ) from None
    except KubeError as exc:
        raise translate(exc, what) from None


def get_workload(conn: Connection, namespace: str, kind: str, name: str) -> dict[str, Any]:
    if kind not in WORKLOAD_PLURALS:
        raise Refused(f"unknown workload kind {kind!r}")
    with _translated(f"reading {kind} {namespace}/{name}"):
        workload = conn.kube.get_workload(namespace, kind, name)  # the client's validated path, as for RRs
    if workload is None:
        raise NotFound(f"{kind} {namespace}/{name} not found")
    return workload


def whoami(conn: Connection) -> str:
    """The caller's user name as the API server authenticates it (SelfSubjectReview)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    what = "SelfSubjectReview"
    try:
        review = conn.kube.request(
            what, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=body
        )
    except KubeError as exc:
        raise PluginError(
            f"cannot learn who you are from the API server (SelfSubjectReview): {exc.detail}"
        ) from None
    username = ((review.get("status") or {}).get("userInfo") or {}).get("username")
    if not username:
        raise PluginError(
            "the API server's SelfSubjectReview returned no user name; refusing to approve "
            "without knowing who approves"
        )
    return str(username)
