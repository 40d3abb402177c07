"""Server-side Table output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which `kubectl get`
prints: the columns of the built-in kinds, CRD additionalPrinterColumns (with -o wide priority columns),
and a small JSONPath evaluator for CRD column paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .resources import PrinterColumn, ResourceType

Cell = Any
Row = Callable[[dict[str, Any]], list[Cell]]


def human_age(timestamp: str | None, now: datetime | None = None) -> str:
    """The API server's short duration form: 45s, 12m, 3h, 5d, 2y."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


# -- JSONPath (the subset CRD printer columns use) ------------------------------------------------------
_TOKEN_RE = re.compile(
    r"\.([A-Za-z0-9_$-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.]+)\s*==\s*[\"']([^\"']*)[\"']\)\]|\.\*"
)


def jsonpath(obj: Any, path: str) -> list[Any]:
    """All values `path` selects (`.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.type=="Ready")].status`)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    nodes = [obj]
    pos = 0
    while pos < len(path):
        m = _TOKEN_RE.match(path, pos)
        if not m:
            return []
        pos = m.end()
        name, index, filter_key, filter_value = m.groups()
        nxt: list[Any] = []
        for node in nodes:
            if name is not None:
                if isinstance(node, dict) and name in node:
                    nxt.append(node[name])
            elif index is not None:
                if isinstance(node, list):
                    if index == "*":
                        nxt.extend(node)
                    elif int(index) < len(node):
                        nxt.append(node[int(index)])
            elif filter_key is not None:
                if isinstance(node, list):
                    for item in node:
                        got = jsonpath(item, "." + filter_key)
                        if got and str(got[0]) == filter_value:
                            nxt.append(item)
            elif isinstance(node, dict):
                nxt.extend(node.values())
        nodes = nxt
    return nodes


def _format_value(value: Any, column: PrinterColumn) -> Cell:
    if column.type == "date" and isinstance(value, str):
        return human_age(value)
    if column.type == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if column.type == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    if column.type == "boolean":
        return bool(value)
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return value


def _custom_cells(obj: dict[str, Any], columns: tuple[PrinterColumn, ...]) -> list[Cell]:
    cells: list[Cell] = []
    for column in columns:
        values = jsonpath(obj, column.json_path)
        if not values:
            cells.append(None)
        elif len(values) == 1:
            cells.append(_format_value(values[0], column))
        else:
            cells.append(",".join(str(_format_value(v, column)) for v in values))
    return cells


# -- built-in kinds ---------------------------------------------------------------------------------------
def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _age(obj: dict[str, Any]) -> str:
    return human_age(_meta(obj).get("creationTimestamp"))


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    pod_spec = ((spec.get("template") or {}).get("spec")) or {}
    return list(pod_spec.get("containers") or [])


def _names(obj: dict[str, Any]) -> str:
    return ",".join(c.get("name", "") for c in _containers(obj))


def _images(obj: dict[str, Any]) -> str:
    return ",".join(c.get("image", "") for c in _containers(obj))


def _selector(obj: dict[str, Any]) -> str:
    sel = (obj.get("spec") or {}).get("selector") or {}
    labels = sel.get("matchLabels") or {}
    parts = [f"{k}={v}" for k, v in sorted(labels.items())]
    return ",".join(parts) or "<none>"


def _num(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _deploy(o: dict[str, Any]) -> list[Cell]:
    s = _status(o)
    want = (o.get("spec") or {}).get("replicas", 1)
    return [
        f"{_num(s.get('readyReplicas'))}/{want}",
        _num(s.get("updatedReplicas")),
        _num(s.get("availableReplicas")),
        _age(o),
        _names(o),
        _images(o),
        _selector(o),
    ]


def _sts(o: dict[str, Any]) -> list[Cell]:
    want = (o.get("spec") or {}).get("replicas", 1)
    return [f"{_num(_status(o).get('readyReplicas'))}/{want}", _age(o), _names(o), _images(o)]


def _ds(o: dict[str, Any]) -> list[Cell]:
    s = _status(o)
    node_selector = ((o.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeSelector") or {}
    return [
        _num(s.get("desiredNumberScheduled")),
        _num(s.get("currentNumberScheduled")),
        _num(s.get("numberReady")),
        _num(s.get("updatedNumberScheduled")),
        _num(s.get("numberAvailable")),
        ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>",
        _age(o),
        _names(o),
        _images(o),
        _selector(o),
    ]


def _cronjob(o: dict[str, Any]) -> list[Cell]:
    spec = o.get("spec") or {}
    s = _status(o)
    last = s.get("lastScheduleTime")
    return [
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        bool(spec.get("suspend", False)),
        len(s.get("active") or []),
        human_age(last) if last else "<none>",
        _age(o),
        _names(o),
        _images(o),
        _selector(o),
    ]


def _hpa(o: dict[str, Any]) -> list[Cell]:
    spec = o.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    targets = []
    for metric in spec.get("metrics") or []:
        res = metric.get("resource") or {}
        target = res.get("target") or {}
        if "averageUtilization" in target:
            targets.append(f"{res.get('name', '')}: <unknown>/{target['averageUtilization']}%")
    return [
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        ", ".join(targets) or "<none>",
        spec.get("minReplicas", 1),
        spec.get("maxReplicas", 0),
        _num(_status(o).get("currentReplicas")),
        _age(o),
    ]


def _pod(o: dict[str, Any]) -> list[Cell]:
    s = _status(o)
    statuses = s.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(_num(c.get("restartCount")) for c in statuses)
    total = len((o.get("spec") or {}).get("containers") or [])
    return [
        f"{ready}/{total}",
        s.get("phase", "Pending"),
        restarts,
        _age(o),
        s.get("podIP") or "<none>",
        (o.get("spec") or {}).get("nodeName") or "<none>",
    ]


def _event(o: dict[str, Any]) -> list[Cell]:
    inv = o.get("involvedObject") or o.get("regarding") or {}
    last = o.get("lastTimestamp") or o.get("eventTime") or _meta(o).get("creationTimestamp")
    return [
        human_age(last),
        o.get("type", ""),
        o.get("reason", ""),
        f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}",
        o.get("message") or o.get("note") or "",
    ]


def _col(name: str, type_: str = "string", priority: int = 0, fmt: str = "") -> PrinterColumn:
    return PrinterColumn(name=name, type=type_, priority=priority, format=fmt)


NAME = PrinterColumn(name="Name", type="string", format="name", description="Name of the object")
AGE = _col("Age")
WIDE_WORKLOAD = (_col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1))

BUILTIN_TABLES: dict[tuple[str, str], tuple[tuple[PrinterColumn, ...], Row]] = {
    ("apps", "deployments"): (
        (_col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE, *WIDE_WORKLOAD),
        _deploy,
    ),
    ("apps", "statefulsets"): ((_col("Ready"), AGE, *WIDE_WORKLOAD[:2]), _sts),
    ("apps", "daemonsets"): (
        (
            _col("Desired", "integer"),
            _col("Current", "integer"),
            _col("Ready", "integer"),
            _col("Up-to-date", "integer"),
            _col("Available", "integer"),
            _col("Node Selector"),
            AGE,
            *WIDE_WORKLOAD,
        ),
        _ds,
    ),
    ("batch", "cronjobs"): (
        (
            _col("Schedule"),
            _col("Timezone"),
            _col("Suspend", "boolean"),
            _col("Active", "integer"),
            _col("Last Schedule"),
            AGE,
            *WIDE_WORKLOAD,
        ),
        _cronjob,
    ),
    ("autoscaling", "horizontalpodautoscalers"): (
        (
            _col("Reference"),
            _col("Targets"),
            _col("MinPods", "integer"),
            _col("MaxPods", "integer"),
            _col("Replicas", "integer"),
            AGE,
        ),
        _hpa,
    ),
    ("", "pods"): (
        (
            _col("Ready"),
            _col("Status"),
            _col("Restarts", "integer"),
            AGE,
            _col("IP", priority=1),
            _col("Node", priority=1),
        ),
        _pod,
    ),
    ("", "namespaces"): ((_col("Status"), AGE), lambda o: [_status(o).get("phase", "Active"), _age(o)]),
    ("", "configmaps"): ((_col("Data", "integer"), AGE), lambda o: [len(o.get("data") or {}), _age(o)]),
    ("", "secrets"): (
        (_col("Type"), _col("Data", "integer"), AGE),
        lambda o: [o.get("type", "Opaque"), len(o.get("data") or {}), _age(o)],
    ),
    ("", "events"): (
        (_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")),
        _event,
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        (_col("Created At", "date"),),
        lambda o: [_meta(o).get("creationTimestamp", "")],
    ),
}


def columns_for(rt: ResourceType) -> tuple[PrinterColumn, ...]:
    if rt.custom:
        return rt.columns or (AGE,)
    builtin = BUILTIN_TABLES.get(rt.storage_key)
    return builtin[0] if builtin else (AGE,)


def cells_for(rt: ResourceType, obj: dict[str, Any]) -> list[Cell]:
    name = _meta(obj).get("name", "")
    if rt.custom:
        if rt.columns:
            return [name, *_custom_cells(obj, rt.columns)]
        return [name, _age(obj)]
    builtin = BUILTIN_TABLES.get(rt.storage_key)
    if builtin:
        return [name, *builtin[1](obj)]
    return [name, _age(obj)]


def _column_definition(column: PrinterColumn) -> dict[str, Any]:
    return {
        "name": column.name,
        "type": column.type if column.type != "date" else "string",
        "format": column.format,
        "description": column.description or column.name,
        "priority": column.priority,
    }


def partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _meta(obj)}


def table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
    headers: bool = True,
) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table for `objects` (rows carry the object as PartialObjectMetadata by default)."""
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": cells_for(rt, obj)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    columns = (NAME, *columns_for(rt))
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [_column_definition(c) for c in columns] if headers else [],
        "rows": rows,
    }
