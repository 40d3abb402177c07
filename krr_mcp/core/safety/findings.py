"""Findings with the risk each one carries, and how they add up to the report's risk level."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from krr_mcp.api.resource_recommendation import RiskLevel, SafetyFinding, SafetyReport

Severity = Literal["info", "warning", "refuse"]
_ORDER = [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL]


@dataclass
class Findings:
    """Collects rule verdicts; a refusal is always critical, the others carry the risk the rule names."""

    items: list[tuple[SafetyFinding, RiskLevel]] = field(default_factory=list)

    def add(
        self,
        rule: str,
        severity: Severity,
        message: str,
        *,
        container: str | None = None,
        risk: RiskLevel = RiskLevel.LOW,
    ) -> None:
        if severity == "refuse":
            risk = RiskLevel.CRITICAL
        self.items.append(
            (SafetyFinding(rule=rule, severity=severity, message=message, container=container), risk)
        )

    def refuse(self, rule: str, message: str, *, container: str | None = None) -> None:
        self.add(rule, "refuse", message, container=container)

    def warn(self, rule: str, message: str, *, risk: RiskLevel, container: str | None = None) -> None:
        self.add(rule, "warning", message, container=container, risk=risk)

    def info(
        self, rule: str, message: str, *, risk: RiskLevel = RiskLevel.LOW, container: str | None = None
    ) -> None:
        self.add(rule, "info", message, container=container, risk=risk)

    def risk(self) -> RiskLevel:
        return max((r for _, r in self.items), key=_ORDER.index, default=RiskLevel.LOW)

    def report(self, now: datetime) -> SafetyReport:
        """The SafetyReport: the findings, then one `risk` finding naming the level and its reasons."""
        level = self.risk()
        reasons = [f.message for f, r in self.items if r == level and level != RiskLevel.LOW]
        summary = f"risk {level.value}: " + ("; ".join(reasons) if reasons else "no rule raised the risk")
        findings = [f for f, _ in self.items]
        findings.append(SafetyFinding(rule="risk", severity="info", message=summary))
        return SafetyReport(
            allowed=not any(f.severity == "refuse" for f in findings),
            risk=level,
            findings=findings,
            checkedAt=now,
        )
