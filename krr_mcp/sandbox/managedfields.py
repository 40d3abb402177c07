"""metadata.managedFields bookkeeping: which field manager owns which fields (FieldsV1), updated on every
write, and the ownership rules of server-side apply (conflicts, removal of fields a manager stops applying).

An approximation of the real structured-merge-diff: leaf paths of maps, lists with a known merge key
(items as `k:{...}`), lists of scalars merged as sets (`v:...`); any other list is one atomic leaf. A
manager also owns a node itself (a map, list or list item: `".": {}` in FieldsV1, `(*node, ".")` here)
when its Update created that node, and an applier owns the list items it applies.
"""

from __future__ import annotations

import json
from typing import Any

from .patching import MERGE_SCALAR_LISTS, merge_key_for

Path = tuple[str, ...]

UNTRACKED_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generateName",
        "selfLink",
    }
)


def tracked(obj: dict[str, Any], subresource: str, status_separate: bool) -> dict[str, Any]:
    """The part of an object a write through `subresource` ("" or "status") can own."""
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    if status_separate:
        out.pop("status", None)
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in UNTRACKED_METADATA}
    if meta:
        out["metadata"] = meta
    return out


def _item_element(item: Any, key: str | None) -> str:
    if key is not None and isinstance(item, dict):
        return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"), sort_keys=True)
    return "v:" + json.dumps(item, separators=(",", ":"), sort_keys=True)


def _label_selector(value: Any) -> bool:
    """A metav1.LabelSelector (matchLabels/matchExpressions): an atomic struct, owned as one field."""
    return (
        isinstance(value, dict)
        and bool(value)
        and set(value) <= {"matchLabels", "matchExpressions"}
        and isinstance(value.get("matchLabels", {}), dict)
        and isinstance(value.get("matchExpressions", []), list)
    )


def leaf_paths(node: Any, prefix: Path = ()) -> dict[Path, Any]:
    """Every owned leaf of `node` with its value (a label selector is one leaf, as it is atomic)."""
    out: dict[Path, Any] = {}
    if isinstance(node, dict) and node and not (prefix and _label_selector(node)):
        for key, value in node.items():
            path = (*prefix, f"f:{key}")
            if isinstance(value, list):
                out.update(_list_paths(key, value, path))
            else:
                out.update(leaf_paths(value, path))
        return out
    out[prefix] = node
    return out


def _list_paths(field: str, items: list[Any], path: Path) -> dict[Path, Any]:
    key = merge_key_for(field, items)
    if key is not None and all(isinstance(i, dict) for i in items) and items:
        out: dict[Path, Any] = {}
        for item in items:
            out.update(leaf_paths(item, (*path, _item_element(item, key))))
        return out
    if field in MERGE_SCALAR_LISTS and items:
        return {(*path, _item_element(i, None)): True for i in items}
    return {path: items}


NODE = "."  # the last element of a path that stands for the node itself (FieldsV1's ".")


def node_markers(leaves: Any, items_only: bool = False) -> set[Path]:
    """The nodes above `leaves` (maps, lists, list items), as (*node, "."); only the list items with
    `items_only`. metadata itself is never owned."""
    nodes = {leaf[:n] for leaf in leaves for n in range(1, len(leaf))}
    nodes.discard(("f:metadata",))
    if items_only:
        nodes = {n for n in nodes if n[-1][:2] in ("k:", "v:")}
    return {(*n, NODE) for n in nodes}


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for element in path:
            node = node.setdefault(element, {})
    return root


def from_fields_v1(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for element, child in (fields or {}).items():
        path = (*prefix, element)
        if child:
            out |= from_fields_v1(child, path)
        else:
            out.add(path)
    return out


def changed_paths(old: dict[Path, Any], new: dict[Path, Any]) -> set[Path]:
    return {p for p in old.keys() | new.keys() if old.get(p, _MISSING) != new.get(p, _MISSING)}


_MISSING = object()


def _overlaps(a: Path, b: Path) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _minus(owned: set[Path], drop: set[Path]) -> set[Path]:
    return {p for p in owned if not any(_overlaps(p, d) for d in drop)}


def _entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _entry_id(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry.get("manager", ""), entry.get("operation", ""), entry.get("subresource", ""))


def _rebuild(
    entries: list[dict[str, Any]],
    owned: dict[tuple[str, str, str], set[Path]],
    mine: tuple[str, str, str],
    api_version: str,
    now: str,
) -> list[dict[str, Any]]:
    out = []
    seen = set()
    for entry in entries:
        ident = _entry_id(entry)
        seen.add(ident)
        paths = owned.get(ident, set())
        if not paths:
            continue
        updated = dict(entry, fieldsType="FieldsV1", fieldsV1=to_fields_v1(paths))
        if ident == mine:
            updated.update(apiVersion=api_version, time=now)
        out.append(updated)
    if mine not in seen and owned.get(mine):
        manager, operation, subresource = mine
        entry = {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": now,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(owned[mine]),
        }
        if subresource:
            entry["subresource"] = subresource
        out.append(entry)
    return sorted(out, key=_entry_order)


def _entry_order(entry: dict[str, Any]) -> tuple[str, ...]:
    """kube-apiserver's order of managedFields: operation (Apply first), time, manager, apiVersion,
    subresource."""
    fields = ("operation", "time", "manager", "apiVersion", "subresource")
    return tuple(str(entry.get(f, "")) for f in fields)


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    subresource: str,
    status_separate: bool,
    api_version: str,
    now: str,
    operation: str = "Update",
) -> list[dict[str, Any]]:
    """managedFields after a write: `manager` takes every field the write changed (operation "Apply"
    only for a server-side apply that creates the object)."""
    old_leaves = leaf_paths(tracked(old, subresource, status_separate)) if old else {}
    new_leaves = leaf_paths(tracked(new, subresource, status_separate))
    changed = {p for p in changed_paths(old_leaves, new_leaves) if p in new_leaves and p != ()}
    if operation == "Apply":  # a create by apply: the applied list items, as any apply
        changed |= node_markers(changed, items_only=True)
    else:  # the nodes this write created (an empty map or list that was there is not created)
        existed = node_markers(old_leaves) | {(*leaf, NODE) for leaf in old_leaves}
        changed |= node_markers(new_leaves) - existed
    entries = _entries(old) if old else []
    mine = (manager, operation, subresource)
    owned = {_entry_id(e): from_fields_v1(e.get("fieldsV1") or {}) for e in entries}
    present = set(new_leaves)
    for ident, paths in owned.items():
        if ident != mine and ident[2] == subresource:  # entries of the other endpoint stay as they are
            owned[ident] = {p for p in _minus(paths, changed) if _present(p, present)}
    owned[mine] = {p for p in owned.get(mine, set()) | changed if _present(p, present)}
    return _rebuild(entries, owned, mine, api_version, now)


def _present(path: Path, present: set[Path]) -> bool:
    if path and path[-1] == NODE:  # a node is there while something is below it
        node = path[:-1]
        return any(len(p) > len(node) and p[: len(node)] == node for p in present)
    return any(_overlaps(path, p) for p in present)


class ApplyConflict(Exception):
    """Server-side apply would change fields other managers own: kube-apiserver's message and causes."""

    def __init__(self, conflicts: list[tuple[dict[str, Any], Path]]) -> None:
        """`conflicts`: (the other manager's managedFields entry, the field) pairs."""
        self.conflicts = conflicts
        if len(conflicts) == 1:
            ((entry, path),) = conflicts
            message = (
                f"Apply failed with 1 conflict: conflict with {_manager_text(entry)}: {render_path(path)}"
            )
        else:
            lines = []
            by_manager = {_manager_id(e): e for e, _ in conflicts}
            for ident in sorted(by_manager):
                lines.append(f"conflicts with {_manager_text(by_manager[ident])}:")
                lines.extend(
                    f"- {render_path(p)}" for p in sorted(p for e, p in conflicts if _manager_id(e) == ident)
                )
            message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
        super().__init__(message)

    def causes(self) -> list[dict[str, str]]:
        """The Status causes: one FieldManagerConflict per (manager, field)."""
        return [
            {
                "reason": "FieldManagerConflict",
                "message": f"conflict with {_manager_text(entry)}",
                "field": render_path(path),
            }
            for entry, path in self.conflicts
        ]


def _manager_id(entry: dict[str, Any]) -> str:
    """kube-apiserver's manager identifier (the entry as JSON, without time; appliers without
    apiVersion): what it sorts conflicts by."""
    ident: dict[str, Any] = {"manager": entry.get("manager", ""), "operation": entry.get("operation", "")}
    if entry.get("operation") != "Apply":
        ident["apiVersion"] = entry.get("apiVersion", "")
    if entry.get("subresource"):
        ident["subresource"] = entry["subresource"]
    return json.dumps(ident, separators=(",", ":"))


def _manager_text(entry: dict[str, Any]) -> str:
    """How kube-apiserver names a manager in a conflict: "m", "m" with subresource "s", "m" using v1."""
    text = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") != "Apply":
        text += f" using {entry.get('apiVersion', '')}"
    return text


def render_path(path: Path) -> str:
    """A field path as kube-apiserver prints it: .spec.containers[name="app"].image, .args[="x"]."""
    parts = []
    for element in path:
        if element.startswith("f:"):
            parts.append("." + element[2:])
        elif element.startswith("k:"):
            keys = json.loads(element[2:])
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        else:
            parts.append("[=" + element[2:] + "]")
    return "".join(parts)


def plan_apply(
    live: dict[str, Any],
    config: dict[str, Any],
    manager: str,
    subresource: str,
    status_separate: bool,
    force: bool,
) -> tuple[set[Path], dict[tuple[str, str, str], set[Path]], set[Path]]:
    """Ownership after applying `config`: (paths to remove from the live object, new owner map, applied
    paths). Raises ApplyConflict when another manager owns a field the config sets to another value."""
    applied = leaf_paths(tracked(config, subresource, status_separate))
    applied.pop((), None)
    live_leaves = leaf_paths(tracked(live, subresource, status_separate))
    entries = _entries(live)
    owned = {_entry_id(e): from_fields_v1(e.get("fieldsV1") or {}) for e in entries}
    mine = (manager, "Apply", subresource)
    conflicts: list[tuple[dict[str, Any], Path]] = []
    by_ident = {_entry_id(e): e for e in entries}
    forced: set[Path] = set()
    for path, value in applied.items():
        if live_leaves.get(path, _MISSING) == value:
            continue
        for ident, paths in owned.items():
            if ident == mine or ident[2] != subresource:
                continue
            if any(_overlaps(path, p) for p in paths):
                conflicts.append((by_ident[ident], path))
                forced.add(path)
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    others: set[Path] = set()
    for ident, paths in owned.items():
        if ident != mine:
            owned[ident] = _minus(paths, forced)
            others |= owned[ident]
    previously = owned.get(mine, set())
    remove = {
        p for p in previously - set(applied) if p[-1] != NODE and not any(_overlaps(p, o) for o in others)
    }
    owned[mine] = set(applied) | node_markers(applied, items_only=True)
    return remove, owned, set(applied)


def apply_entries(
    live: dict[str, Any],
    owned: dict[tuple[str, str, str], set[Path]],
    manager: str,
    subresource: str,
    api_version: str,
    now: str,
) -> list[dict[str, Any]]:
    return _rebuild(_entries(live), owned, (manager, "Apply", subresource), api_version, now)


def remove_paths(obj: dict[str, Any], paths: set[Path]) -> None:
    """Delete the given leaf paths from `obj` in place (missing paths are ignored)."""
    for path in sorted(paths, key=len, reverse=True):
        _remove(obj, path)


def _remove(node: Any, path: Path) -> None:
    if not path:
        return
    element, rest = path[0], path[1:]
    if isinstance(node, dict) and element.startswith("f:"):
        key = element[2:]
        if key not in node:
            return
        if rest:
            _remove(node[key], rest)
            if node[key] in ({}, []):
                del node[key]
        else:
            del node[key]
    elif isinstance(node, list) and element[:2] in ("k:", "v:"):
        for n, item in enumerate(node):
            if _item_matches(item, element):
                if rest:
                    _remove(item, rest)
                    if isinstance(item, dict) and (not item or set(item) <= _key_fields(element)):
                        del node[n]
                else:
                    del node[n]
                return


def _key_fields(element: str) -> set[str]:
    return set(json.loads(element[2:])) if element.startswith("k:") else set()


def _item_matches(item: Any, element: str) -> bool:
    wanted = json.loads(element[2:])
    if element.startswith("k:"):
        return isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items())
    return bool(item == wanted)
