"""Patch flavours the API server accepts: JSON merge patch (RFC 7386), JSON patch (RFC 6902, via the
`jsonpatch` library), strategic merge patch (lists of known kinds merged by key) and the merge step of
server-side apply. All functions are pure: they return new data and never mutate their inputs.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

# What kube-apiserver answers (422 Invalid, empty details) for any JSON patch operation that fails,
# a `test` included: it keeps the json-patch library's own error out of the answer.
JSON_PATCH_FAILED = "the server rejected our request due to an error in our request"


class PatchError(ValueError):
    """A patch that cannot be applied; `code` is the HTTP status the server answers with, `details`
    the Status details (None: none)."""

    def __init__(self, message: str, code: int = 422, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 with `test`; an operation that fails raises PatchError (422 with kube-apiserver's own
    message, JSON_PATCH_FAILED) and leaves `target` untouched."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations", 400)
    try:
        result = jsonpatch.apply_patch(target, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:  # `test` failures too
        raise PatchError(JSON_PATCH_FAILED, details={}) from exc
    except (TypeError, KeyError, IndexError, AttributeError) as exc:
        raise PatchError(f"invalid JSON patch: {exc}", 400) from exc
    if not isinstance(result, dict):
        raise PatchError("a JSON patch must leave an object")
    return result


# patchMergeKey of list fields in the built-in types (by field name; good enough for the kinds served).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
# Lists of scalars merged as sets (patchStrategy: merge).
MERGE_SCALAR_LISTS = frozenset({"finalizers"})


def merge_key_for(field: str, items: list[Any]) -> str | None:
    """The key that identifies items of list `field`, or None for an atomic list."""
    if field == "ports":
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return MERGE_KEYS.get(field)


def _merge_keyed_list(
    field: str, original: list[Any], patch: list[Any], key: str, order: list[Any] | None
) -> list[Any]:
    result = [copy.deepcopy(i) for i in original]
    index = {i.get(key): n for n, i in enumerate(result) if isinstance(i, dict)}
    deleted: set[Any] = set()
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"strategic merge patch: items of {field} must be objects", 400)
        directive = item.get("$patch")
        ident = item.get(key)
        if directive == "delete":
            deleted.add(ident)
            continue
        body = {k: v for k, v in item.items() if k != "$patch"}
        if ident in index:
            result[index[ident]] = strategic_merge(result[index[ident]], body)
        else:
            index[ident] = len(result)
            result.append(strategic_merge({}, body))
    result = [i for i in result if not (isinstance(i, dict) and i.get(key) in deleted)]
    if order:
        wanted = [o.get(key) for o in order if isinstance(o, dict)]
        rank = {ident: n for n, ident in enumerate(wanted)}
        result.sort(key=lambda i: rank.get(i.get(key), len(rank)) if isinstance(i, dict) else len(rank))
    return result


def strategic_merge(original: Any, patch: Any) -> Any:
    """Strategic merge patch: like a merge patch, but lists with a known merge key are merged item by item
    and the `$patch`, `$setElementOrder/...`, `$retainKeys`, `$deleteFromPrimitiveList/...` directives
    are honoured."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    orders = {k.split("/", 1)[1]: v for k, v in patch.items() if k.startswith("$setElementOrder/")}
    for key, value in patch.items():
        if key.startswith("$"):
            if key.startswith("$deleteFromPrimitiveList/"):
                field = key.split("/", 1)[1]
                drop = set(value or [])
                result[field] = [v for v in result.get(field) or [] if v not in drop]
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, list):
            merge_key = merge_key_for(key, value + (current if isinstance(current, list) else []))
            if merge_key and isinstance(current, list):
                result[key] = _merge_keyed_list(key, current, value, merge_key, orders.get(key))
            elif merge_key:
                result[key] = _merge_keyed_list(key, [], value, merge_key, orders.get(key))
            elif key in MERGE_SCALAR_LISTS and isinstance(current, list):
                result[key] = current + [v for v in value if v not in current]
            else:
                result[key] = copy.deepcopy(value)
        elif isinstance(value, dict):
            merged = strategic_merge(current, value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def apply_merge(original: Any, config: Any) -> Any:
    """Server-side apply's merge of an applied configuration onto the live object: maps merge, lists
    with a known key merge by key, other lists and scalars are replaced."""
    return strategic_merge(original, config)
