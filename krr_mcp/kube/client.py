"""The one place the operator talks to the API server (the bridge may use it too).

The official `kubernetes` client, sync, with responses kept as plain dicts exactly as the API server
sent them (camelCase, unknown fields kept) so they go straight into the pydantic models and the pure
decision functions. Errors become `KubeError` subclasses by what happened (NotFound, Conflict,
Forbidden, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from krr_mcp.api.names import OPERATOR_NAME
from krr_mcp.api.resource_recommendation import DNS1123_LABEL, DNS1123_SUBDOMAIN, GROUP, PLURAL, VERSION
from krr_mcp.api.workload_kinds import WORKLOAD_KINDS

OPERATOR_FIELD_MANAGER = OPERATOR_NAME
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
LIST_CHUNK = 500  # items per list request: ~1 MB of JSON at most, whatever the cluster holds


class KubeError(Exception):
    """An API call failed. Raised as the subclass that says what happened (NotFound, Conflict,
    Forbidden, ..., Unreachable), so callers catch the case they handle instead of comparing statuses;
    what the operator does with a case is a property of its class (`transient`, `precondition_failed`).

    `status`: the HTTP status (None when the server was not reached); `reason`: the Status object's
    reason; `server_message`: the API server's own message ("" when it sent none); `detail`: what to
    tell a person after naming the call: the server's message, else the HTTP reason phrase (for
    Unreachable: why the server was not reached); `causes`: the messages of the Status's
    `details.causes` (a field's validation error, an admission policy's denial), () when none."""

    transient: ClassVar[bool] = False
    """Worth retrying as it is: unreachable, throttled, server-side trouble or a write conflict."""
    precondition_failed: ClassVar[bool] = False
    """A JSON patch `test` op or a resourceVersion precondition did not hold (409, 422)."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        reason: str = "",
        server_message: str = "",
        detail: str = "",
        causes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.server_message = server_message
        self.detail = detail or server_message or message
        self.causes = causes


class Unreachable(KubeError):
    """The API server was not reached (refused, timed out, TLS failed): no status."""

    transient = True


class BadRequest(KubeError):
    """400."""


class Unauthorized(KubeError):
    """401: the credentials were not accepted."""


class Forbidden(KubeError):
    """403 from authorization: this identity may not make this request (RBAC). Not a verdict on the
    object sent: the request was refused before admission looked at it."""


class AdmissionDenied(KubeError):
    """403 from admission, not authorization: the identity may make the request, but the object it
    would make was refused, by a ValidatingAdmissionPolicy whose failed validation says
    `reason: Forbidden` (the API server lists the denial in the Status's `details.causes`; an
    authorization denial has none) or by an admission webhook that answered 403 (the API server's
    message then starts `admission webhook "NAME" denied the request`). A policy's or a webhook's
    denial with another reason is that status's error (`Invalid` for 422, `BadRequest` for 400)."""


class NotFound(KubeError):
    """404: the object does not exist, or its kind is not served."""


class Conflict(KubeError):
    """409: the object changed since it was read (resourceVersion), or already exists."""

    transient = True
    precondition_failed = True


class Gone(KubeError):
    """410: a watch's resourceVersion is too old to resume from (list again)."""


class Invalid(KubeError):
    """422: validation or admission refused the object, or a JSON patch `test` op failed."""

    precondition_failed = True


class TooManyRequests(KubeError):
    """429: throttled."""

    transient = True


class ServerError(KubeError):
    """5xx."""

    transient = True


_ERRORS_BY_STATUS: dict[int, type[KubeError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


_WEBHOOK_DENIAL = 'admission webhook "'  # how kube-apiserver starts a webhook's denial (ToStatusErr)


def error_for(
    message: str,
    status: int | None = None,
    reason: str = "",
    server_message: str = "",
    detail: str = "",
    causes: tuple[str, ...] = (),
) -> KubeError:
    """The KubeError subclass for `status` (Unreachable for None, ServerError for 5xx; a 403 that
    admission answered, with `causes` or a webhook's denial, AdmissionDenied)."""
    if status is None:
        kind: type[KubeError] = Unreachable
    elif status >= 500:
        kind = ServerError
    elif status == 403 and (causes or server_message.startswith(_WEBHOOK_DENIAL)):
        kind = AdmissionDenied
    else:
        kind = _ERRORS_BY_STATUS.get(status, KubeError)
    return kind(message, status, reason, server_message, detail, causes)


def load_configuration(kubeconfig: str | None = None, context: str | None = None) -> client.Configuration:
    """The client configuration for a kubeconfig/context, or the in-cluster one when neither is given
    and it exists (the one kubeconfig loader: the operator, the bridge and the plugin use it)."""
    configuration = client.Configuration()
    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config(client_configuration=configuration)
            return configuration
        except config.ConfigException:
            pass
    config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
    return configuration


def connect(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """An ApiClient for a kubeconfig/context, or the in-cluster config when neither is given and it exists."""
    return client.ApiClient(load_configuration(kubeconfig, context))


def _error(exc: ApiException, what: str) -> KubeError:
    message, reason = "", ""
    causes: tuple[str, ...] = ()
    try:
        body = json.loads(exc.body or "{}")
        message, reason = str(body.get("message") or ""), str(body.get("reason") or "")
        found = (body.get("details") or {}).get("causes") or []
        causes = tuple(str(c["message"]) for c in found if isinstance(c, dict) and c.get("message"))
    except (ValueError, AttributeError):
        pass
    detail = message or str(exc.reason or "")
    return error_for(f"{what}: {exc.status} {detail}", exc.status, reason, message, detail, causes)


def _unreachable(exc: Exception, what: str) -> Unreachable:
    why = f"API server unreachable ({type(exc).__name__}: {exc})"
    return Unreachable(f"{what}: {why}", detail=why)


class InvalidRequest(KubeError):
    """A request refused before it is sent: a path would be built from a value that is not a valid
    Kubernetes name (a `../` in an RR's target name must never reach another API path). Not transient."""


_LABEL = re.compile(DNS1123_LABEL)
_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN)


def _namespace(value: str) -> str:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL.match(value):
        raise InvalidRequest(f"refusing to build an API path: namespace {value!r} is not a DNS-1123 label")
    return value


def _name(value: str) -> str:
    if not isinstance(value, str) or len(value) > 253 or not _SUBDOMAIN.match(value):
        raise InvalidRequest(f"refusing to build an API path: name {value!r} is not a DNS-1123 subdomain")
    return value


def _workload_kind(kind: str) -> tuple[str, str]:
    """(group/version, plural) of a supported workload `kind`; InvalidRequest for anything else."""
    info = WORKLOAD_KINDS.get(kind) if isinstance(kind, str) else None
    if info is None:
        raise InvalidRequest(f"refusing to build an API path: {kind!r} is not a supported workload kind")
    return info.api_version, info.plural


def workload_path(namespace: str, kind: str, name: str | None = None) -> str:
    """The API path of a workload of a supported `kind`; InvalidRequest for anything else."""
    api_version, plural = _workload_kind(kind)
    base = f"/apis/{api_version}/namespaces/{_namespace(namespace)}/{plural}"
    return base if name is None else f"{base}/{_name(name)}"  # "" is refused, never the list


def workload_list_path(kind: str, namespace: str | None) -> str:
    """The API path of the workloads of a supported `kind` in `namespace` (all namespaces when None)."""
    if namespace is not None:
        return workload_path(namespace, kind)
    api_version, plural = _workload_kind(kind)
    return f"/apis/{api_version}/{plural}"


def list_path(api_version: str, plural: str, namespace: str | None) -> str:
    """The API path of a list of `plural` of `api_version` ("v1": the core group, else "group/version")
    in `namespace` (all namespaces when None); InvalidRequest for an invalid namespace."""
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    scope = "" if namespace is None else f"/namespaces/{_namespace(namespace)}"
    return f"{prefix}{scope}/{plural}"


def rr_path(namespace: str | None, name: str | None = None) -> str:
    """The API path of RRs (all namespaces when `namespace` is None); InvalidRequest for invalid names."""
    scope = "" if namespace is None else f"/namespaces/{_namespace(namespace)}"
    base = f"/apis/{GROUP}/{VERSION}{scope}/{PLURAL}"
    return base if name is None else f"{base}/{_name(name)}"  # "" is refused, never the list


def resource_path(api_version: str, plural: str, namespace: str | None = None) -> str:
    """The API path of the `plural` resources of group/version `api_version` ("v1": the core group) in
    `namespace`, or in all namespaces when None; InvalidRequest for an invalid namespace or plural."""
    root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    scope = "" if namespace is None else f"/namespaces/{_namespace(namespace)}"
    if not _LABEL.match(plural):
        raise InvalidRequest(f"refusing to build an API path: {plural!r} is not a resource name")
    return f"{root}{scope}/{plural}"


def namespace_path(namespace: str) -> str:
    """`/api/v1/namespaces/NAMESPACE` (core resources in it are below); InvalidRequest if invalid."""
    return f"/api/v1/namespaces/{_namespace(namespace)}"


@dataclass
class Kube:
    """API calls on one ApiClient, writing as `field_manager`; `timeout` (seconds) bounds each call
    (None: the client's default, no bound)."""

    api: client.ApiClient
    field_manager: str = OPERATOR_FIELD_MANAGER
    timeout: float | None = None

    def request(
        self,
        what: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, Any]] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One HTTP call; the decoded JSON answer. KubeError on any failure."""
        try:
            method_, url, headers, body_, post = self.api.param_serialize(
                method,
                path,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api.call_api(
                method_,
                url,
                header_params=headers,
                body=body_,
                post_params=post,
                _request_timeout=self.timeout,
            )
            response.read()
        except ApiException as exc:
            raise _error(exc, what) from None
        except Exception as exc:  # connection refused, timeouts, TLS: the server was not reached
            raise _unreachable(exc, what) from None
        if not 200 <= response.status < 300:
            raise _error(ApiException(http_resp=response), what)
        return json.loads(response.data or b"null")

    def get_optional(self, what: str, path: str) -> dict[str, Any] | None:
        """The object at `path`, or None when it does not exist (404)."""
        return self._optional(what, path)

    def list_items(self, what: str, path: str) -> list[dict[str, Any]]:
        """The items of the list at `path` ([] when the kind is not served: 404)."""
        return self._items(what, path)

    def _optional(self, what: str, path: str) -> dict[str, Any] | None:
        try:
            return dict(self.request(what, "GET", path))
        except NotFound:
            return None

    def list_chunks(
        self, what: str, path: str, query: list[tuple[str, Any]] | None = None, chunk: int | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """The list at `path`, at most `chunk` (LIST_CHUNK) items per request (the API's `limit` and
        `continue`: one consistent read, never all of it decoded at once), each chunk with the read's
        resourceVersion. An expired `continue` raises Gone (410): the caller reads again."""
        token: str | None = None
        while True:
            paged = [
                *(query or []),
                ("limit", chunk or LIST_CHUNK),
                *([("continue", token)] if token else []),
            ]
            answer = self.request(what, "GET", path, query=paged) or {}
            meta = answer.get("metadata") or {}
            yield list(answer.get("items") or []), meta.get("resourceVersion")
            token = meta.get("continue") or None
            if token is None:
                return

    def _items(
        self, what: str, path: str, query: list[tuple[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        try:
            return list((self.request(what, "GET", path, query=query) or {}).get("items") or [])
        except NotFound:  # the kind is not served here (e.g. no HPAs in a minimal server)
            return []

    # -- workloads -------------------------------------------------------------------------------
    def get_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
        """The workload as stored, or None when it does not exist."""
        return self._optional(f"get {kind} {namespace}/{name}", workload_path(namespace, kind, name))

    def patch_workload(
        self, namespace: str, kind: str, name: str, patch: list[dict[str, Any]], *, dry_run: bool = False
    ) -> dict[str, Any]:
        """Apply an RFC 6902 JSON patch; `dry_run`: the server validates and answers, persists nothing."""
        query: list[tuple[str, Any]] = [("fieldManager", self.field_manager)]
        if dry_run:
            query.append(("dryRun", "All"))
        what = f"{'dry-run ' if dry_run else ''}patch {kind} {namespace}/{name}"
        path = workload_path(namespace, kind, name)
        return dict(self.request(what, "PATCH", path, body=patch, query=query, content_type=JSON_PATCH))

    def watch(
        self, what: str, path: str, resource_version: str, timeout_seconds: int
    ) -> Iterator[dict[str, Any]]:
        """The watch events (`{"type", "object"}`, bookmarks included) of the list at `path` after
        `resource_version`, until the server ends the watch (after about `timeout_seconds`).
        KubeError when it cannot start (an expired version: `Gone`); a broken stream just ends."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", timeout_seconds),
        ]
        try:
            method_, url, headers, _, _ = self.api.param_serialize(
                "GET", path, query_params=query, header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )  # fmt: skip
            response = self.api.call_api(
                method_, url, header_params=headers, _request_timeout=timeout_seconds + 30
            )
        except ApiException as exc:
            raise _error(exc, what) from None
        except Exception as exc:
            raise _unreachable(exc, what) from None
        if not 200 <= response.status < 300:
            response.read()
            raise _error(ApiException(http_resp=response), what)
        stream = response.response
        try:
            for line in stream:
                if line.strip():
                    yield json.loads(line)
        except Exception:  # the connection broke, or a partial line: the caller watches again
            return
        finally:
            stream.release_conn()

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """Pods in `namespace` matching `label_selector` (a workload's selector)."""
        query = [("labelSelector", label_selector)]
        return self._items(f"list pods in {namespace}", f"{namespace_path(namespace)}/pods", query)

    # -- ResourceRecommendations -----------------------------------------------------------------
    def get_rr(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._optional(f"get rr {namespace}/{name}", rr_path(namespace, name))

    def list_rrs(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """RRs in `namespace` (all namespaces when None)."""
        query = [("labelSelector", label_selector)] if label_selector else None
        return self._items(f"list rr in {namespace or 'all namespaces'}", rr_path(namespace), query)

    def create_rr(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        query = [("fieldManager", self.field_manager)]
        return dict(
            self.request(f"create rr in {namespace}", "POST", rr_path(namespace), body=body, query=query)
        )

    def patch_rr_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str | None = None
    ) -> dict[str, Any]:
        """Merge-patch the status subresource; with `resource_version`, only if the RR is unchanged since."""
        body: dict[str, Any] = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        query = [("fieldManager", self.field_manager)]
        path = rr_path(namespace, name) + "/status"
        what = f"patch rr {namespace}/{name} status"
        return dict(self.request(what, "PATCH", path, body=body, query=query, content_type=MERGE_PATCH))
