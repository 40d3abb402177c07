"""Pure: the RFC 6902 JSON patch that moves named containers' CPU/memory from `before` to `after`.

Every touched container gets `test` operations on its name and on its whole current `resources`, so
the API server applies the patch only to exactly the object the decision was made against; a
concurrent edit makes it fail (422) instead of being overwritten. Only `resources.requests|limits`
`cpu`/`memory` keys of regular containers change; initContainers and other resource names never do.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from krr_mcp.api.resource_recommendation import ContainerChange, ContainerResources

from .workloads import RESOURCES, SECTIONS, containers_pointer, find_container

JsonPatch = list[dict[str, Any]]


class PatchError(ValueError):
    """The patch cannot be built against this workload (container gone, or not what was decided on)."""


def desired_resources(
    live: dict[str, Any] | None,
    target: ContainerResources | dict[str, Any],
    keep_empty_sections_of: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`live` with its CPU/memory requests and limits replaced by `target`'s (absent there = removed).

    Other resource names (ephemeral-storage, GPUs, claims) are kept as they are. A section left empty
    is dropped, unless `keep_empty_sections_of` (the state being restored) has it, so that a rollback
    reproduces the original object exactly.
    """
    if isinstance(target, ContainerResources):
        target = target.model_dump(exclude_none=True)
    result = copy.deepcopy(live or {})
    reference = keep_empty_sections_of if keep_empty_sections_of is not None else (live or {})
    for section in SECTIONS:
        values = dict(result.get(section) or {})
        wanted = target.get(section) or {}
        for resource in RESOURCES:
            if wanted.get(resource) is not None:
                values[resource] = str(wanted[resource])
            else:
                values.pop(resource, None)
        if values or section in reference:
            result[section] = values
        else:
            result.pop(section, None)
    return result


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _resources_ops(pointer: str, before: dict[str, Any], after: dict[str, Any]) -> JsonPatch:
    ops: JsonPatch = []
    for section in SECTIONS:
        path = f"{pointer}/{section}"
        if section in after and section not in before:
            ops.append({"op": "add", "path": path, "value": after[section]})
        elif section in before and section not in after:
            ops.append({"op": "remove", "path": path})
        elif section in before:
            old, new = before[section] or {}, after[section] or {}
            if not isinstance(before[section], dict):
                ops.append({"op": "replace", "path": path, "value": new})
                continue
            for key in sorted(set(old) | set(new)):
                if key in new and (key not in old or old[key] != new[key]):
                    ops.append({"op": "add", "path": f"{path}/{_escape(key)}", "value": new[key]})
                elif key in old and key not in new:
                    ops.append({"op": "remove", "path": f"{path}/{_escape(key)}"})
    return ops


def json_patch(kind: str, workload: dict[str, Any], changes: Sequence[ContainerChange]) -> JsonPatch:
    """The JSON patch applying `changes` (before -> after per container) to `workload` of `kind`.

    Raises PatchError when a container is missing or its live `resources` is not `before`.
    """
    ops: JsonPatch = []
    base = containers_pointer(kind)
    for change in changes:
        found = find_container(workload, kind, change.name)
        if found is None:
            raise PatchError(f"container {change.name!r} is not in the {kind}'s pod template")
        index, container = found
        pointer = f"{base}/{index}"
        live = container.get("resources")
        if (live or {}) != change.before:
            raise PatchError(f"container {change.name!r}: live resources differ from the decided snapshot")
        ops.append({"op": "test", "path": f"{pointer}/name", "value": change.name})
        if live is None:
            if change.after:
                ops.append({"op": "add", "path": f"{pointer}/resources", "value": change.after})
            continue
        ops.append({"op": "test", "path": f"{pointer}/resources", "value": live})
        ops.extend(_resources_ops(f"{pointer}/resources", live, change.after))
    return ops
