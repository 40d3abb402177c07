"""The API server's object semantics, independent of HTTP: create, read, update, patch, apply, delete.

What it keeps the way kube-apiserver does: uid, creationTimestamp, resourceVersion on every write,
generation on spec changes only, 409 on a stale resourceVersion, the status subresource kept apart from
the main resource, dryRun=All persisting nothing, finalizers holding an object after deletion, managedFields
per field manager, CRDs becoming served kinds, namespaces that must exist, cascading deletion by owner uid.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from . import managedfields, patching
from .celrules import RULES
from .resources import Registry, ResourceType, crd_types
from .selectors import Predicate
from .store import Store, clone
from .validation import CEL_BLOCKED, apply_defaults, is_type_error, validate_custom

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ("", "namespaces")
# The spec defaults kube-apiserver fills in for workloads (the ones `kubectl describe` shows).
WORKLOAD_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("apps", "deployments"): {
        "replicas": 1,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    },
    ("apps", "statefulsets"): {
        "replicas": 1,
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "revisionHistoryLimit": 10,
    },
    ("apps", "daemonsets"): {
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        "revisionHistoryLimit": 10,
    },
    ("apps", "replicasets"): {"replicas": 1},
    ("batch", "cronjobs"): {
        "suspend": False,
        "concurrencyPolicy": "Allow",
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
    },
}
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An error answered as a meta/v1 Status object."""

    REASONS: ClassVar[dict[int, str]] = {
        400: "BadRequest",
        403: "Forbidden",
        404: "NotFound",
        405: "MethodNotAllowed",
        406: "NotAcceptable",
        409: "Conflict",
        410: "Expired",
        415: "UnsupportedMediaType",
        422: "Invalid",
        500: "InternalError",
        501: "NotImplemented",
        504: "Timeout",
    }

    def __init__(
        self, code: int, message: str, reason: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or self.REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _resource_name(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(
        404,
        f'{_resource_name(rt)} "{name}" not found',
        details={"name": name, "group": rt.group, "kind": rt.plural},
    )


def conflict(rt: ResourceType, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {_resource_name(rt)} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        details={"name": name, "group": rt.group, "kind": rt.plural},
    )


_CAUSE_REASONS = {
    "Required value": "FieldValueRequired",
    "Forbidden": "FieldValueForbidden",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
}


def _cause(problem: str) -> dict[str, str]:
    """A Status cause from "field: Kind: detail", as the real server splits it (kubectl prints
    "field: message")."""
    field_path, _, message = problem.partition(": ")
    if not message:
        return {"reason": "FieldValueInvalid", "message": problem, "field": ""}
    kind = message.split(":", 1)[0]
    reason = _CAUSE_REASONS.get(kind, "FieldValueInvalid")
    if " in body must be of type " in message:  # field.TypeInvalid: printed as "Invalid value" too
        reason = "FieldValueTypeInvalid"
    return {"reason": reason, "message": message, "field": field_path}


def _aggregate(problems: list[str]) -> str:
    """Several errors as kube-apiserver aggregates them: "[a, b]"; one as itself."""
    return ", ".join(problems) if len(problems) == 1 else "[" + ", ".join(problems) + "]"


def invalid(rt: ResourceType, name: str, problems: list[str]) -> ApiError:
    causes = [_cause(p) for p in problems]
    return ApiError(
        422,
        f'{rt.kind}.{rt.group or "core"} "{name}" is invalid: ' + _aggregate(problems),
        details={"name": name, "group": rt.group, "kind": rt.kind, "causes": causes},
    )


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = ""  # Strict | Warn | Ignore | ""
    force: bool = False
    manager_defaulted: bool = False  # no fieldManager parameter: named after the User-Agent
    warnings: list[str] = field(default_factory=list)


AfterWrite = Callable[[ResourceType, dict[str, Any]], None]


class Operations:
    """Object semantics on top of a Store. All methods run on the server's event loop."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        clock: Callable[[], str] = now_iso,
        *,
        crd_validation_rules: bool = True,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        # False: serve like an API server that does not enforce CRD validation rules (older ones, or
        # CEL validation turned off), to test what the operator does where the CRD rules are absent.
        self.crd_validation_rules = crd_validation_rules
        self.after_write: list[AfterWrite] = []

    # -- reads -------------------------------------------------------------------------------------
    def output(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """A copy of a stored object as version `rt` presents it."""
        out = clone(obj)
        out["apiVersion"] = rt.api_version
        out["kind"] = rt.kind
        return out

    def view(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """A stored object as version `rt` presents it, sharing the stored data: for serializing only,
        never to be mutated (stored objects are immutable by convention)."""
        return {**obj, "apiVersion": rt.api_version, "kind": rt.kind}

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        """Read-only view of one object (see `view`)."""
        obj = self.store.get(rt.storage_key, namespace, name)
        if obj is None:
            raise not_found(rt, name)
        return self.view(rt, obj)

    def list_objects(
        self, rt: ResourceType, namespace: str | None, predicate: Predicate | None
    ) -> list[dict[str, Any]]:
        """Read-only views of the matching objects (see `view`)."""
        items = self.store.list_objects(rt.storage_key, namespace)
        if predicate is not None:
            items = [o for o in items if predicate(o)]
        return [self.view(rt, o) for o in items]

    # -- create ------------------------------------------------------------------------------------
    def create(
        self, rt: ResourceType, namespace: str, body: Any, opts: WriteOptions, apply: bool = False
    ) -> dict[str, Any]:
        obj = self._check_body(rt, namespace, body)
        meta = obj["metadata"]
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            else:
                raise invalid(rt, "", ["metadata.name: Required value: name or generateName is required"])
        name = meta["name"]
        if self.store.get(rt.storage_key, namespace, name) is not None:
            raise ApiError(
                409,
                f'{_resource_name(rt)} "{name}" already exists',
                reason="AlreadyExists",
                details={"name": name, "group": rt.group, "kind": rt.plural},
            )
        if rt.namespaced:
            self._require_namespace(namespace)
        if rt.has_status and rt.storage_key != NAMESPACE_KEY:
            obj.pop("status", None)
        meta.pop("resourceVersion", None)
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.clock()
        if self._has_generation(rt, obj):
            meta["generation"] = 1
        # A create owns what it wrote, defaults included; an apply owns only the applied configuration.
        applied = clone(obj) if apply else None
        self._default(rt, obj)
        obj = self._validate(rt, obj, opts)
        obj["metadata"]["managedFields"] = managedfields.record_update(
            None,
            applied if applied is not None else obj,
            opts.field_manager,
            "",
            rt.has_status,
            rt.api_version,
            self.clock(),
            operation="Apply" if apply else "Update",
        )
        return self._persist(rt, obj, opts)

    # -- update / patch ----------------------------------------------------------------------------
    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        opts: WriteOptions,
        subresource: str = "",
    ) -> dict[str, Any]:
        candidate = self._check_body(rt, namespace, body)
        if candidate["metadata"].get("name") not in (None, name):
            raise ApiError(400, "the name of the object does not match the name on the URL")
        candidate["metadata"]["name"] = name
        old = self.store.get(rt.storage_key, namespace, name)
        if old is None:
            raise not_found(rt, name)
        return self._update(rt, old, candidate, opts, subresource)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        patch_type: str,
        body: Any,
        opts: WriteOptions,
        subresource: str = "",
    ) -> tuple[dict[str, Any], bool]:
        """Apply a patch; returns (object, created). Only server-side apply creates a missing object."""
        old = self.store.get(rt.storage_key, namespace, name)
        if patch_type == "apply":
            return self._apply(rt, namespace, name, old, body, opts, subresource)
        if old is None:
            raise not_found(rt, name)
        current = self.output(rt, old)
        try:
            if patch_type == "merge":
                if not isinstance(body, dict):
                    raise patching.PatchError("a merge patch must be a JSON object", 400)
                candidate = patching.merge_patch(current, body)
            elif patch_type == "json":
                candidate = patching.json_patch(current, body)
            elif patch_type == "strategic":
                if rt.custom:
                    raise ApiError(
                        415,
                        "strategic merge patch is not supported for custom resources; "
                        "use a merge patch (--type merge) or a JSON patch",
                    )
                if not isinstance(body, dict):
                    raise patching.PatchError("a strategic merge patch must be a JSON object", 400)
                candidate = patching.strategic_merge(current, body)
            else:
                raise ApiError(415, f"unsupported patch type {patch_type!r}")
        except patching.PatchError as exc:
            raise ApiError(exc.code, str(exc), details=exc.details) from exc
        if not isinstance(candidate, dict) or not isinstance(candidate.get("metadata"), dict):
            raise ApiError(422, "the patch removed the object's metadata")
        if candidate["metadata"].get("name") != name:
            raise ApiError(422, "metadata.name: Invalid value: the name of an object cannot be changed")
        # A resourceVersion in the patch is a precondition; otherwise the patch applies to the latest.
        patched_rv = candidate["metadata"].get("resourceVersion")
        if patched_rv == current["metadata"].get("resourceVersion"):
            candidate["metadata"].pop("resourceVersion", None)
        return self._update(rt, old, candidate, opts, subresource), False

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        old: dict[str, Any] | None,
        body: Any,
        opts: WriteOptions,
        subresource: str,
    ) -> tuple[dict[str, Any], bool]:
        if not opts.field_manager or opts.manager_defaulted:
            raise ApiError(
                422,
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                "is required for apply patch",
            )
        config = self._check_body(rt, namespace, body)
        if config["metadata"].get("name") not in (None, name):
            raise ApiError(400, "the name of the object does not match the name on the URL")
        config["metadata"]["name"] = name
        if not config.get("apiVersion") or not config.get("kind"):
            raise ApiError(400, "apiVersion and kind are required in an applied configuration")
        if old is None:
            if subresource:
                raise not_found(rt, name)
            created = self.create(rt, namespace, config, opts, apply=True)
            return created, True
        live = self.output(rt, old)
        if config["metadata"].get("resourceVersion") not in (None, live["metadata"]["resourceVersion"]):
            raise conflict(rt, name)
        try:
            remove, owned, _ = managedfields.plan_apply(
                live, config, opts.field_manager, subresource, rt.has_status, opts.force
            )
        except managedfields.ApplyConflict as exc:
            raise ApiError(409, str(exc), details={"causes": exc.causes()}) from exc
        candidate = clone(live)
        managedfields.remove_paths(candidate, remove)
        candidate = patching.apply_merge(candidate, {k: v for k, v in config.items() if k != "metadata"})
        candidate["metadata"] = patching.apply_merge(
            candidate.get("metadata") or {},
            {k: v for k, v in config["metadata"].items() if k not in managedfields.UNTRACKED_METADATA},
        )
        entries = managedfields.apply_entries(
            live, owned, opts.field_manager, subresource, rt.api_version, self.clock()
        )
        return self._update(rt, old, candidate, opts, subresource, managed=entries), False

    def _update(
        self,
        rt: ResourceType,
        old: dict[str, Any],
        candidate: dict[str, Any],
        opts: WriteOptions,
        subresource: str,
        managed: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        old_meta = old["metadata"]
        meta = candidate.setdefault("metadata", {})
        name = old_meta["name"]
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv not in (None, "") and wanted_rv != old_meta["resourceVersion"]:
            raise conflict(rt, name)
        if subresource == "status":
            new = clone(old)
            if "status" in candidate:
                new["status"] = candidate["status"]
            else:
                new.pop("status", None)
        elif subresource:
            raise ApiError(405, f"subresource {subresource!r} does not accept this write")
        else:
            new = candidate
            if rt.has_status:
                if "status" in old:
                    new["status"] = clone(old["status"])
                else:
                    new.pop("status", None)
        new["apiVersion"] = old.get("apiVersion", rt.api_version)
        new["kind"] = rt.kind
        meta = new.setdefault("metadata", {})
        for key in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if old_meta.get("deletionTimestamp") and _new_finalizers(old_meta, meta):
            raise ApiError(
                422,
                f'{rt.kind} "{name}" is invalid: metadata.finalizers: Forbidden: '
                "no new finalizers can be added if the object is being deleted",
            )
        meta["resourceVersion"] = old_meta["resourceVersion"]
        self._default(rt, new)  # before comparing specs: a removed defaulted field comes back unchanged
        if "generation" in old_meta:
            meta["generation"] = old_meta["generation"]
            if _spec_of(new) != _spec_of(old):
                meta["generation"] = old_meta["generation"] + 1
        new = self._validate(rt, new, opts, old)
        if managed is None:
            meta = new["metadata"]
            meta["managedFields"] = old_meta.get("managedFields") or []
            manager = opts.field_manager
            meta["managedFields"] = managedfields.record_update(
                old, new, manager, subresource, rt.has_status, rt.api_version, self.clock()
            )
        else:
            new["metadata"]["managedFields"] = managed
        if _same(old, new):
            return self.output(rt, old)  # no-op writes keep the resourceVersion, as the real server does
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            if opts.dry_run:
                return self.output(rt, new)
            gone = self._remove(rt, new["metadata"].get("namespace", ""), name)
            return self.output(rt, gone)
        return self._persist(rt, new, opts)

    # -- delete ------------------------------------------------------------------------------------
    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: dict[str, Any], dry_run: bool
    ) -> dict[str, Any]:
        old = self.store.get(rt.storage_key, namespace, name)
        if old is None:
            raise not_found(rt, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            raise ApiError(
                409,
                f"Precondition failed: UID in precondition: {pre['uid']}, "
                f"UID in object meta: {old['metadata']['uid']}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise conflict(rt, name)
        if dry_run:
            return self.output(rt, old)
        if rt.storage_key == NAMESPACE_KEY:
            return self._delete_namespace(rt, old)
        if old["metadata"].get("finalizers"):
            if old["metadata"].get("deletionTimestamp"):
                return self.output(rt, old)
            marked = clone(old)
            marked["metadata"]["deletionTimestamp"] = self.clock()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            if "generation" in marked["metadata"]:
                marked["metadata"]["generation"] += 1
            return self._persist(rt, marked, WriteOptions())
        gone = self._remove(rt, namespace, name)
        return self.output(rt, gone)

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        predicate: Predicate | None,
        options: dict[str, Any],
        dry_run: bool,
    ) -> list[dict[str, Any]]:
        out = []
        for obj in self.list_objects(rt, namespace, predicate):
            meta = obj["metadata"]
            out.append(self.delete(rt, meta.get("namespace", ""), meta["name"], options, dry_run))
        return out

    def _delete_namespace(self, rt: ResourceType, ns_obj: dict[str, Any]) -> dict[str, Any]:
        name = ns_obj["metadata"]["name"]
        marked = clone(ns_obj)
        if not marked["metadata"].get("deletionTimestamp"):
            marked["metadata"]["deletionTimestamp"] = self.clock()
            marked.setdefault("status", {})["phase"] = "Terminating"
            self._persist(rt, marked, WriteOptions())
        for storage, obj in list(self.store.namespaced_objects(name)):
            member = self.registry.storage_types().get(storage)
            if member is not None:
                self.delete(member, name, obj["metadata"]["name"], {}, False)
        self._finish_namespace(name)
        current = self.store.get(NAMESPACE_KEY, "", name) or marked
        return self.output(rt, current)

    def _finish_namespace(self, namespace: str) -> None:
        ns_obj = self.store.get(NAMESPACE_KEY, "", namespace)
        if ns_obj is None or not ns_obj["metadata"].get("deletionTimestamp"):
            return
        if next(self.store.namespaced_objects(namespace), None) is None:
            self.store.remove(NAMESPACE_KEY, "", namespace)

    def _remove(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        gone = self.store.remove(rt.storage_key, namespace, name)
        assert gone is not None
        if rt.storage_key == CRD_KEY:
            self._unregister_crd(gone)
        self._cascade(gone)
        if namespace:
            self._finish_namespace(namespace)
        return gone

    def _cascade(self, owner: dict[str, Any]) -> None:
        """Background deletion of dependents whose ownerReferences name the removed owner's uid."""
        uid = owner["metadata"].get("uid")
        namespace = owner["metadata"].get("namespace")
        types = self.registry.storage_types()
        for storage in self.store.storage_keys():
            dependent_type = types.get(storage)
            if dependent_type is None:
                continue
            for obj in self.store.list_objects(storage, namespace if dependent_type.namespaced else None):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    meta = obj["metadata"]
                    self.delete(dependent_type, meta.get("namespace", ""), meta["name"], {}, False)

    # -- helpers -----------------------------------------------------------------------------------
    def _persist(self, rt: ResourceType, obj: dict[str, Any], opts: WriteOptions) -> dict[str, Any]:
        if opts.dry_run:
            return self.output(rt, obj)
        stored = self.store.put(rt.storage_key, obj)
        if rt.storage_key == CRD_KEY:
            self._register_crd(stored)
        for hook in self.after_write:
            hook(rt, stored)
        return self.output(rt, stored)

    def _check_body(self, rt: ResourceType, namespace: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request must be a JSON or YAML object")
        obj = clone(body)
        kind = obj.get("kind")
        if kind and kind != rt.kind:
            raise ApiError(400, f"the kind of the provided object ({kind}) does not match {rt.kind}")
        api_version = obj.get("apiVersion")
        if api_version and api_version != rt.api_version:
            raise ApiError(
                400,
                f"the API version in the data ({api_version}) does not match the expected ({rt.api_version})",
            )
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise ApiError(400, "metadata must be an object")
        if rt.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return obj

    def _require_namespace(self, namespace: str) -> None:
        ns_obj = self.store.get(NAMESPACE_KEY, "", namespace)
        if ns_obj is None:
            raise ApiError(
                404, f'namespaces "{namespace}" not found', details={"name": namespace, "kind": "namespaces"}
            )
        if ns_obj["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                f"unable to create new content in namespace {namespace} because it is being terminated",
                reason="Forbidden",
            )

    def _has_generation(self, rt: ResourceType, obj: dict[str, Any]) -> bool:
        return rt.custom or "spec" in obj or rt.storage_key == CRD_KEY

    def _default(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        for key in _OMITTED_WHEN_EMPTY:  # as kube-apiserver stores ObjectMeta (omitempty)
            if meta.get(key) in ({}, []):
                del meta[key]
        if rt.storage_key == NAMESPACE_KEY:
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            if not meta.get("deletionTimestamp"):
                obj.setdefault("status", {})["phase"] = "Active"
        elif rt.storage_key in WORKLOAD_DEFAULTS:
            spec = obj.setdefault("spec", {})
            for key, value in WORKLOAD_DEFAULTS[rt.storage_key].items():
                spec.setdefault(key, clone(value))
        elif rt.custom and rt.schema:
            apply_defaults(obj, rt.schema)
        elif rt.storage_key == CRD_KEY:
            names = (obj.get("spec") or {}).get("names") or {}
            obj["status"] = {
                "acceptedNames": {k: v for k, v in names.items() if k != "listKind"}
                | {"listKind": names.get("listKind") or f"{names.get('kind', '')}List"},
                "storedVersions": [
                    v.get("name") for v in (obj.get("spec") or {}).get("versions") or [] if v.get("storage")
                ],
                "conditions": [
                    {
                        "type": "NamesAccepted",
                        "status": "True",
                        "reason": "NoConflicts",
                        "message": "no conflicts found",
                        "lastTransitionTime": meta.get("creationTimestamp"),
                    },
                    {
                        "type": "Established",
                        "status": "True",
                        "reason": "InitialNamesAccepted",
                        "message": "the initial names have been accepted",
                        "lastTransitionTime": meta.get("creationTimestamp"),
                    },
                ],
            }

    def _validate(
        self, rt: ResourceType, obj: dict[str, Any], opts: WriteOptions, old: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Check `obj` (`old`: the stored object on an update); the object pruned of unknown fields."""
        meta = obj["metadata"]
        name = meta.get("name", "")
        problems = []
        if not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
            problems.append(
                f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of '
                "lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            )
        for field_name in ("labels", "annotations"):
            values = meta.get(field_name)
            if values is not None and (
                not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
            ):
                problems.append(f"metadata.{field_name}: Invalid value: values must be strings")
        if rt.storage_key == CRD_KEY:
            problems += _crd_problems(obj)
        if rt.custom:
            pruned, errors, unknown = validate_custom(obj, rt.schema)
            if unknown and opts.field_validation == "Strict":
                fields = ", ".join(f'unknown field "{u}"' for u in unknown)
                raise ApiError(
                    400,
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                    f"strict decoding error: {fields}",
                )
            if unknown and opts.field_validation != "Ignore":
                opts.warnings += [f'unknown field "{u}"' for u in unknown]
            problems += errors
            obj = pruned
            if any(is_type_error(e) for e in errors):
                problems.append(CEL_BLOCKED)
            elif self.crd_validation_rules:
                problems += RULES.violations(obj, rt.schema, old)
        if problems:
            raise invalid(rt, name, problems)
        return obj

    def _register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        newly_served = not any(rt.storage_key == (group, plural) for rt in self.registry)
        self.registry.remove_custom(group, plural)
        for rt in crd_types(crd):
            self.registry.add(rt)
        if newly_served:  # as kube-apiserver's watch cache for the kind starts here
            self.store.start_watch_window((group, plural))

    def _unregister_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        for obj in self.store.list_objects((group, plural)):
            meta = obj["metadata"]
            self.store.remove((group, plural), meta.get("namespace", ""), meta["name"])
        self.registry.remove_custom(group, plural)


_OMITTED_WHEN_EMPTY = ("labels", "annotations", "finalizers", "ownerReferences")


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _new_finalizers(old_meta: dict[str, Any], meta: dict[str, Any]) -> bool:
    return bool(set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """No change but managedFields timestamps: a no-op write (kube-apiserver ignores such timestamps). A
    manager that only gains ownership (applying the values already there) is a change."""

    def strip(o: dict[str, Any]) -> dict[str, Any]:
        meta = {k: v for k, v in o["metadata"].items() if k not in ("managedFields", "resourceVersion")}
        meta["managedFields"] = [
            {k: v for k, v in e.items() if k != "time"} for e in o["metadata"].get("managedFields") or []
        ]
        return {**{k: v for k, v in o.items() if k not in ("metadata", "apiVersion")}, "metadata": meta}

    return strip(old) == strip(new)


def _crd_problems(crd: dict[str, Any]) -> list[str]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    problems = []
    for key in ("plural", "kind"):
        if not names.get(key):
            problems.append(f"spec.names.{key}: Required value")
    if not spec.get("group"):
        problems.append("spec.group: Required value")
    if not spec.get("versions"):
        problems.append(
            "spec.versions: Invalid value: must have exactly one version marked as storage version"
        )
    expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
    if crd["metadata"].get("name") != expected:
        problems.append(
            f'metadata.name: Invalid value: "{crd["metadata"].get("name")}": '
            'must be spec.names.plural+"."+spec.group'
        )
    for n, version in enumerate(spec.get("versions") or []):
        schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema")
        problems += RULES.compile_problems(schema, f"spec.versions[{n}].schema.openAPIV3Schema")
    return problems
