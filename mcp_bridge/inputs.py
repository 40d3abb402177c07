"""Typed tool inputs shared by the bridge's tools: every name, kind and quantity an assistant sends is
checked here (DNS-1123 names, known workload kinds, sane quantities) before any tool code runs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from krr_mcp.api.resource_recommendation import (
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    SCAN_ID_PATTERN,
    ResourceAmounts,
)

Namespace = Annotated[
    str,
    Field(
        pattern=DNS1123_LABEL,
        min_length=1,
        max_length=63,
        description="A Kubernetes namespace (DNS-1123 label).",
    ),
]
ObjectName = Annotated[
    str,
    Field(
        pattern=DNS1123_SUBDOMAIN,
        min_length=1,
        max_length=253,
        description="A Kubernetes object name (DNS-1123 subdomain).",
    ),
]
ContainerName = Annotated[
    str,
    Field(
        pattern=DNS1123_LABEL, min_length=1, max_length=63, description="A container name (DNS-1123 label)."
    ),
]
WorkloadKindName = Literal["Deployment", "StatefulSet", "DaemonSet", "CronJob"]
Reason = Annotated[
    str,
    Field(min_length=1, max_length=4096, description="Why this change, in words the human reviewer reads."),
]


class InputModel(BaseModel):
    """Tool input objects refuse unknown fields, so a misspelt or smuggled key is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ContainerProposal(InputModel):
    """The complete desired CPU/memory requests and limits of one container.

    A value left out is removed from the container (krr's simple strategy recommends no CPU limit).
    """

    name: ContainerName
    requests: ResourceAmounts = Field(default_factory=ResourceAmounts)
    limits: ResourceAmounts = Field(default_factory=ResourceAmounts)


class WorkloadProposal(InputModel):
    """A proposed resize of one workload's containers."""

    namespace: Namespace
    kind: WorkloadKindName
    name: ObjectName
    containers: list[ContainerProposal] = Field(min_length=1, max_length=64)


class ContainerValues(InputModel):
    """Requests and limits the user asked for instead of the scan's recommendation."""

    requests: ResourceAmounts = Field(default_factory=ResourceAmounts)
    limits: ResourceAmounts = Field(default_factory=ResourceAmounts)


class ContainerChoice(InputModel):
    """One container of a scanned workload: the bridge proposes the scan's recommendation for it."""

    name: ContainerName
    override: ContainerValues | None = Field(
        default=None,
        description="Only when the user asked for specific numbers instead of the scan's recommendation: "
        "the complete requests and limits to propose (a value left out is removed). The RR records them "
        "as the assistant's assertion (valuesFrom: assistant) and the reviewer is shown so; the safety "
        "rules still check them against the scan's usage.",
    )


class WorkloadChoice(InputModel):
    """Which recommendation of a scan to propose: one workload and the containers to change."""

    namespace: Namespace
    kind: WorkloadKindName
    name: ObjectName
    containers: list[ContainerChoice] = Field(min_length=1, max_length=64)
    within_max_step: bool = Field(
        default=False,
        description="Move each value at most the namespace policy's largest step (maxStep) from the "
        "current one: the bridge limits the scan's recommendation itself, for a careful first step.",
    )


ScanId = Annotated[
    str,
    Field(
        pattern=SCAN_ID_PATTERN,
        description="The scan_id scan_recommendations returned: the bridge proposes that scan's "
        "recommendation for each named container, with the usage and evidence it observed.",
    ),
]
