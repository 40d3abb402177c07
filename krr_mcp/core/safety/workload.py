"""Read a workload object as the API server returns it (plain dict): its pod template, pod spec and
containers (the one reader of them: the safety rules, the scan, the plugin and the demo use it)."""

from __future__ import annotations

from typing import Any

from krr_mcp.api.workload_kinds import WORKLOAD_KINDS


def template_path(kind: str) -> tuple[str, ...]:
    """The keys from the workload's root to its pod template; ValueError for an unsupported kind."""
    try:
        return WORKLOAD_KINDS[kind].template_path
    except KeyError:
        raise ValueError(f"unsupported workload kind {kind!r}") from None


def pod_template(workload: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
    """The pod template (metadata + spec) of a workload of `kind` (default: its own `kind` field; an
    item of a list has none); {} when absent; ValueError for an unsupported kind."""
    node: Any = workload
    for key in template_path(kind if kind is not None else str(workload.get("kind", ""))):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def pod_spec(workload: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
    """The pod spec of a workload of `kind` (default: its own `kind` field): spec.template.spec, or a
    CronJob's spec.jobTemplate.spec.template.spec; {} when absent; ValueError for an unsupported kind."""
    spec = pod_template(workload, kind).get("spec")
    return spec if isinstance(spec, dict) else {}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return dict((pod_template(workload).get("metadata") or {}).get("labels") or {})


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec(workload).get("containers") or [])


def init_containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec(workload).get("initContainers") or [])


def replicas(workload: dict[str, Any]) -> int:
    """How many pods run the template at once: spec.replicas (default 1) for Deployments and
    StatefulSets, the scheduled count for DaemonSets, parallelism (default 1) for a CronJob's job."""
    kind = workload.get("kind")
    spec = workload.get("spec") or {}
    if kind == "DaemonSet":
        return int((workload.get("status") or {}).get("desiredNumberScheduled") or 0)
    if kind == "CronJob":
        job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        parallelism = job_spec.get("parallelism")
        return 1 if parallelism is None else int(parallelism)
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def metadata_labels(obj: dict[str, Any] | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


def metadata_annotations(obj: dict[str, Any] | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("annotations") or {})


def namespace_of(workload: dict[str, Any], namespace_obj: dict[str, Any] | None) -> str:
    """The workload's namespace (from its metadata, else from the Namespace object)."""
    name = (workload.get("metadata") or {}).get("namespace")
    if not name and namespace_obj:
        name = (namespace_obj.get("metadata") or {}).get("name")
    return str(name or "")


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics: matchLabels AND matchExpressions; an empty selector matches all,
    a missing (None) selector matches nothing."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in {"In", "NotIn", "Exists", "DoesNotExist"}:
            return False
    return True
