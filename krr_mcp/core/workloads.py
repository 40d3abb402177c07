"""Pure helpers over workload objects as the API server returns them (plain dicts).

Where each kind keeps its containers, and CPU/memory compared by value (`1000m` == `1`,
`1Gi` == `1024Mi`): the operator never compares quantity spellings.
"""

from __future__ import annotations

import json
from typing import Any

from krr_mcp.api.quantities import QuantityError
from krr_mcp.api.resource_recommendation import ContainerResources
from krr_mcp.api.workload_kinds import WORKLOAD_KINDS

from .safety.resources import KINDS, RESOURCES, amounts_of

SECTIONS = KINDS  # "requests", "limits"

# Keys from the workload's root to its pod spec. initContainers are never touched.
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    kind: (*info.template_path, "spec") for kind, info in WORKLOAD_KINDS.items()
}

WORKLOAD_PLURALS: dict[str, str] = {kind: info.plural for kind, info in WORKLOAD_KINDS.items()}


class UnknownKind(ValueError):
    """A workload kind the operator does not know how to patch."""


def supported_kinds() -> list[str]:
    return list(_POD_SPEC_PATHS)


def pod_spec_path(kind: str) -> tuple[str, ...]:
    """The keys from the workload's root to its pod spec; UnknownKind when the kind is not supported."""
    try:
        return _POD_SPEC_PATHS[kind]
    except KeyError:
        raise UnknownKind(
            f"unsupported workload kind {kind!r}; supported: {', '.join(_POD_SPEC_PATHS)}"
        ) from None


def containers_pointer(kind: str) -> str:
    """The JSON pointer (RFC 6901) to the pod template's `containers` list for `kind`."""
    return "/" + "/".join((*pod_spec_path(kind), "containers"))


def containers_of(workload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The workload's (regular) containers; [] when the template has none."""
    node: Any = workload
    for key in pod_spec_path(kind):
        node = node.get(key) if isinstance(node, dict) else None
    found = node.get("containers") if isinstance(node, dict) else None
    return found if isinstance(found, list) else []


def find_container(workload: dict[str, Any], kind: str, name: str) -> tuple[int, dict[str, Any]] | None:
    """(index, container) of the container called `name`, or None."""
    for index, container in enumerate(containers_of(workload, kind)):
        if isinstance(container, dict) and container.get("name") == name:
            return index, container
    return None


def same_cpu_memory(
    a: dict[str, Any] | ContainerResources | None, b: dict[str, Any] | ContainerResources | None
) -> bool:
    """True when both set the same CPU/memory requests and limits, compared by value."""
    try:
        return amounts_of(a) == amounts_of(b)
    except QuantityError:
        return False


def describe(resources: dict[str, Any] | ContainerResources | None) -> str:
    """`req cpu=250m memory=256Mi, lim memory=512Mi`: the one describer of a container's amounts (the
    operator's messages and printer columns, the bridge's previews and confirmations)."""
    if isinstance(resources, ContainerResources):
        resources = resources.model_dump(exclude_none=True)
    parts = []
    for section, short in (("requests", "req"), ("limits", "lim")):
        values = (resources or {}).get(section) or {}
        shown = " ".join(f"{r}={values[r]}" for r in RESOURCES if values.get(r) is not None)
        parts.append(f"{short} {shown or '-'}")
    return ", ".join(parts)


Leaf = tuple[str, str]  # (section, resource), e.g. ("requests", "cpu")


def changed_leaves(
    before: dict[str, Any] | ContainerResources | None, after: dict[str, Any] | ContainerResources | None
) -> set[Leaf]:
    """The CPU/memory values `after` sets to something other than `before` (removed ones are not leaves)."""
    try:
        old, new = amounts_of(before), amounts_of(after)
    except QuantityError:
        return set()
    return {(s, r) for s in SECTIONS for r in RESOURCES if new.get(s, r) not in (None, old.get(s, r))}


def resource_owners(workload: dict[str, Any], kind: str, container: str) -> dict[Leaf, set[str]] | None:
    """Who owns each CPU/memory value of `container` by the workload's managedFields (the main resource's
    entries): the field manager that last changed it. None when the object carries no managedFields."""
    entries = (workload.get("metadata") or {}).get("managedFields")
    if not isinstance(entries, list) or not entries:
        return None
    owners: dict[Leaf, set[str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("subresource"):
            continue
        node: Any = entry.get("fieldsV1") or {}
        for key in (*pod_spec_path(kind), "containers"):
            node = node.get(f"f:{key}") if isinstance(node, dict) else None
        items = node if isinstance(node, dict) else {}
        item = next((v for k, v in items.items() if _names_item(k, container)), None)
        resources = item.get("f:resources") if isinstance(item, dict) else None
        for section in SECTIONS:
            values = resources.get(f"f:{section}") if isinstance(resources, dict) else None
            for resource in RESOURCES:
                if isinstance(values, dict) and f"f:{resource}" in values:
                    owners.setdefault((section, resource), set()).add(str(entry.get("manager", "")))
    return owners


def _names_item(key: str, name: str) -> bool:
    """True for the managedFields key of the list item named `name` (k:{"name":"app"})."""
    if not key.startswith("k:"):
        return False
    try:
        return json.loads(key[2:]) == {"name": name}
    except ValueError:
        return False
