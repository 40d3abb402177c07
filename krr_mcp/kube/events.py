"""Kubernetes Events the operator writes about an object (an RR, a workload, the cluster policy): built
here, sent through the client (`Kube`), which knows nothing of what they say."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from krr_mcp.api.text import printable
from krr_mcp.api.times import timestamp

from .client import Kube, namespace_path


def event_manifest(
    involved: dict[str, Any],
    reason: str,
    message: str,
    reporter: str,
    *,
    warning: bool = False,
    action: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A core/v1 Event about `involved` (an object as read), reported by `reporter`: the reason and
    action cut to 128 characters, the message escaped (`printable`: people read it in a terminal) and
    cut to 1024. An Event about a cluster-scoped object is stored in `default`, its involvedObject
    without a namespace (where `kubectl describe` looks for it)."""
    meta = involved.get("metadata") or {}
    at = timestamp(now or datetime.now(UTC))
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{meta.get('name', 'object')}.",
            "namespace": meta.get("namespace") or "default",
        },
        "involvedObject": {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace") or "",
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason[:128],
        "message": printable(message)[:1024],
        "type": "Warning" if warning else "Normal",
        "action": action[:128],
        "source": {"component": reporter},
        "reportingComponent": reporter,
        "reportingInstance": socket.gethostname()[:128],
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
    }


def create_event(
    kube: Kube,
    involved: dict[str, Any],
    reason: str,
    message: str,
    *,
    warning: bool = False,
    action: str = "",
) -> dict[str, Any]:
    """Create the Event (`event_manifest`) about `involved`, reported by the client's field manager;
    the stored Event. KubeError when the server refuses it."""
    event = event_manifest(involved, reason, message, kube.field_manager, warning=warning, action=action)
    namespace = event["metadata"]["namespace"]
    path = f"{namespace_path(namespace)}/events"
    return dict(kube.request(f"create event in {namespace}", "POST", path, body=event))
