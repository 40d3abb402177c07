"""The plugin's only contact with the API server: kubeconfig resolution, RRs, workloads, identity.

Kubeconfig resolution is kubectl's: `--kubeconfig`, else `$KUBECONFIG` (a path list), else
`~/.kube/config`, else the in-cluster service account. Every write carries the field manager
"kubectl-krr".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from krr_mcp.core.workloads import WORKLOAD_PLURALS
from krr_mcp.kube.client import InvalidRequest, load_configuration, rr_path, workload_path

from .errors import ExitCode, NotFound, PluginError, Refused

FIELD_MANAGER = "kubectl-krr"
_TIMEOUT = 30


@dataclass
class Connection:
    """An API client plus the namespace the kubeconfig context selects (kubectl's default)."""

    api: client.ApiClient
    namespace: str
    context: str | None


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


def _api_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
        return str(body.get("message") or exc.reason)
    except (ValueError, AttributeError):
        return str(exc.body or exc.reason)


def translate(exc: ApiException, what: str) -> PluginError:
    """Map an API error to the plugin's exit codes, keeping the server's message."""
    message = f"{what}: {_api_message(exc)}"
    if exc.status == 404:
        return NotFound(message)
    if exc.status == 409:
        return Refused(message)
    if exc.status in (401, 403):
        return PluginError(message, ExitCode.ERROR)
    if exc.status == 422:
        return Refused(message)
    return PluginError(message)


def request(
    conn: Connection,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, Any] | None = None,
    content_type: str | None = None,
) -> Any:
    """One JSON request to the API server; non-2xx raises ApiException."""
    headers = {"Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    elif body is not None:
        headers["Content-Type"] = "application/json"
    method_, url, headers_, body_, post = conn.api.param_serialize(
        method,
        path,
        query_params=query or None,
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    response = conn.api.call_api(
        method_, url, header_params=headers_, body=body_, post_params=post, _request_timeout=_TIMEOUT
    )
    response.read()
    return conn.api.response_deserialize(response, {"2XX": "object"}).data


def _rr_path(namespace: str | None, name: str | None = None) -> str:
    """The client's validated path (rr_path): a name that is not a Kubernetes name is refused here,
    before any request, so `../` in a name or an RR field can never reach another API path."""
    try:
        return rr_path(namespace, name)
    except InvalidRequest as exc:
        raise Refused(str(exc)) from None


def get_rr(conn: Connection, namespace: str, name: str) -> dict[str, Any]:
    try:
        return dict(request(conn, "GET", _rr_path(namespace, name)))
    except ApiException as exc:
        if exc.status == 404:
            raise NotFound(f"resourcerecommendation {name!r} not found in namespace {namespace!r}") from None
        raise translate(exc, f"reading resourcerecommendation {namespace}/{name}") from None


def list_rrs(conn: Connection, namespace: str | None) -> list[dict[str, Any]]:
    """All RRs of a namespace, or of every namespace when namespace is None."""
    try:
        body = request(conn, "GET", _rr_path(namespace))
    except ApiException as exc:
        raise translate(exc, "listing resourcerecommendations") from None
    return list(body.get("items") or [])


def merge_patch_rr(conn: Connection, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch; a `metadata.resourceVersion` in it makes the server refuse stale writes (409)."""
    try:
        return dict(
            request(
                conn,
                "PATCH",
                _rr_path(namespace, name),
                body=patch,
                query={"fieldManager": FIELD_MANAGER},
                content_type="application/merge-patch+json",
            )
        )
    except ApiException as exc:
        if exc.status == 409:
            raise Refused(
                f"resourcerecommendation {namespace}/{name} changed since it was read "
                f"(resourceVersion {patch.get('metadata', {}).get('resourceVersion')}); "
                "review it again: kubectl krr show " + name
            ) from None
        raise translate(exc, f"patching resourcerecommendation {namespace}/{name}") from None


def get_workload(conn: Connection, namespace: str, kind: str, name: str) -> dict[str, Any]:
    if kind not in WORKLOAD_PLURALS:
        raise Refused(f"unknown workload kind {kind!r}")
    try:
        path = workload_path(namespace, kind, name)  # the client's validated path, as for RRs
    except InvalidRequest as exc:
        raise Refused(str(exc)) from None
    try:
        return dict(request(conn, "GET", path))
    except ApiException as exc:
        if exc.status == 404:
            raise NotFound(f"{kind} {namespace}/{name} not found") from None
        raise translate(exc, f"reading {kind} {namespace}/{name}") from None


def whoami(conn: Connection) -> str:
    """The caller's user name as the API server authenticates it (SelfSubjectReview)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        review = request(conn, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=body)
    except ApiException as exc:
        raise PluginError(
            f"cannot learn who you are from the API server (SelfSubjectReview): {_api_message(exc)}"
        ) from None
    username = ((review.get("status") or {}).get("userInfo") or {}).get("username")
    if not username:
        raise PluginError(
            "the API server's SelfSubjectReview returned no user name; refusing to approve "
            "without knowing who approves"
        )
    return str(username)
