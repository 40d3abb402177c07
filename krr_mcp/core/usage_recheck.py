"""Pure: may an approved change be applied, given the usage Prometheus shows now?

When the operator is configured with a Prometheus URL (`--prometheus-url`), it re-reads each proposed
container's memory peak over the RR's history window right before applying (`usage_reader.py` does the
reading) and `usage_recheck` decides, so nothing the proposer recorded is trusted at apply time:

- Prometheus could not be asked (down, an error answer): not now (`retry`), the approval stays;
- Prometheus has no memory data for a container: refused, the numbers cannot be checked;
- a proposed memory request or limit below the observed peak: refused (an OOM kill waiting to happen);
- the RR's recorded peak (`containers[].usage.memoryPeak`) differs from the observed one by more than
  the tolerance: refused, the evidence is not this workload's (or no longer true).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from krr_mcp.api.quantities import QuantityError, format_memory, parse_resource_quantity
from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec

# The history window when the RR's evidence names none (krr's default, 14 days).
DEFAULT_HISTORY_HOURS = 336
# How far (percent of the observed peak) the recorded peak may be from it.
DEFAULT_TOLERANCE_PERCENT = 25.0


@dataclass(frozen=True)
class UsageReading:
    """What Prometheus said: each container's memory peak in bytes (None: no data), or why it could not."""

    peaks: dict[str, Decimal | None] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class UsageVerdict:
    """Why the change is not applied now: `retry` (ask again later) or refused for good."""

    reason: str
    message: str
    retry: bool = False


def history_hours(spec: ResourceRecommendationSpec) -> int:
    """The window to re-read: the one the evidence was computed over, else krr's default."""
    return spec.evidence.historyHours or DEFAULT_HISTORY_HOURS


def usage_recheck(
    spec: ResourceRecommendationSpec,
    reading: UsageReading,
    tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT,
) -> UsageVerdict | None:
    """None when the proposal agrees with the usage Prometheus shows; else why it may not be applied."""
    if reading.error is not None:
        return UsageVerdict(
            "UsageUnavailable",
            f"usage could not be re-read from Prometheus before applying ({reading.error}); retrying",
            retry=True,
        )
    window = f"the last {history_hours(spec)}h"
    problems: list[tuple[str, str]] = []
    for container in spec.containers:
        peak = reading.peaks.get(container.name)
        if peak is None:
            problems.append(
                ("UsageUnverified", f"{container.name}: Prometheus has no memory usage over {window}")
            )
            continue
        for kind in ("requests", "limits"):
            proposed = getattr(container.proposed, kind).memory
            if proposed is not None and parse_resource_quantity(proposed, "memory") < peak:
                problems.append(
                    (
                        "BelowObservedPeak",
                        f"{container.name}: {kind}.memory {proposed} is below the peak working set "
                        f"Prometheus shows over {window} ({format_memory(peak)})",
                    )
                )
        recorded = _recorded_peak(container.usage.memoryPeak if container.usage else None)
        if recorded is not None and _differs(recorded, peak, tolerance_percent):
            problems.append(
                (
                    "EvidenceDisagrees",
                    f"{container.name}: the recorded peak working set {format_memory(recorded)} differs "
                    f"from the {format_memory(peak)} Prometheus shows over {window} by more than "
                    f"{tolerance_percent:g}%",
                )
            )
    if not problems:
        return None
    return UsageVerdict(
        problems[0][0], "refused after re-reading usage from Prometheus: " + "; ".join(m for _, m in problems)
    )


def _recorded_peak(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return parse_resource_quantity(text, "memory")
    except QuantityError:
        return Decimal(-1)  # unreadable evidence disagrees with any reading


def _differs(recorded: Decimal, observed: Decimal, tolerance_percent: float) -> bool:
    allowed = observed * Decimal(str(tolerance_percent)) / Decimal(100)
    return abs(recorded - observed) > allowed
