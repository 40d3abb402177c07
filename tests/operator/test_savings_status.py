"""What a change saves, in the RR's status and in `kubectl get recommendations` (the operator on the
sandbox API server, driven with the real kubectl): computed by the operator from the spec's requests,
the workload's live replicas and the cluster's prices (the policy's table, or OpenCost's: a stand-in
serving its documented answer, tests/opencost_stub.py), never taken from the proposer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from krr_operator.main import OperatorConfig

from krr_mcp.sandbox.testing import SandboxHandle

from ..builders import rr_manifest, web_deployment
from ..opencost_stub import TWO_ALLOCATIONS, OpenCostStub, bad_answers
from ..opencost_stub import opencost as opencost  # a fixture
from .operator_harness import OperatorThread, operator_running, wait_for
from .test_operator_sandbox import get_json, kubectl, phase_is, rolled_out, rr_json

POLICY: dict[str, Any] = {
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
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))  # 2 replicas
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


def priced_condition(rr: dict[str, Any]) -> dict[str, Any]:
    conditions = (rr.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Priced"), {})


def policy_with_opencost(url: str) -> dict[str, Any]:
    return {**POLICY, "spec": {"pricing": {**POLICY["spec"]["pricing"], "openCostUrl": url}}}


APPS = ("web-a", "web-b", "web-c")


def three_proposals(sandbox: SandboxHandle) -> None:
    for app in APPS:
        kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment(app)))  # 2 replicas each
    for app in APPS:
        rolled_out(sandbox, app)
        kubectl(sandbox, "create", "-f", "-", input=yaml.safe_dump(rr_manifest(f"{app}-rr", app)))


def all_priced(sandbox: SandboxHandle, per_month: str) -> Callable[[], list[dict[str, Any]] | None]:
    def probe() -> list[dict[str, Any]] | None:
        rrs = [rr_json(sandbox, f"{app}-rr") for app in APPS]
        ok = all(((rr.get("status") or {}).get("savings") or {}).get("perMonth") == per_month for rr in rrs)
        return rrs if ok else None

    return probe


def test_savings_at_opencosts_prices_asked_once_for_every_rr(
    sandbox: SandboxHandle, running_operator: OperatorThread, opencost: OpenCostStub
) -> None:
    opencost.serve(200, TWO_ALLOCATIONS)  # 0.04 per core-hour, 0.005 per GiB-hour
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(policy_with_opencost(opencost.url)))
    three_proposals(sandbox)
    # 0.5 cores and 0.5 GiB per RR: (0.5 x 0.04 + 0.5 x 0.005) EUR/h x 730 h = 16.425 -> 16.42 EUR.
    rrs = wait_for("priced with OpenCost's prices", all_priced(sandbox, "16.42 EUR"))
    for rr in rrs:
        savings = rr["status"]["savings"]
        assert savings["cpuPerCoreHour"] == 0.04 and savings["memoryPerGiBHour"] == 0.005
        assert savings["pricesFrom"] == f"OpenCost at {opencost.url} (/allocation, the last 7 days)"
        assert priced_condition(rr)["status"] == "True" and priced_condition(rr)["reason"] == "Priced"
    time.sleep(4 * 12 * 0.3)  # several idle re-checks of every RR (12 poll intervals each)
    assert len(opencost.queries) == 1, "OpenCost is asked once per price period, not per RR or pass"
    assert opencost.queries[0] == {"window": ["7d"], "aggregate": ["cluster"], "accumulate": ["true"]}


def test_a_bad_opencost_answer_prices_with_the_table_and_says_why(
    sandbox: SandboxHandle, running_operator: OperatorThread, opencost: OpenCostStub
) -> None:
    (entry,) = [path for path in bad_answers() if path.stem == "error-code"]
    opencost.serve_entry(entry)
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(policy_with_opencost(opencost.url)))
    three_proposals(sandbox)
    rrs = wait_for("priced with the table", all_priced(sandbox, "21.90 EUR"))
    said = entry.with_name(entry.name + ".expected").read_text().splitlines()[0]
    warning = said.removeprefix("refused: ").replace("OPENCOST", opencost.url)
    for rr in rrs:
        assert rr["status"]["savings"]["pricesFrom"] == "the ClusterRecommendationPolicy's price table"
        condition = priced_condition(rr)
        assert (condition["status"], condition["reason"], condition["message"]) == (
            "True",
            "OpenCostUnusable",
            warning,
        )
    events = get_json(sandbox, "events", "-n", "default")["items"]
    unusable = [e for e in events if e.get("reason") == "OpenCostUnusable"]
    assert len(unusable) == 1 and unusable[0]["type"] == "Warning" and unusable[0]["message"] == warning
    assert unusable[0]["involvedObject"]["kind"] == "ClusterRecommendationPolicy"
    assert unusable[0]["involvedObject"]["name"] == "default"
    assert len(opencost.queries) == 1  # the failure is kept too: no re-asking per RR


def test_no_savings_while_the_workload_is_missing_and_why(
    sandbox: SandboxHandle, operator_config: OperatorConfig
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(POLICY))
    with operator_running(operator_config):
        # Proposed for a workload that is not there: Stale (final: a new proposal is needed once the
        # workload exists), no savings, and Priced says why rather than leaving the field silently out.
        kubectl(sandbox, "create", "-f", "-", input=yaml.safe_dump(rr_manifest()))
        rr = wait_for("stale", phase_is(sandbox, "Stale"))
        wait_for("the Priced condition", lambda: priced_condition(rr_json(sandbox)) or None)
        rr = rr_json(sandbox)
        assert "savings" not in rr["status"]
        condition = priced_condition(rr)
        assert (condition["status"], condition["reason"]) == ("False", "WorkloadNotFound")
        assert condition["message"].startswith("no savings: Deployment 'web' not found")
        row = kubectl(sandbox, "get", "recommendations", "-n", "default").splitlines()[1]
        assert " EUR" not in row

        # Another, for a workload that exists: priced; its workload deleted: the savings go (a change to
        # nothing saves nothing, and sums must not count it), and Priced says why.
        kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment("shop")))
        rolled_out(sandbox, "shop")
        kubectl(sandbox, "create", "-f", "-", input=yaml.safe_dump(rr_manifest("shop-rr", "shop")))
        wait_for("priced", lambda: (rr_json(sandbox, "shop-rr").get("status") or {}).get("savings"))
        assert priced_condition(rr_json(sandbox, "shop-rr"))["status"] == "True"
        kubectl(sandbox, "delete", "deployment", "shop", "-n", "default")

        def savings_gone() -> dict[str, Any] | None:
            rr = rr_json(sandbox, "shop-rr")
            gone = "savings" not in (rr.get("status") or {}) and priced_condition(rr).get("status") == "False"
            return rr if gone else None

        rr = wait_for("savings removed", savings_gone)
        assert priced_condition(rr)["reason"] == "WorkloadNotFound"
