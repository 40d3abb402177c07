"""`status.savings` and the `Priced` condition: what an RR's change saves, computed by the operator from
the spec's request changes, the workload's live replicas and the cluster's prices (nothing a proposer
wrote about money is read).

- Prices: OpenCost's when the cluster policy names it (asked at most once per `PriceCache` period for
  all RRs, never once per RR), else the policy's table. `pricesFrom` names the source used.
- OpenCost unusable (unreachable, an HTTP error, a bad answer): the table prices; `Priced` is True with
  reason `OpenCostUnusable` and says why on every RR so priced; the operator logs a warning and posts a
  Warning Event on the ClusterRecommendationPolicy once per asking (not per RR).
- The workload missing: no savings (a change to nothing saves nothing; earlier savings are removed) and
  `Priced` False with reason `WorkloadNotFound`; the savings come back when a pass sees the workload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from krr_mcp.api.policy import CLUSTER_KIND, DEFAULT_POLICY_NAME, PolicySpec
from krr_mcp.api.resource_recommendation import API_VERSION
from krr_mcp.core.safety.workload import replicas
from krr_mcp.core.savings import change_savings
from krr_mcp.kube.client import Kube, KubeError
from krr_mcp.kube.events import create_event
from krr_mcp.kube.loaders import policy_path
from krr_mcp.kube.opencost import PriceCache

from .audit import set_condition

log = structlog.get_logger("krr_mcp.operator")

PRICED = "Priced"
OPENCOST_UNUSABLE = "OpenCostUnusable"


class SavingsPricer:
    """Prices RR changes for `status.savings` (thread-safe: the reconcile pool shares one)."""

    def __init__(self, kube: Kube, cache: PriceCache | None = None) -> None:
        self.kube = kube
        self.cache = cache or PriceCache()

    def update(
        self,
        status: dict[str, Any],
        rr: dict[str, Any],
        workload: dict[str, Any] | None,
        policy: PolicySpec | None,
        now: datetime,
    ) -> dict[str, Any]:
        """`status` (the new one, about to be written) with `savings` and `Priced` set.

        Unchanged when the spec has no container list, or when the workload exists but this pass read
        no policy (`policy` None: nothing to price with, the last savings stand).
        """
        containers = (rr.get("spec") or {}).get("containers")
        if not isinstance(containers, list):
            return status
        generation = (rr.get("metadata") or {}).get("generation")
        conditions = list(status.get("conditions") or [])
        if workload is None:
            target = (rr.get("spec") or {}).get("target") or {}
            message = (
                f"no savings: {target.get('kind')} {str(target.get('name'))!r} not found (the savings are "
                "the spec's request changes times the workload's live replicas)"
            )
            new = {
                **status,
                "conditions": set_condition(
                    conditions, PRICED, False, "WorkloadNotFound", message, now, generation
                ),
            }
            if new.get("savings") is not None:
                new["savings"] = None  # merge patch: removes the stored savings
            else:
                new.pop("savings", None)
            return new
        if policy is None:
            return status
        priced = self.cache.get(policy)
        if priced.warning and priced.asked:
            self._warn(priced.warning)
        found = change_savings(containers, replicas(workload), priced.prices)
        if priced.warning:
            reason, message = OPENCOST_UNUSABLE, priced.warning
        else:
            reason, message = "Priced", f"priced with {priced.prices.source}"
        conditions = set_condition(conditions, PRICED, True, reason, message, now, generation)
        return {**status, "savings": found.model_dump(mode="json"), "conditions": conditions}

    def _warn(self, warning: str) -> None:
        """Say once per asking that OpenCost was not used: a log line and a Warning Event on the
        ClusterRecommendationPolicy (`kubectl describe clusterrecommendationpolicy default`)."""
        log.warning("savings.opencost_unusable", warning=warning)
        try:
            involved = self.kube.request("get cluster policy", "GET", policy_path(None))
        except KubeError:
            involved = None
        if not isinstance(involved, dict):
            involved = {
                "apiVersion": API_VERSION,
                "kind": CLUSTER_KIND,
                "metadata": {"name": DEFAULT_POLICY_NAME},
            }
        try:
            create_event(self.kube, involved, OPENCOST_UNUSABLE, warning, warning=True, action="Price")
        except KubeError as exc:
            log.warning("event.failed", error=str(exc), reason=OPENCOST_UNUSABLE)
