"""explain(): the numbers behind one container's recommendation, in words a reviewer reads."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .models import ContainerScan, ResourceExplanation
from .simple_strategy import format_amount


class Explanation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str
    severity: str
    proposable: bool
    lines: list[str] = Field(description="One statement per line: inputs, the computation, rounding, floors.")
    resources: list[ResourceExplanation] = Field(default_factory=list)


def _fmt(value: float | None, resource: str) -> str:
    if value is None:
        return "n/a"
    if resource == "cpu":
        return f"{value * 1000:.3f}m" if value < 1 else f"{value:.4f} cores"
    return f"{value / 1024 / 1024:.2f}Mi"


def _resource_lines(exp: ResourceExplanation) -> list[str]:
    res = exp.resource
    lines = [f"{res}: {exp.method}."]
    if exp.data_points is not None:
        lines.append(f"{res}: {exp.data_points} data points over all pods (required: {exp.points_required}).")
    if exp.per_pod:
        pods = ", ".join(f"{pod}={_fmt(v, res)}" for pod, v in sorted(exp.per_pod.items()))
        lines.append(f"{res}: per pod: {pods}.")
    if exp.info:
        prefix = "no value" if exp.final_value is None else "note"
        lines.append(f"{res}: {prefix}: {exp.info}.")
    if exp.observed is not None:
        how = "request percentile" if exp.limit_observed is not None else "max over pods"
        lines.append(f"{res}: observed ({how}) {_fmt(exp.observed, res)}.")
    if exp.oomkill_bytes:
        lines.append(f"{res}: an OOMKilled container had a {_fmt(exp.oomkill_bytes, res)} limit.")
    if exp.raw_value is not None and exp.raw_value != exp.observed:
        lines.append(f"{res}: with the buffer {_fmt(exp.raw_value, res)}.")
    if exp.rounded_value is not None:
        unit = "whole millicores" if res == "cpu" else "whole MiB"
        lines.append(f"{res}: rounded up to {unit}: {format_amount(exp.rounded_value, res)}.")
    if exp.floor_applied and exp.floor is not None:
        lines.append(f"{res}: raised to the minimum {format_amount(exp.floor, res)}.")
    if exp.final_value is not None:
        lines.append(f"{res}: recommended {format_amount(exp.final_value, res)}.")
    if exp.limit_observed is not None and exp.limit_final_value is not None:
        lines.append(
            f"{res}: limit percentile {_fmt(exp.limit_observed, res)}, rounded up and floored: "
            f"limit {format_amount(exp.limit_final_value, res)}."
        )
    if exp.peak is not None:
        lines.append(f"{res}: highest sample {_fmt(exp.peak, res)}.")
    return lines


def explain(scan: ContainerScan) -> Explanation:
    """The numbers behind `scan`'s recommendation (percentiles, peak, data points, rounding, floors)."""
    target = f"{scan.kind} {scan.namespace}/{scan.name} container {scan.container}"
    lines = [f"{target}: severity {scan.severity}."]
    if scan.error:
        lines.append(f"No recommendation: {scan.error}")
    current = scan.current.model_dump(exclude_none=True)
    lines.append(f"Current resources: {current or 'none set'}.")
    if scan.recommended is not None:
        lines.append(f"Recommended resources: {scan.recommended.model_dump(exclude_none=True)}.")
    if scan.hpa is not None:
        lines.append(f"An HPA targets this workload: {scan.hpa.model_dump(exclude_none=True)}.")
    for exp in scan.explanation:
        lines.extend(_resource_lines(exp))
    for field, severity in sorted(scan.severities.items()):
        lines.append(f"severity of {field}: {severity}.")
    if not scan.proposable:
        lines.append("This container must not be proposed: its recommendation is incomplete.")
    return Explanation(
        target=target,
        severity=scan.severity,
        proposable=scan.proposable,
        lines=lines,
        resources=list(scan.explanation),
    )
