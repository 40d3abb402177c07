"""The HTTP side of the sandbox API server (aiohttp): routing of Kubernetes REST paths, content
negotiation (JSON, server-side Tables; protobuf and CBOR refused so clients fall back to JSON), watch
streams, discovery, the review kinds (`kubectl auth whoami`, `kubectl auth can-i`) and Status errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from . import discovery, paging, tables
from .controllers import RolloutController
from .operations import PATCH_TYPES, ApiError, Operations, WriteOptions
from .resources import Registry, ResourceType
from .selectors import SelectorError, combine, field_predicate, label_predicate
from .store import Store, Watcher, WatchEvent

log = logging.getLogger(__name__)

JSON = "application/json"
REFUSED_MEDIA = ("application/vnd.kubernetes.protobuf", "application/cbor", "application/apply-patch+cbor")
POD_ONLY_SUBRESOURCES = frozenset(
    {"log", "exec", "attach", "portforward", "proxy", "eviction", "binding", "ephemeralcontainers"}
)
RBAC_REASON = "the krr-mcp sandbox does not enforce RBAC: every authenticated request is allowed"


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _json_response(obj: Any, status: int = 200, warnings: Iterable[str] = ()) -> web.Response:
    headers = {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)} if warnings else None
    return web.Response(body=_dumps(obj), status=status, content_type=JSON, headers=headers)


def _error(exc: ApiError) -> web.Response:
    return _json_response(exc.status(), exc.code)


class Negotiated:
    """What the client asked for in its Accept header."""

    def __init__(self, accept: str) -> None:
        self.table = False
        self.partial = False
        media = [part.strip() for part in accept.split(",") if part.strip()]
        if not media:
            return
        usable = False
        for item in media:
            base, *params = [p.strip() for p in item.split(";")]
            opts = dict(p.split("=", 1) for p in params if "=" in p)
            if base not in (JSON, "*/*", "application/*"):
                continue
            as_kind = opts.get("as", "")
            if as_kind == "Table":
                self.table = usable = True
            elif as_kind.startswith("PartialObjectMetadata"):
                self.partial = usable = True
            elif not as_kind:
                usable = True
                break  # plain JSON is acceptable: stop at the first choice we can honour
        if not usable:
            raise ApiError(
                406,
                f"only application/json is served by the krr-mcp sandbox (asked for: {accept}); "
                "protobuf and CBOR are not supported",
                reason="NotAcceptable",
            )


def _body_media(request: web.Request) -> str:
    return (request.headers.get("Content-Type") or JSON).split(";")[0].strip().lower()


class SandboxServer:
    """One sandbox API server: store, registry, object operations, optional rollout controller, HTTP."""

    def __init__(
        self,
        *,
        user: str = "sandbox-admin",
        groups: Iterable[str] = ("system:masters", "system:authenticated"),
        history_size: int = 5000,
        watch_queue_size: int = 10_000,
        controller: bool = True,
        rollout_delay: float = 0.2,
        rollout_fail_after: float = 1.0,
        bookmark_interval: float = 5.0,
        crd_validation_rules: bool = True,
    ) -> None:
        self.user = user
        self.groups = list(groups)
        self.store = Store(history_size=history_size, watch_queue_size=watch_queue_size)
        self.registry = Registry()
        self.ops = Operations(self.store, self.registry, crd_validation_rules=crd_validation_rules)
        self.bookmark_interval = bookmark_interval
        self.controller = (
            RolloutController(self.ops, delay=rollout_delay, fail_after=rollout_fail_after)
            if controller
            else None
        )
        self.url = ""
        self.requests_served = 0  # HTTP requests answered (the scan benchmark counts API requests)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://{host}:{bound}"
        if self.controller is not None:
            self.controller.start()
        return self.url

    async def stop(self) -> None:
        """Close open watches, then the HTTP server."""
        self._stopping.set()
        if self.controller is not None:
            self.controller.stop()
        self.store.close_watchers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- routing -----------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests_served += 1
        try:
            return await self._route(request)
        except ApiError as exc:
            return _error(exc)
        except SelectorError as exc:
            return _error(ApiError(400, str(exc)))
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as exc:
            log.exception("sandbox: internal error on %s %s", request.method, request.path)
            return _error(ApiError(500, f"internal error in the krr-mcp sandbox: {exc!r}"))

    async def _route(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if request.method == "GET":
            doc = self._discovery(parts, request)
            if doc is not None:
                return doc
        if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
            return await self._resource(request, "", "v1", parts[2:])
        if len(parts) >= 3 and parts[0] == "apis":
            return await self._resource(request, parts[1], parts[2], parts[3:])
        raise ApiError(404, f"the server could not find the requested resource ({request.path})")

    def _discovery(self, parts: list[str], request: web.Request) -> web.StreamResponse | None:
        path = "/" + "/".join(parts)
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/version":
            return _json_response(discovery.SERVER_VERSION)
        if path == "/openapi/v2":
            # An empty protobuf document: kubectl's client-side validation finds no schema and skips.
            return web.Response(
                body=b"", content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
            )
        if path == "/openapi/v3":
            return _json_response(discovery.openapi_v3_index(self.registry))
        if parts[:3] == ["openapi", "v3", "apis"] and len(parts) == 5:
            doc = discovery.openapi_v3_document(self.registry, parts[3], parts[4])
            if doc is not None:
                return _json_response(doc)
        if parts[:1] == ["openapi"]:
            raise ApiError(404, "OpenAPI v3 is served for custom resources only by the krr-mcp sandbox")
        if path in ("/api", "/apis", "/api/v1") or (parts[:1] == ["apis"] and len(parts) in (2, 3)):
            Negotiated(request.headers.get("Accept", ""))
        if path == "/api":
            host = request.host or "127.0.0.1"
            return _json_response(discovery.api_versions(host))
        if path == "/apis":
            return _json_response(discovery.api_group_list(self.registry))
        if path == "/api/v1":
            return _json_response(discovery.resource_list(self.registry, "", "v1"))
        if parts[:1] == ["apis"] and len(parts) == 2:
            group = discovery.api_group(self.registry, parts[1])
            if group is None:
                raise ApiError(404, f"the server could not find the requested resource (group {parts[1]})")
            return _json_response(group)
        if parts[:1] == ["apis"] and len(parts) == 3:
            doc = discovery.resource_list(self.registry, parts[1], parts[2])
            if doc is None:
                raise ApiError(404, f"the server could not find the requested resource ({path})")
            return _json_response(doc)
        return None

    def _resolve(
        self, group: str, version: str, segments: list[str]
    ) -> tuple[ResourceType, str | None, str | None, str]:
        """(type, namespace, name, subresource) for the path after /api/v1 or /apis/G/V."""
        namespace = None
        if len(segments) >= 3 and segments[0] == "namespaces":
            rt = self.registry.get(group, version, segments[2])
            if rt is not None and rt.namespaced:
                namespace = segments[1]
                segments = segments[2:]
        if not segments:
            raise ApiError(404, "the server could not find the requested resource")
        rt = self.registry.get(group, version, segments[0])
        if rt is None:
            gv = f"{group}/{version}" if group else version
            raise ApiError(404, f"the server could not find the requested resource ({gv} {segments[0]})")
        name = segments[1] if len(segments) > 1 else None
        sub = segments[2] if len(segments) > 2 else ""
        if sub in POD_ONLY_SUBRESOURCES and rt.plural in ("pods", "services", "nodes"):
            raise ApiError(
                501,
                f"{rt.plural}/{sub} is not emulated: the krr-mcp sandbox stores objects but runs no pods "
                "(no logs, exec, attach, port-forward or proxy); see docs/sandbox.md",
                reason="NotImplemented",
            )
        if len(segments) > 3 or (sub and sub not in rt.subresources):
            raise ApiError(404, f"the server could not find the requested resource ({'/'.join(segments)})")
        if rt.namespaced and name is not None and namespace is None:
            raise ApiError(404, f"{rt.plural} is namespaced: use /namespaces/NAMESPACE/{rt.plural}/{name}")
        return rt, namespace, name, sub

    async def _resource(
        self, request: web.Request, group: str, version: str, segments: list[str]
    ) -> web.StreamResponse:
        watch_path = bool(segments) and segments[0] == "watch"
        if watch_path:
            segments = segments[1:]
        rt, namespace, name, sub = self._resolve(group, version, segments)
        query = request.query
        neg = Negotiated(request.headers.get("Accept", ""))
        method = request.method
        if rt.virtual:
            if method != "POST" or name is not None:
                raise ApiError(405, f"{rt.plural} only supports create")
            return _json_response(self._review(rt, await self._review_body(request)), 201)
        ns = namespace or ""
        if name is None:
            predicate = combine(
                label_predicate(query.get("labelSelector")), _field_selector(query.get("fieldSelector"), rt)
            )
            if method == "GET" and (watch_path or query.get("watch") in ("true", "1")):
                return await self._watch(request, rt, namespace, predicate, neg)
            if method == "GET":
                return self._list(rt, namespace, predicate, neg, query)
            if method == "POST" and (not rt.namespaced or namespace is not None):
                opts = self._write_options(request)
                obj = self.ops.create(rt, ns, await self._body(request), opts)
                return _json_response(obj, 201, opts.warnings)
            if method == "DELETE":
                options = await self._delete_options(request)
                gone = self.ops.delete_collection(rt, namespace, predicate, options, _dry_run(query, options))
                return _json_response(self._list_doc(rt, gone, str(self.store.rv)))
            raise ApiError(405, f"{method} is not supported on a collection of {rt.plural}")
        if method == "GET":
            if sub == "scale":
                return _json_response(_scale(self.ops.get(rt, ns, name)))
            obj = self.ops.get(rt, ns, name)
            if neg.table:
                return _json_response(
                    tables.table(
                        rt, [obj], query.get("includeObject", "Metadata"), obj["metadata"]["resourceVersion"]
                    )
                )
            return _json_response(obj)
        if method == "PUT":
            opts = self._write_options(request)
            body = await self._body(request)
            if sub == "scale":
                return _json_response(_scale(self._write_scale(rt, ns, name, body, opts)))
            return _json_response(self.ops.replace(rt, ns, name, body, opts, sub), 200, opts.warnings)
        if method == "PATCH":
            media = _body_media(request)
            patch_type = PATCH_TYPES.get(media)
            if patch_type is None:
                raise ApiError(
                    415,
                    f"the body of the request was in an unknown format ({media}); "
                    f"accepted: {', '.join(PATCH_TYPES)}",
                )
            opts = self._write_options(request, apply=patch_type == "apply")
            body = await self._body(request, yaml_ok=patch_type == "apply")
            if sub == "scale":
                live = _scale(self.ops.get(rt, ns, name))
                from .patching import merge_patch

                patched = merge_patch(live, body) if isinstance(body, dict) else live
                return _json_response(_scale(self._write_scale(rt, ns, name, patched, opts)))
            obj, created = self.ops.patch(rt, ns, name, patch_type, body, opts, sub)
            return _json_response(obj, 201 if created else 200, opts.warnings)
        if method == "DELETE":
            options = await self._delete_options(request)
            return _json_response(self.ops.delete(rt, ns, name, options, _dry_run(query, options)))
        raise ApiError(405, f"{method} is not supported")

    # -- request pieces ----------------------------------------------------------------------------
    async def _body(self, request: web.Request, yaml_ok: bool = True) -> Any:
        media = _body_media(request)
        if media in REFUSED_MEDIA:
            raise ApiError(
                415,
                f"{media} is not supported by the krr-mcp sandbox; send application/json "
                "(kubectl's imperative generators such as `kubectl create deployment` send protobuf: pipe "
                "`kubectl create ... --dry-run=client -o yaml` into `kubectl apply -f -` instead)",
                reason="UnsupportedMediaType",
            )
        raw = await request.read()
        if not raw:
            raise ApiError(400, "the request body is empty")
        try:
            if media.endswith("json"):
                return json.loads(raw)
            if "yaml" in media and yaml_ok:
                return yaml.safe_load(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, f"the request body is not valid {media}: {exc}") from exc
        raise ApiError(415, f"the body of the request was in an unknown format ({media})")

    async def _review_body(self, request: web.Request) -> dict[str, Any]:
        """Review requests are answered from the server's identity alone, so a protobuf body (kubectl's
        `auth whoami` / `auth can-i` send one) is accepted unread; JSON and YAML bodies are echoed back."""
        if _body_media(request) in REFUSED_MEDIA:
            await request.read()
            return {}
        body = await self._body(request)
        return body if isinstance(body, dict) else {}

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                if _body_media(request) in REFUSED_MEDIA:
                    raise ApiError(415, "DeleteOptions must be sent as application/json")
                try:
                    options = json.loads(raw)
                except ValueError as exc:
                    raise ApiError(400, f"DeleteOptions are not valid JSON: {exc}") from exc
        if "propagationPolicy" in request.query:
            options["propagationPolicy"] = request.query["propagationPolicy"]
        policy = options.get("propagationPolicy")
        if policy not in (None, "Foreground", "Background", "Orphan"):
            raise ApiError(422, f'DeleteOptions.propagationPolicy: Unsupported value: "{policy}"')
        return options

    def _write_options(self, request: web.Request, apply: bool = False) -> WriteOptions:
        query = request.query
        manager = query.get("fieldManager", "")
        defaulted = not manager
        if not manager:
            agent = request.headers.get("User-Agent", "unknown")
            manager = agent.split("/")[0].split(" ")[0] or "unknown"
        validation = query.get("fieldValidation", "")
        if validation not in ("", "Strict", "Warn", "Ignore"):
            raise ApiError(400, f"fieldValidation: Unsupported value: {validation!r}")
        force = query.get("force", "false") in ("true", "1")
        if force and not apply:
            raise ApiError(422, "force: Forbidden: may not be specified for non-apply patch")
        return WriteOptions(
            dry_run=_dry_run(query, {}),
            field_manager=manager,
            field_validation=validation,
            force=force,
            manager_defaulted=defaulted,
        )

    # -- list and watch ----------------------------------------------------------------------------
    def _list_doc(
        self,
        rt: ResourceType,
        items: list[dict[str, Any]],
        rv: str,
        cont: str | None = None,
        remaining: int | None = None,
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"resourceVersion": rv}
        if cont is not None:
            meta["continue"] = cont
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta, "items": items}

    def _list(
        self, rt: ResourceType, namespace: str | None, predicate: Any, neg: Negotiated, query: Any
    ) -> web.StreamResponse:
        found = self._chunk(rt, namespace, predicate, query)
        rv, cont, remaining = str(found.rv), found.token, found.remaining
        # a custom resource's list carries `continue` even when empty, as kube-apiserver's does
        shown = cont or ("" if rt.custom else None)
        if neg.table:
            doc = tables.table(rt, found.items, query.get("includeObject", "Metadata"), rv, cont, remaining)
            return _json_response(doc)
        if neg.partial:
            partial = [tables.partial_metadata(o) for o in found.items]
            doc = self._list_doc(rt, partial, rv, shown or None, remaining)
            doc.update(kind="PartialObjectMetadataList", apiVersion="meta.k8s.io/v1")
            return _json_response(doc)
        return _json_response(self._list_doc(rt, found.items, rv, shown, remaining))

    def _chunk(self, rt: ResourceType, namespace: str | None, predicate: Any, query: Any) -> paging.Chunk:
        """The chunk a list request asks for (`limit`, `continue`: see krr_mcp/sandbox/paging.py), its
        items read-only views."""
        limit = paging.parse_limit(query.get("limit"))
        token = query.get("continue")
        if token:
            if query.get("resourceVersion", "0") != "0":
                raise ApiError(400, "specifying resource version is not allowed when using continue")
            rv, start = paging.decode_continue(token)
            if rv > self.store.rv:
                cause = {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                raise ApiError(
                    504,
                    f"Timeout: Too large resource version: {rv}, current: {self.store.rv}",
                    details={"causes": [cause], "retryAfterSeconds": 1},
                )
            items = self.store.list_objects_at(rt.storage_key, namespace, rv)
            if items is None:
                raise ApiError(410, paging.EXPIRED)
        else:
            rv, start, items = self.store.rv, "", self.store.list_objects(rt.storage_key, namespace)
        if predicate is not None:
            items = [o for o in items if predicate(o)]
        all_namespaces = namespace is None and rt.namespaced
        found = paging.chunk(items, rv, start, limit, all_namespaces, predicate is not None)
        return replace(found, items=[self.ops.view(rt, o) for o in found.items])

    async def _watch(
        self,
        request: web.Request,
        rt: ResourceType,
        namespace: str | None,
        predicate: Any,
        neg: Negotiated,
    ) -> web.StreamResponse:
        query = request.query
        rv_param = query.get("resourceVersion", "")
        send_initial = query.get("sendInitialEvents") == "true"
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        try:
            timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else 1800.0
        except ValueError as exc:
            raise ApiError(400, "timeoutSeconds must be a number") from exc
        watcher = Watcher(rt.storage_key, namespace, predicate, self.store.watch_queue_size)
        backlog: list[tuple[str, dict[str, Any]]] = []
        gone = False
        if send_initial or rv_param in ("", "0"):
            backlog = [
                ("ADDED", o)
                for o in self.store.list_objects(rt.storage_key, namespace)
                if predicate is None or predicate(o)
            ]
        else:
            try:
                since = int(rv_param)
            except ValueError as exc:
                raise ApiError(400, f"invalid resourceVersion {rv_param!r}") from exc
            events = self.store.events_since(since, rt.storage_key)
            if events is None:
                gone = True
            else:
                seen = (watcher.translate(e) for e in events)
                backlog = [(e.type, e.obj) for e in seen if e is not None]
        # No await between reading the backlog and subscribing: no event falls in between.
        if not gone:
            self.store.subscribe(watcher)
        # Like kube-apiserver's watch cache: a bookmark only carries news, a resourceVersion of this kind
        # past where the watch started (writes of other kinds do not count).
        started_at = max(self.store.kind_rv(rt.storage_key), int(rv_param) if rv_param.isdigit() else 0)
        # A watch that began with the current objects: its first bookmark says they have all been sent.
        ends_initial_events = rv_param in ("", "0") and not send_initial
        include = query.get("includeObject", "Metadata")
        response = web.StreamResponse(
            status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache, private"}
        )
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            if gone:
                oldest = self.store.oldest_resumable(rt.storage_key)
                status = ApiError(410, f"too old resource version: {rv_param} ({oldest})", reason="Expired")
                await response.write(_dumps({"type": "ERROR", "object": status.status()}) + b"\n")
                return response
            first = True
            for event_type, obj in backlog:
                await response.write(self._event_line(rt, event_type, obj, neg, include, first))
                first = False
            if send_initial:
                mark = {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version,
                    "metadata": {
                        "resourceVersion": str(self.store.rv),
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                }
                await response.write(_dumps({"type": "BOOKMARK", "object": mark}) + b"\n")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            next_mark = _next_bookmark(loop.time(), deadline, self.bookmark_interval) if bookmarks else None
            while not self._stopping.is_set():
                now = loop.time()
                remaining = deadline - now
                if remaining <= 0:
                    break
                wait = min(remaining, self.bookmark_interval)
                if next_mark is not None:
                    wait = max(0.0, min(wait, next_mark - now))
                try:
                    event = await asyncio.wait_for(watcher.queue.get(), wait)
                except TimeoutError:
                    transport = request.transport
                    if transport is None or transport.is_closing():
                        break
                    if next_mark is not None and loop.time() >= next_mark:
                        reached = self.store.kind_rv(rt.storage_key)
                        if reached > started_at:
                            mark_meta: dict[str, Any] = {"resourceVersion": str(reached)}
                            if ends_initial_events:  # as kube-apiserver marks it
                                mark_meta["annotations"] = {"k8s.io/initial-events-end": "true"}
                                ends_initial_events = False
                            mark = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": mark_meta}
                            await response.write(_dumps({"type": "BOOKMARK", "object": mark}) + b"\n")
                        next_mark = _next_bookmark(loop.time(), deadline, self.bookmark_interval)
                    continue
                if event is None:
                    break
                await response.write(self._event_line(rt, event.type, event.obj, neg, include, first))
                first = False
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unsubscribe(watcher)
            watcher.closed = True
        return response

    def _event_line(
        self,
        rt: ResourceType,
        event_type: str,
        obj: dict[str, Any],
        neg: Negotiated,
        include: str,
        first: bool,
    ) -> bytes:
        out = self.ops.view(rt, obj)
        payload: dict[str, Any]
        if neg.table:
            payload = tables.table(rt, [out], include, out["metadata"]["resourceVersion"], headers=first)
        elif neg.partial:
            payload = tables.partial_metadata(out)
        else:
            payload = out
        return _dumps({"type": event_type, "object": payload}) + b"\n"

    # -- scale and reviews -------------------------------------------------------------------------
    def _write_scale(
        self, rt: ResourceType, ns: str, name: str, scale: Any, opts: WriteOptions
    ) -> dict[str, Any]:
        if not isinstance(scale, dict) or not isinstance((scale.get("spec") or {}).get("replicas"), int):
            raise ApiError(422, "Scale.spec.replicas: Required value: an integer")
        patch = {"spec": {"replicas": scale["spec"]["replicas"]}}
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv:
            patch["metadata"] = {"resourceVersion": rv}
        obj, _ = self.ops.patch(rt, ns, name, "merge", patch, opts)
        return obj

    def _review(self, rt: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request must be a JSON object")
        user = {"username": self.user, "uid": f"sandbox-{self.user}", "groups": self.groups}
        out = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"creationTimestamp": None}}
        spec = body.get("spec") or {}
        if rt.kind == "SelfSubjectReview":
            out["status"] = {"userInfo": user}
        elif rt.kind == "TokenReview":
            out.update(spec=spec, status={"authenticated": True, "user": user})
        elif rt.kind == "SelfSubjectRulesReview":
            out.update(
                spec=spec,
                status={
                    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    "incomplete": False,
                    "evaluationError": RBAC_REASON,
                },
            )
        else:
            out.update(spec=spec, status={"allowed": True, "reason": RBAC_REASON})
        return out

    # -- direct access for tests and seeding (on the server's loop) -------------------------------
    def set_user(self, name: str, groups: Iterable[str] | None = None) -> None:
        self.user = name
        if groups is not None:
            self.groups = list(groups)

    def apply_documents(
        self, documents: Iterable[dict[str, Any]], manager: str = "krr-mcp-sandbox-seed"
    ) -> list[dict[str, Any]]:
        """Create (or replace) objects directly, without HTTP; CRDs first so their kinds exist."""
        docs = sorted((d for d in documents if d), key=lambda d: d.get("kind") != "CustomResourceDefinition")
        out = []
        for doc in docs:
            rt = self.registry.by_kind(doc.get("apiVersion", ""), doc.get("kind", ""))
            if rt is None:
                raise ApiError(404, f"no kind {doc.get('kind')} in {doc.get('apiVersion')} is served")
            ns = (doc.get("metadata") or {}).get("namespace", "default") if rt.namespaced else ""
            opts = WriteOptions(field_manager=manager)
            name = (doc.get("metadata") or {}).get("name", "")
            if self.store.get(rt.storage_key, ns, name) is None:
                out.append(self.ops.create(rt, ns, doc, opts))
            else:
                out.append(self.ops.replace(rt, ns, name, doc, opts))
            status = doc.get("status")
            if status and rt.has_status:
                out[-1] = self.ops.replace(rt, ns, name, {**out[-1], "status": status}, opts, "status")
        return out

    def load_yaml_files(self, paths: Iterable[Path]) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        for path in paths:
            docs.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
        return self.apply_documents(docs)


def _next_bookmark(now: float, deadline: float, interval: float) -> float | None:
    """When a watch with allowWatchBookmarks gets its next BOOKMARK, as kube-apiserver's watch cache
    schedules it: every `interval` (a minute there) and 2 seconds before the watch's timeout; None when
    that moment has passed."""
    at = min(now + interval, deadline - 2.0)
    return at if at >= now else None


def _field_selector(text: str | None, rt: ResourceType) -> Any:
    return field_predicate(text)


def _dry_run(query: Any, options: dict[str, Any]) -> bool:
    values = query.getall("dryRun", []) + list(options.get("dryRun") or [])
    for value in values:
        if value != "All":
            raise ApiError(400, f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def _scale(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


__all__ = ["SandboxServer", "WatchEvent"]
