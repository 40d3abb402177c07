"""Pure: the workload as it would be after an RR's change (or its rollback), as a unified YAML diff."""

from __future__ import annotations

import copy
import difflib
from typing import Any

import yaml

from .errors import Refused

RESOURCES = ("cpu", "memory")


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod spec inside a Deployment/StatefulSet/DaemonSet (spec.template) or CronJob (jobTemplate)."""
    spec = workload.get("spec") or {}
    if workload.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _set_resources(container: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Make cpu/memory requests and limits exactly `wanted` (absent = unset); other resources stay."""
    resources = container.setdefault("resources", {})
    for section in ("requests", "limits"):
        values = dict(resources.get(section) or {})
        for name in RESOURCES:
            value = (wanted.get(section) or {}).get(name)
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        if values:
            resources[section] = values
        else:
            resources.pop(section, None)


def with_resources(workload: dict[str, Any], per_container: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A copy of `workload` whose named containers get the given cpu/memory requests and limits."""
    changed = copy.deepcopy(workload)
    containers = {c.get("name"): c for c in pod_spec(changed).get("containers") or []}
    missing = sorted(set(per_container) - set(containers))
    if missing:
        raise Refused(f"the workload has no container named {', '.join(missing)} (it drifted)")
    for name, wanted in per_container.items():
        _set_resources(containers[name], wanted)
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
