"""What the safety rules read from the cluster besides the workload, as the API server returns it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from krr_mcp.api.policy import PolicySpec


@dataclass(frozen=True)
class ClusterContext:
    """The workload's surroundings, plain dicts as the API returns them (read by
    krr_mcp.kube.loaders.load_cluster_context).

    namespace: the Namespace object (None when it could not be read); the other fields hold every
    object of that kind in the workload's namespace (the rules select those that apply).
    """

    namespace: dict[str, Any] | None = None
    limit_ranges: Sequence[dict[str, Any]] = field(default_factory=tuple)
    resource_quotas: Sequence[dict[str, Any]] = field(default_factory=tuple)
    hpas: Sequence[dict[str, Any]] = field(default_factory=tuple)
    pdbs: Sequence[dict[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True)
class NamespaceInputs:
    """What the safety rules read of a namespace besides the workload: its context and effective policy."""

    context: ClusterContext
    policy: PolicySpec
