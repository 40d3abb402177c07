"""What a change saves, in the RR's status and in `kubectl get recommendations` (the operator on the
sandbox API server, driven with the real kubectl): computed by the operator from the spec's requests,
the workload's live replicas and the cluster policy's price table, never taken from the proposer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from krr_operator.main import OperatorConfig

from krr_mcp.sandbox.testing import SandboxHandle

from .operator_harness import OperatorThread, operator_running, wait_for
from .test_operator_sandbox import deployment, kubectl, rolled_out, rr_json, rr_manifest

POLICY = {
    "apiVersion": "krr-mcp.io/v1alpha1",
    "kind": "ClusterRecommendationPolicy",
    "metadata": {"name": "default"},
    "spec": {"pricing": {"cpuPerCoreHour": 0.05, "memoryPerGiBHour": 0.01, "currency": "EUR"}},
}


@pytest.fixture
def running_operator(operator_config: OperatorConfig) -> Iterator[OperatorThread]:
    with operator_running(operator_config) as op:
        yield op


def savings_are(sandbox: SandboxHandle, per_month: str) -> object:
    def probe() -> object:
        savings = (rr_json(sandbox).get("status") or {}).get("savings") or {}
        return savings if savings.get("perMonth") == per_month else None

    return probe


def test_savings_from_the_spec_live_replicas_and_the_policy_prices(
    sandbox: SandboxHandle, running_operator: OperatorThread
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(POLICY))
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(deployment()))  # 2 replicas
    rolled_out(sandbox)
    forged = rr_manifest()
    # A proposer claiming a saving: status is the operator's (subresource), the claim is dropped.
    forged["status"] = {"savings": {"perMonth": "999999.00 EUR", "monthly": 999999}}
    kubectl(sandbox, "create", "-f", "-", input=yaml.safe_dump(forged))

    # app: 500m/512Mi -> 250m/256Mi per pod, x 2 pods = 0.5 cores and 0.5 GiB:
    # (0.5 x 0.05 + 0.5 x 0.01) EUR/h x 730 h = 21.90 EUR per month.
    savings = wait_for("savings priced", savings_are(sandbox, "21.90 EUR"))
    assert savings["replicas"] == 2 and savings["cpuCores"] == 0.5 and savings["memoryBytes"] == 2**29
    assert savings["monthly"] == 21.9 and savings["currency"] == "EUR"
    assert savings["pricesFrom"] == "the ClusterRecommendationPolicy's price table"
    listed = kubectl(sandbox, "get", "recommendations", "-n", "default")
    header, row = listed.splitlines()[:2]
    assert "SAVES/MONTH" in header.split() and "21.90 EUR" in row

    # The live replicas, not the ones at proposal time: scaled to 4, twice the saving.
    kubectl(sandbox, "scale", "deployment/web", "-n", "default", "--replicas=4")
    wait_for("savings follow the replicas", savings_are(sandbox, "43.80 EUR"))
