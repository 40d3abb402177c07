"""The one place the bridge builds ResourceRecommendation manifests.

`build_recommendation_manifest` takes explicit fields only and copies exactly the spec fields in
`BRIDGE_SPEC_FIELDS` into the manifest: `approved`, `approvedBy`, `rejected` and `rollbackRequested`
are never written by the bridge (the API server's schema defaults them to false/unset), so no tool
input can reach them.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from krr_mcp.api.resource_recommendation import (
    API_VERSION,
    KIND,
    WORKLOAD_API_VERSIONS,
    ContainerRecommendation,
    Evidence,
    ObjectMeta,
    ResourceRecommendationSpec,
    TargetRef,
)
from krr_mcp.api.workload_kinds import WORKLOAD_KINDS

BRIDGE_SPEC_FIELDS = frozenset({"target", "containers", "evidence", "reason", "autoRollback", "expiresAt"})
HUMAN_ONLY_SPEC_FIELDS = frozenset({"approved", "approvedBy", "rejected", "rollbackRequested"})

LABEL_TARGET_KIND = "krr-mcp.io/target-kind"
LABEL_TARGET_NAME = "krr-mcp.io/target-name"
ANNOTATION_CREATED_BY = "krr-mcp.io/created-by"
ANNOTATION_ROLLBACK_OF = "krr-mcp.io/rollback-of"
ANNOTATION_TARGET_NAME = "krr-mcp.io/target-name"

_KIND_SHORT = {kind: info.short_name for kind, info in WORKLOAD_KINDS.items()}


def label_value(text: str) -> str:
    """A valid label value (at most 63 characters, alphanumeric at both ends) derived from a name."""
    return text[:63].rstrip("-.")


def recommendation_name(kind: str, target_name: str, suffix: str | None = None) -> str:
    """A fresh RR name: `<target>-<kind>-<random>`, a valid DNS-1123 subdomain of at most 253 chars."""
    suffix = suffix or secrets.token_hex(3)
    tail = f"-{_KIND_SHORT[kind]}-{suffix}"
    return target_name[: 253 - len(tail)].rstrip("-.") + tail


def build_recommendation_manifest(
    *,
    namespace: str,
    kind: str,
    target_name: str,
    containers: list[ContainerRecommendation],
    evidence: Evidence,
    reason: str,
    auto_rollback: bool = True,
    expires_in: timedelta | None = None,
    created_by: Literal["bridge"] = "bridge",
    rollback_of: str | None = None,
    now: datetime | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Build an RR manifest from explicit fields; the spec is validated by the RR model itself.

    Raises pydantic.ValidationError when the fields do not make a valid RR.
    """
    now = now or datetime.now(UTC)
    spec = ResourceRecommendationSpec(
        target=TargetRef(apiVersion=WORKLOAD_API_VERSIONS[kind], kind=kind, name=target_name),
        containers=containers,
        evidence=evidence,
        reason=reason,
        autoRollback=auto_rollback,
        expiresAt=(now + expires_in) if expires_in else None,
    )
    annotations = {ANNOTATION_CREATED_BY: created_by, ANNOTATION_TARGET_NAME: target_name}
    if rollback_of:
        annotations[ANNOTATION_ROLLBACK_OF] = rollback_of
    metadata = ObjectMeta(
        name=name or recommendation_name(kind, target_name),
        namespace=namespace,
        labels={LABEL_TARGET_KIND: kind, LABEL_TARGET_NAME: label_value(target_name)},
        annotations=annotations,
    )
    spec_body = spec.model_dump(mode="json", exclude_none=True, include=set(BRIDGE_SPEC_FIELDS))
    assert not HUMAN_ONLY_SPEC_FIELDS & spec_body.keys()
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata.model_dump(mode="json", exclude_none=True),
        "spec": spec_body,
    }
