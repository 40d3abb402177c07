"""Pure: the workload as it would be after an RR's change (or its rollback), as a unified YAML diff."""

from __future__ import annotations

import copy
import difflib
from typing import Any

import yaml

from krr_mcp.core.patches import desired_resources
from krr_mcp.core.workloads import UnknownKind, containers_of

from .errors import Refused


def with_resources(
    workload: dict[str, Any], per_container: dict[str, dict[str, Any]], restoring: bool = False
) -> dict[str, Any]:
    """A copy of `workload` whose named containers get exactly these cpu/memory requests and limits,
    computed as the operator does (other resource names stay; `restoring` keeps the empty sections a
    rollback snapshot had, so a restore reproduces it exactly)."""
    changed = copy.deepcopy(workload)
    try:
        containers = {c.get("name"): c for c in containers_of(changed, str(workload.get("kind")))}
    except UnknownKind as exc:
        raise Refused(str(exc)) from None
    missing = sorted(set(per_container) - set(containers))
    if missing:
        raise Refused(f"the workload has no container named {', '.join(missing)} (it drifted)")
    for name, wanted in per_container.items():
        container = containers[name]
        keep = wanted if restoring else None
        resources = desired_resources(container.get("resources"), wanted, keep_empty_sections_of=keep)
        if resources or "resources" in container:
            container["resources"] = resources
    return changed


def proposed_resources(rr: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c.get("proposed") or {} for c in (rr.get("spec") or {}).get("containers") or []}


def rollback_resources(rr: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `before` of the last apply in status.history: what a rollback restores."""
    applies = [e for e in (rr.get("status") or {}).get("history") or [] if e.get("action") == "apply"]
    if not applies:
        raise Refused("the recommendation has no applied change in its history; nothing to roll back")
    return {c["name"]: c.get("before") or {} for c in applies[-1].get("containers") or []}


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    shown = copy.deepcopy(obj)
    shown.pop("status", None)
    (shown.get("metadata") or {}).pop("managedFields", None)
    return shown


def unified_diff(before: dict[str, Any], after: dict[str, Any], label: str) -> str:
    """`kubectl diff`-style unified diff of two objects as YAML ('' when equal)."""
    old = yaml.safe_dump(_clean(before), sort_keys=True).splitlines(keepends=True)
    new = yaml.safe_dump(_clean(after), sort_keys=True).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, fromfile=f"live/{label}", tofile=f"proposed/{label}"))
