"""Issue 15 item 9, operator side, against a REAL Prometheus (history loaded with promtool) and the
sandbox with the running operator: with `--prometheus-url`, an approved change is re-checked against the
memory peak Prometheus shows over the RR's history window right before it is applied."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from krr_operator.main import OperatorConfig
from krr_operator.usage_reader import UsageSource, read_usage

from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec
from krr_mcp.sandbox.handle import SandboxHandle

from ..builders import ORIGINAL, resources, rr_manifest, web_deployment
from .operator_harness import operator_running, wait_for
from .test_operator_sandbox import (
    approve,
    container_resources,
    deployment_json,
    kubectl,
    phase_is,
    rolled_out,
    rr_json,
)

MI = 2**20


@pytest.fixture
def prometheus_url(sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Deployment default/web (memory request 512Mi) rolled out, and a Prometheus holding a day of its
    usage: a working set around 70% of the request (about 300-380Mi)."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus')")
    from krr_mcp.demo import history
    from krr_mcp.metrics_history import PrometheusProcess, build_tsdb

    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)
    monkeypatch.setitem(history.PROFILES, ("default", "web", "app"), (0.3, 0.7))
    end = (int(time.time()) // 60 + 10) * 60
    tsdb = build_tsdb(history.history_for([deployment_json(sandbox)], end, days=1), tmp_path / "history")
    with PrometheusProcess(tsdb) as prometheus:
        yield prometheus.url


NATIVE_24H = {"source": "native", "historyHours": 24}  # the evidence of the RRs proposed here


def propose_and_approve(sandbox: SandboxHandle, rr: dict) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr))
    name = rr["metadata"]["name"]
    try:
        wait_for("phase Proposed", phase_is(sandbox, "Proposed", name))
    except TimeoutError:
        raise AssertionError(_dump(rr_json(sandbox, name))) from None
    approve(sandbox, name)


def test_an_approved_change_is_rechecked_against_prometheus_before_it_is_applied(
    sandbox: SandboxHandle, operator_config: OperatorConfig, prometheus_url: str
) -> None:
    probe_rr = rr_manifest(
        "probe", proposed=resources("250m", "400Mi", memory_limit="1Gi"), evidence=NATIVE_24H
    )
    probe = ResourceRecommendationSpec.model_validate(probe_rr["spec"])
    reading = read_usage(UsageSource(prometheus_url), "default", probe, __import__("datetime").datetime.now())
    observed = reading.peaks["app"]
    assert reading.error is None and observed is not None and 256 * MI < observed < 460 * MI, reading
    peak_mib = math.ceil(observed / MI)
    cfg = dataclasses.replace(operator_config, idle_interval=0.3, prometheus_url=prometheus_url)
    with operator_running(cfg):
        # Below the real peak, within the policy's max step, and nothing recorded to contradict it: the
        # safety rules have no peak to check; Prometheus has.
        propose_and_approve(
            sandbox,
            rr_manifest(
                "below-peak", proposed=resources("250m", "256Mi", memory_limit="1Gi"), evidence=NATIVE_24H
            ),
        )
        below = wait_for("Failed", phase_is(sandbox, "Failed", "below-peak"), timeout=30)
        # Numbers above the peak, but the recorded peak is a model's claim, not what Prometheus shows.
        propose_and_approve(
            sandbox,
            rr_manifest(
                "claimed-peak",
                proposed=resources("250m", f"{peak_mib + 40}Mi", memory_limit="1Gi"),
                usage={"memoryPeak": "100Mi"},
                evidence=NATIVE_24H,
            ),
        )
        claimed = wait_for("Failed", phase_is(sandbox, "Failed", "claimed-peak"), timeout=30)
        assert container_resources(deployment_json(sandbox), "app") == ORIGINAL  # nothing applied
        kubectl(sandbox, "delete", "rr", "below-peak", "claimed-peak", "-n", "default")  # no sibling left
        # The recorded peak and the numbers agree with Prometheus: applied.
        propose_and_approve(
            sandbox,
            rr_manifest(
                "agrees",
                proposed=resources("250m", f"{peak_mib + 40}Mi", memory_limit="1Gi"),
                usage={"memoryPeak": f"{peak_mib}Mi"},
                evidence=NATIVE_24H,
            ),
        )
        wait_for("Applied", phase_is(sandbox, "Applied", "agrees"), timeout=30)
    assert _ready_reason(below) == "BelowObservedPeak", below["status"]
    assert "below the peak working set Prometheus shows" in below["status"]["message"]
    assert _ready_reason(claimed) == "EvidenceDisagrees", claimed["status"]
    assert "100Mi" in claimed["status"]["message"]
    assert container_resources(deployment_json(sandbox), "app")["requests"]["memory"] == f"{peak_mib + 40}Mi"
    assert not below["status"].get("history") and not claimed["status"].get("history")  # never patched


def test_without_an_answer_from_prometheus_an_approval_waits(
    sandbox: SandboxHandle, operator_config: OperatorConfig
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)
    cfg = dataclasses.replace(operator_config, idle_interval=0.3, prometheus_url="http://127.0.0.1:9")
    with operator_running(cfg):
        propose_and_approve(
            sandbox,
            rr_manifest(
                "web-rr", proposed=resources("250m", "400Mi", memory_limit="1Gi"), evidence=NATIVE_24H
            ),
        )
        waiting = wait_for("Approved", phase_is(sandbox, "Approved"), timeout=30)
        time.sleep(1.5)  # several re-checks: still waiting, never applied
        assert rr_json(sandbox)["status"]["phase"] == "Approved"
    assert _ready_reason(waiting) == "UsageUnavailable", waiting["status"]
    assert container_resources(deployment_json(sandbox), "app") == ORIGINAL


def _ready_reason(rr: dict) -> str | None:
    conditions = (rr.get("status") or {}).get("conditions") or []
    return next((c.get("reason") for c in conditions if c.get("type") == "Ready"), None)


def _dump(rr: dict) -> str:
    return json.dumps(rr.get("status"), indent=1)
