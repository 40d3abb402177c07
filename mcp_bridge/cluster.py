"""The bridge's Kubernetes access: reads, and RR creation under the bridge's own field manager.

Everything returns plain dicts exactly as the API server sends them (camelCase), which is what the
RR model and the safety rules take. The bridge never updates or patches an RR: creation is its only
write, so there is no path by which it could change `approved`, `approvedBy` or `rollbackRequested`.
"""

from __future__ import annotations

import json
from typing import Any

from krr_operator.api.resource_recommendation import GROUP, PLURAL, VERSION, WORKLOAD_API_VERSIONS
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .settings import BridgeSettings

_WORKLOAD_PLURALS = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "CronJob": "cronjobs",
}


class ClusterError(Exception):
    """A cluster call failed for a reason worth telling the assistant (already worded for it)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def api_client_for(settings: BridgeSettings) -> client.ApiClient:
    """An ApiClient for the settings' kubeconfig/context, or in-cluster config when running in a pod."""
    if settings.kubeconfig is None and settings.context is None:
        try:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        except config.ConfigException:
            pass
    return config.new_client_from_config(config_file=settings.kubeconfig, context=settings.context)


def explain_api_error(exc: ApiException, what: str) -> ClusterError:
    """Turn an API error into one clear sentence (the Status message, never a traceback)."""
    message = ""
    try:
        body = json.loads(exc.body or "{}")
        message = str(body.get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    detail = message or exc.reason
    if exc.status == 404:
        text = f"{what} not found"
    elif exc.status == 403:
        text = f"the bridge's identity is not allowed to access {what}: {detail}"
    elif exc.status == 409:
        text = f"conflict on {what}: {detail}"
    elif exc.status == 422:
        text = f"the API server refused {what}: {detail}"
    else:
        text = f"the API server answered {exc.status} for {what}: {detail}"
    return ClusterError(text, exc.status)


class Cluster:
    """Read workloads and RRs, create RRs. One instance per server; thread-safe as the client is."""

    def __init__(self, api_client: client.ApiClient, field_manager: str) -> None:
        self.api_client = api_client
        self.field_manager = field_manager

    def _call(
        self,
        what: str,
        method: str,
        path: str,
        body: Any = None,
        query: list[Any] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        try:
            method_, url, headers, body_, post = self.api_client.param_serialize(
                method,
                path,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(
                method_, url, header_params=headers, body=body_, post_params=post
            )
            response.read()
        except ApiException as exc:
            raise explain_api_error(exc, what) from None
        except Exception as exc:  # urllib3 connection errors and the like
            unreachable = f"cannot reach the Kubernetes API server for {what}: {type(exc).__name__}"
            raise ClusterError(unreachable) from None
        if not 200 <= response.status < 300:
            raise explain_api_error(ApiException(http_resp=response), what)
        return json.loads(response.data or b"null")

    def get_optional(self, what: str, path: str) -> dict[str, Any] | None:
        """GET `path`; None when it does not exist."""
        try:
            return dict(self._call(what, "GET", path))
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise

    # Workloads and namespaces --------------------------------------------------------------------

    def read_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        api_version = WORKLOAD_API_VERSIONS[kind]
        path = f"/apis/{api_version}/namespaces/{namespace}/{_WORKLOAD_PLURALS[kind]}/{name}"
        return dict(self._call(f"{kind} {namespace}/{name}", "GET", path))

    def dry_run_patch(
        self, namespace: str, kind: str, name: str, patch: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Send a JSON patch to the workload with dryRun=All: the API server validates and admits it and
        returns the would-be object; nothing is persisted."""
        api_version = WORKLOAD_API_VERSIONS[kind]
        path = f"/apis/{api_version}/namespaces/{namespace}/{_WORKLOAD_PLURALS[kind]}/{name}"
        return dict(
            self._call(
                f"the dry-run patch of {kind} {namespace}/{name}",
                "PATCH",
                path,
                body=patch,
                query=[("dryRun", "All"), ("fieldManager", self.field_manager)],
                content_type="application/json-patch+json",
            )
        )

    def read_namespace(self, namespace: str) -> dict[str, Any]:
        return dict(self._call(f"namespace {namespace}", "GET", f"/api/v1/namespaces/{namespace}"))

    def list_in_namespace(self, what: str, path: str) -> list[dict[str, Any]]:
        """The items of a namespaced list (empty when the API or kind is not served)."""
        try:
            return list(self._call(what, "GET", path).get("items") or [])
        except ClusterError as exc:
            if exc.status == 404:
                return []
            raise

    # ResourceRecommendations ---------------------------------------------------------------------

    def _rr_path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{GROUP}/{VERSION}"
        path = f"{base}/namespaces/{namespace}/{PLURAL}" if namespace else f"{base}/{PLURAL}"
        return f"{path}/{name}" if name else path

    def list_recommendations(
        self, namespace: str | None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = [("labelSelector", label_selector)] if label_selector else []
        where = f"namespace {namespace}" if namespace else "all namespaces"
        result = self._call(
            f"ResourceRecommendations in {where}", "GET", self._rr_path(namespace), query=query
        )
        return list(result.get("items") or [])

    def get_recommendation(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(
            self._call(f"ResourceRecommendation {namespace}/{name}", "GET", self._rr_path(namespace, name))
        )

    def create_recommendation(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create an RR under the bridge's field manager (the bridge's only write to the cluster)."""
        namespace = manifest["metadata"]["namespace"]
        name = manifest["metadata"]["name"]
        return dict(
            self._call(
                f"ResourceRecommendation {namespace}/{name}",
                "POST",
                self._rr_path(namespace),
                body=manifest,
                query=[("fieldManager", self.field_manager)],
            )
        )
