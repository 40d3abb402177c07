"""GitOps-managed workloads: detect Argo CD / Flux ownership, and render the change as a file to commit.

A live patch to such a workload is reverted by the controller on its next sync, so the safety report
warns and `render_gitops_patch` gives the same change as a strategic-merge patch for the repository.
"""

from __future__ import annotations

from typing import Any

import yaml

from krr_mcp.api.resource_recommendation import WORKLOAD_API_VERSIONS, ResourceRecommendationSpec

from .resources import KINDS, RESOURCES
from .workload import metadata_annotations, metadata_labels, template_path

# (where, key) -> the controller it names. `app.kubernetes.io/instance` alone is Helm's standard label;
# it means Argo CD only when an Argo CD marker is also present (see `gitops_controller`).
_ARGO_LABELS = ("argocd.argoproj.io/instance",)
_ARGO_ANNOTATIONS = ("argocd.argoproj.io/tracking-id",)
_FLUX_LABELS = ("kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name")


def gitops_controller(workload: dict[str, Any]) -> str | None:
    """ "Argo CD" or "Flux" (with the evidence) when the workload carries their markers, else None."""
    labels, annotations = metadata_labels(workload), metadata_annotations(workload)
    for key in _ARGO_LABELS:
        if key in labels:
            return f"Argo CD (label {key}={labels[key]})"
    for key in _ARGO_ANNOTATIONS:
        if key in annotations:
            return f"Argo CD (annotation {key})"
    instance = labels.get("app.kubernetes.io/instance")
    managed_by = labels.get("app.kubernetes.io/managed-by", "").lower()
    if instance and ("argocd" in managed_by or any("argocd" in k for k in annotations)):
        return f"Argo CD (label app.kubernetes.io/instance={instance})"
    for key in _FLUX_LABELS:
        if key in labels:
            return f"Flux (label {key}={labels[key]})"
    return None


def render_gitops_patch(spec: ResourceRecommendationSpec, namespace: str | None = None) -> str:
    """The proposal as a strategic-merge patch YAML to commit to the workload's source.

    Only cpu/memory of the named containers appear; a value the proposal removes is `null` (a strategic
    merge patch deletes that key), other resource names are untouched.
    """
    containers = []
    for container in spec.containers:
        resources: dict[str, dict[str, str | None]] = {}
        current = container.current.model_dump(exclude_none=True)
        proposed = container.proposed.model_dump(exclude_none=True)
        for kind in KINDS:
            values: dict[str, str | None] = {}
            for resource in RESOURCES:
                new = proposed.get(kind, {}).get(resource)
                if new is not None or resource in current.get(kind, {}):
                    values[resource] = new
            if values:
                resources[kind] = values
        containers.append({"name": container.name, "resources": resources})
    metadata: dict[str, str] = {"name": spec.target.name}
    if namespace:
        metadata["namespace"] = namespace
    body: dict[str, Any] = {"spec": {"containers": containers}}
    for key in reversed(template_path(spec.target.kind)):
        body = {key: body}
    document = {
        "apiVersion": WORKLOAD_API_VERSIONS[spec.target.kind],
        "kind": spec.target.kind,
        "metadata": metadata,
        **body,
    }
    header = (
        f"# Resource change for {spec.target.kind}/{spec.target.name} proposed by krr-mcp.\n"
        "# The workload is managed by GitOps: commit this strategic-merge patch to its source\n"
        "# (for example as a kustomize patch); a live change would be reverted on the next sync.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False)
