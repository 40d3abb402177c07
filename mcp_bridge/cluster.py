"""The bridge's Kubernetes access, on the operator's client layer (`krr_mcp.kube.client.Kube`) with the
bridge's own field manager: reads, server-side dry runs, and RR creation.

Everything returns plain dicts exactly as the API server sends them (camelCase). The bridge never
updates or patches an RR: creation is its only write, so there is no path by which it could change
`approved`, `approvedBy` or `rollbackRequested`. Failures become `ClusterError`, worded for the assistant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes import client

from krr_mcp.kube.client import LIST_CHUNK as KUBE_LIST_CHUNK
from krr_mcp.kube.client import (
    AdmissionDenied,
    Conflict,
    Forbidden,
    Invalid,
    InvalidRequest,
    Kube,
    KubeError,
    NotFound,
    Unreachable,
    connect,
    rr_path,
    workload_path,
)

from .settings import BridgeSettings

LIST_CHUNK = KUBE_LIST_CHUNK  # RRs per list request (tests make it small)


class ClusterError(Exception):
    """A cluster call failed for a reason worth telling the assistant (already worded for it).
    `error`: the client's typed error it words (NotFound, Forbidden, ...), for callers that handle a
    case (`isinstance(exc.error, NotFound)`), never an HTTP status to compare."""

    def __init__(self, message: str, error: KubeError) -> None:
        super().__init__(message)
        self.error = error


def api_client_for(settings: BridgeSettings) -> client.ApiClient:
    """An ApiClient for the settings' kubeconfig/context, or in-cluster config when running in a pod."""
    return connect(settings.kubeconfig, settings.context)


def explain_error(exc: KubeError, what: str) -> ClusterError:
    """One clear sentence from a KubeError (the API server's message, never a traceback)."""
    detail = exc.detail
    if isinstance(exc, InvalidRequest):
        text = f"refused before asking the API server for {what}: {exc}"
    elif isinstance(exc, Unreachable):
        text = f"cannot reach the Kubernetes API server for {what}"
    elif isinstance(exc, NotFound):
        text = f"{what} not found"
    elif isinstance(exc, Forbidden):
        text = f"the bridge's identity is not allowed to access {what}: {detail}"
    elif isinstance(exc, Conflict):
        text = f"conflict on {what}: {detail}"
    elif isinstance(exc, Invalid):
        text = f"the API server refused {what}: {detail}"
    elif isinstance(exc, AdmissionDenied):
        text = f"an admission policy or webhook refused {what}: {detail}"
    else:
        text = f"the API server answered {exc.status} for {what}: {detail}"
    return ClusterError(text, exc)


@contextmanager
def explained(what: str) -> Iterator[None]:
    """KubeError inside becomes the ClusterError explaining it (about `what`)."""
    try:
        yield
    except KubeError as exc:
        raise explain_error(exc, what) from None


class Cluster:
    """Read workloads and RRs, dry-run patches, create RRs (as the bridge's field manager)."""

    def __init__(self, api_client: client.ApiClient, field_manager: str) -> None:
        self.api_client = api_client
        self.kube = Kube(api_client, field_manager)

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        with explained(what):
            return self.kube.request(f"{method} {path}", method, path, **kwargs)

    def get_optional(self, what: str, path: str) -> dict[str, Any] | None:
        """GET `path`; None when it does not exist."""
        with explained(what):
            return self.kube.get_optional(f"GET {path}", path)

    def list_in_namespace(self, what: str, path: str) -> list[dict[str, Any]]:
        """The items of a list (empty when the kind is not served)."""
        with explained(what):
            return self.kube.list_items(f"GET {path}", path)

    def read_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        return dict(self._call(f"{kind} {namespace}/{name}", "GET", workload_path(namespace, kind, name)))

    def recommendation_chunks(
        self, namespace: str | None, label_selector: str | None = None, chunk: int | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """The RRs in chunks of one consistent read (`Kube.list_chunks`), each with the read's
        resourceVersion. An expired read raises ClusterError (its error Gone): the caller reads again."""
        where = f"namespace {namespace}" if namespace else "all namespaces"
        what = f"ResourceRecommendations in {where}"
        query = [("labelSelector", label_selector)] if label_selector else None
        with explained(what):
            yield from self.kube.list_chunks(
                f"GET {rr_path(namespace)}", rr_path(namespace), query, chunk or LIST_CHUNK
            )

    def list_recommendations(
        self, namespace: str | None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        return [item for items, _ in self.recommendation_chunks(namespace, label_selector) for item in items]

    def get_recommendation(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(self._call(f"ResourceRecommendation {namespace}/{name}", "GET", rr_path(namespace, name)))

    def create_recommendation(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create an RR under the bridge's field manager (the bridge's only write to the cluster)."""
        namespace = manifest["metadata"]["namespace"]
        name = manifest["metadata"]["name"]
        with explained(f"ResourceRecommendation {namespace}/{name}"):
            return self.kube.create_rr(namespace, manifest)
