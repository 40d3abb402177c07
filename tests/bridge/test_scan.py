"""scan_recommendations and explain_recommendation on the native engine, against a real Prometheus
holding generated usage history for the sandbox's workloads; then scan -> preview -> propose."""

from __future__ import annotations

import copy
import json
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from typer.testing import CliRunner

from krr_mcp.api.policy import BUILTIN_POLICY
from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.api.resource_recommendation import ContainerResources
from krr_mcp.core.safety.container_rules import within_max_step
from krr_mcp.kubectl_plugin import app as plugin_app
from krr_mcp.sandbox.testing import SandboxHandle
from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings

from .bridge_support import assert_nothing_approved, list_rrs


@pytest.fixture
def prometheus_url(cluster: SandboxHandle, tmp_path: Path) -> Iterator[str]:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus')")
    from krr_mcp.demo.history import history_for
    from krr_mcp.metrics_history import PrometheusProcess, build_tsdb

    listed = cluster.kubectl("get", "deployments,statefulsets,daemonsets,cronjobs", "-A", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    workloads = json.loads(listed.stdout)["items"]
    end = (int(time.time()) // 60 + 10) * 60  # a little past now: the scan asks which pods run now
    tsdb = build_tsdb(history_for(workloads, end, days=1), tmp_path / "history")
    with PrometheusProcess(tsdb) as prometheus:
        yield prometheus.url


@pytest.fixture
def scanning_server(cluster: SandboxHandle, prometheus_url: str) -> MCPServer:
    return build_server(
        BridgeSettings(kubeconfig=str(cluster.kubeconfig), prometheus_url=prometheus_url, source="native")
    )


async def test_scan_explain_preview_propose(scanning_server: MCPServer, cluster: SandboxHandle) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(scanning_server) as client:
        scan = await client.call_tool(
            "scan_recommendations", {"namespaces": ["shop", "billing"]}, progress_callback=on_progress
        )
        assert not scan.is_error, scan.content
        out: Any = scan.structured_content
        explain = await client.call_tool(
            "explain_recommendation",
            {"namespace": "shop", "kind": "Deployment", "name": "web", "container": "web"},
        )
        web = next(i for i in out["items"] if (i["name"], i["container"]) == ("web", "web"))
        # The assistant names the recommendation (scan, workload, container), never the numbers.
        choice = {"namespace": "shop", "kind": "Deployment", "name": "web", "containers": [{"name": "web"}]}
        preview = await client.call_tool("preview_change", choice | {"scan_id": out["scan_id"]})
        # The raw recommendation cuts more than the policy's max step (50%) allows: the bridge steps it.
        propose = await client.call_tool(
            "propose_change",
            {
                "proposals": [choice | {"within_max_step": True}],
                "reason": "scan: web uses 12% of its CPU",
                "scan_id": out["scan_id"],
            },
        )
    assert out["source"] == "native" and "native" in out["source_reason"]
    assert {(i["namespace"], i["name"]) for i in out["items"]} >= {("shop", "web"), ("billing", "api")}
    assert out["summary"]["containers"] == len(out["items"])
    assert web["proposable"] is True and web["severity"] in ("WARNING", "CRITICAL")
    # web is over-provisioned (uses ~12% of 1 core): the recommendation is well below the request.
    assert web["recommended"]["requests"]["cpu"].endswith("m")
    assert len(progress) >= 2 and progress[-1][:2] == (out["summary"]["containers"],) * 2
    assert not explain.is_error, explain.content
    lines = explain.structured_content["explanation"]["lines"]  # type: ignore[index]
    assert any("data points" in line for line in lines) and any("recommended" in line for line in lines)
    assert not preview.is_error, preview.content
    refused = preview.structured_content  # type: ignore[assignment]
    assert refused["would_be_refused"] is True  # type: ignore[index]
    assert any(f["rule"] == "max-step" for f in refused["safety"]["findings"])  # type: ignore[index]
    assert not propose.is_error, propose.content
    [created] = propose.structured_content["created"]  # type: ignore[index]
    rr = cluster.get("krr-mcp.io/v1alpha1", "ResourceRecommendation", created["name"], "shop")
    assert rr is not None and rr["spec"]["evidence"]["source"] == "native"
    assert rr["spec"]["evidence"]["scanId"] == out["scan_id"]
    [container] = rr["spec"]["containers"]
    assert container["usage"]["memoryPeak"] == web["usage"]["memoryPeak"]
    current, recommended = (ContainerResources.model_validate(web[k]) for k in ("current", "recommended"))
    stepped = within_max_step(current, recommended, BUILTIN_POLICY)
    assert container["proposed"] == stepped.model_dump(exclude_none=True)
    assert container["valuesFrom"] == "scan-within-max-step"
    assert_nothing_approved(cluster)


async def test_usage_evidence_is_the_bridges_own_never_the_assistants(
    scanning_server: MCPServer, cluster: SandboxHandle
) -> None:
    """Issue 15, item 9: the same change was refused with a claimed peak of 900Mi and allowed with a
    claimed 100Mi. The assistant can no longer claim anything: `usage` and `evidence` are not arguments,
    and with a scan_id the RR carries, and the safety rules check, the usage the bridge's scan observed."""
    async with Client(scanning_server) as client:
        scan = await client.call_tool("scan_recommendations", {"namespaces": ["shop"]})
        out: Any = scan.structured_content
        web = next(i for i in out["items"] if (i["name"], i["container"]) == ("web", "web"))
        cut = web_override(below_peak(web))
        lie = copy.deepcopy(cut)
        lie["containers"][0]["usage"] = {"memoryPeak": "100Mi", "oomKilled": False}
        claimed = await client.call_tool("propose_change", {"proposals": [lie], "reason": "claimed peak"})
        claimed_evidence = await client.call_tool(
            "propose_change",
            {"proposals": [cut], "reason": "x", "evidence": {"source": "krr", "history_hours": 9999}},
        )
        checked = await client.call_tool(
            "propose_change", {"proposals": [cut], "reason": "below the peak", "scan_id": out["scan_id"]}
        )
        forged_id = await client.call_tool(
            "propose_change", {"proposals": [cut], "reason": "x", "scan_id": "0123456789abcdef"}
        )
    assert claimed.is_error and "containers.0.usage" in claimed.content[0].text  # type: ignore[union-attr]
    assert claimed_evidence.is_error and "unknown argument(s) 'evidence'" in claimed_evidence.content[0].text  # type: ignore[union-attr]
    assert checked.is_error, checked.content
    text = checked.content[0].text  # type: ignore[union-attr]
    assert "memory-below-peak" in text and "Nothing was created" in text, text
    assert forged_id.is_error and "is not kept" in forged_id.content[0].text  # type: ignore[union-attr]
    assert_nothing_approved(cluster)
    assert list_rrs(cluster) == []


def below_peak(item: dict[str, Any]) -> str:
    """A memory amount 5% under the peak working set the scan observed for `item`."""
    peak = parse_resource_quantity(item["usage"]["memoryPeak"], "memory")
    return f"{int(peak * Decimal('0.95') / 2**20)}Mi"


def web_override(memory: str) -> dict[str, Any]:
    """shop/web with the assistant's own numbers (an override) instead of the scan's recommendation."""
    values = {"requests": {"cpu": "500m", "memory": memory}, "limits": {"memory": "1Gi"}}
    return {
        "namespace": "shop",
        "kind": "Deployment",
        "name": "web",
        "containers": [{"name": "web", "override": values}],
    }


async def test_the_numbers_are_the_scans_and_an_override_is_the_assistants(
    scanning_server: MCPServer, cluster: SandboxHandle
) -> None:
    """Issue 15, item 9: the assistant names which recommendation of a scan to propose; the RR's numbers
    are the scan's. Numbers of its own (an `override`, when the user asked) are recorded as its
    assertion and the reviewer's `kubectl krr show` says so; without a scan_id there is nothing to
    propose but an override."""
    async with Client(scanning_server) as client:
        out: Any = (
            await client.call_tool("scan_recommendations", {"namespaces": ["shop"]})
        ).structured_content
        web = next(i for i in out["items"] if (i["name"], i["container"]) == ("web", "web"))
        choice = {"namespace": "shop", "kind": "Deployment", "name": "web", "containers": [{"name": "web"}]}
        scan_id = out["scan_id"]
        from_scan = await client.call_tool(
            "propose_change",
            {"proposals": [choice | {"within_max_step": True}], "reason": "scan", "scan_id": scan_id},
        )
        no_scan = await client.call_tool("propose_change", {"proposals": [choice], "reason": "no scan"})
        values = {"requests": {"cpu": "700m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
        overridden = choice | {"containers": [{"name": "web", "override": values}]}
        asserted = await client.call_tool(
            "propose_change", {"proposals": [overridden], "reason": "the user wants 700m", "scan_id": scan_id}
        )
    assert not from_scan.is_error, from_scan.content
    assert no_scan.is_error and "no scan_id" in no_scan.content[0].text  # type: ignore[union-attr]
    assert not asserted.is_error, asserted.content
    rrs = {rr["spec"]["reason"]: rr for rr in list_rrs(cluster)}
    [scanned] = rrs["scan"]["spec"]["containers"]
    current, recommended = (ContainerResources.model_validate(web[k]) for k in ("current", "recommended"))
    assert scanned["proposed"] == within_max_step(current, recommended, BUILTIN_POLICY).model_dump(
        exclude_none=True
    )
    assert scanned["valuesFrom"] in ("scan", "scan-within-max-step")
    [mine] = rrs["the user wants 700m"]["spec"]["containers"]
    assert mine["valuesFrom"] == "assistant" and mine["proposed"] == values
    assert mine["usage"] == scanned["usage"]  # still the scan's usage, checked by the safety rules
    name = rrs["the user wants 700m"]["metadata"]["name"]
    shown = CliRunner().invoke(
        plugin_app,
        ["show", name, "-n", "shop", "--kubeconfig", str(cluster.kubeconfig)],
        env={"COLUMNS": "300"},
    )
    assert "ASSISTANT'S ASSERTION" in shown.stdout, shown.output
    assert_nothing_approved(cluster)


async def test_preview_checks_the_scans_usage(scanning_server: MCPServer, cluster: SandboxHandle) -> None:
    """preview_change with a scan_id checks the numbers against the usage that scan observed, as
    propose_change does: memory under the observed peak is refused in the preview too."""
    async with Client(scanning_server) as client:
        out: Any = (
            await client.call_tool("scan_recommendations", {"namespaces": ["shop"]})
        ).structured_content
        web = next(i for i in out["items"] if (i["name"], i["container"]) == ("web", "web"))
        preview = await client.call_tool(
            "preview_change", web_override(below_peak(web)) | {"scan_id": out["scan_id"]}
        )
    assert not preview.is_error, preview.content
    result: Any = preview.structured_content
    assert result["would_be_refused"] is True
    assert "memory-below-peak" in {
        f["rule"] for f in result["safety"]["findings"] if f["severity"] == "refuse"
    }
    assert list_rrs(cluster) == []


async def test_scan_without_a_reachable_source_is_a_clear_error(server: MCPServer) -> None:
    async with Client(server) as client:
        result = await client.call_tool("scan_recommendations", {"namespaces": ["shop"], "source": "krr"})
    assert result.is_error
    assert "the scan failed" in result.content[0].text  # type: ignore[union-attr]


async def test_scan_pages_are_one_scan_with_its_totals_on_every_page(scanning_server: MCPServer) -> None:
    arguments: dict[str, Any] = {"namespaces": ["shop", "billing"]}
    async with Client(scanning_server) as client:
        whole: Any = (await client.call_tool("scan_recommendations", arguments)).structured_content
        assert whole["next_cursor"] is None and whole["total"] == len(whole["items"]) >= 5
        pages = []
        page: Any = (
            await client.call_tool("scan_recommendations", arguments | {"limit": 2})
        ).structured_content
        while True:
            pages.append(page)
            if not page["next_cursor"]:
                break
            result = await client.call_tool(
                "scan_recommendations", arguments | {"limit": 2, "cursor": page["next_cursor"]}
            )
            assert not result.is_error, result.content
            page = result.structured_content
        assert len(pages) == -(-whole["total"] // 2)
        keys = [(i["namespace"], i["name"], i["container"]) for p in pages for i in p["items"]]
        assert keys == [(i["namespace"], i["name"], i["container"]) for i in whole["items"]]
        assert len({p["scanned_at"] for p in pages}) == 1  # the same scan, not a new one per page
        for p in pages:
            assert p["summary"] == pages[0]["summary"] and p["total"] == whole["total"]
            assert set(p["by_namespace"]) == {"shop", "billing"}
            assert sum(s["containers"] for s in p["by_namespace"].values()) == whole["total"]
            assert sum(s["proposable"] for s in p["by_namespace"].values()) == p["summary"]["proposable"]
        other = await client.call_tool(
            "scan_recommendations", {"namespaces": ["shop"], "cursor": pages[0]["next_cursor"]}
        )
        assert other.is_error and "other arguments" in other.content[0].text  # type: ignore[union-attr]


async def test_scan_with_simple_limit_recommends_cpu_limits(scanning_server: MCPServer) -> None:
    async with Client(scanning_server) as client:
        result = await client.call_tool(
            "scan_recommendations", {"namespaces": ["billing"], "strategy": "simple_limit"}
        )
        assert not result.is_error, result.content
        out: Any = result.structured_content
        assert out["strategy"] == "simple_limit" and out["settings"]["cpu_limit"] == 96
        proposable = [i for i in out["items"] if i["proposable"]]
        assert proposable
        for item in proposable:
            assert item["recommended"]["limits"]["cpu"] and item["usage"]["cpuPeakCores"]
        explained = await client.call_tool(
            "explain_recommendation",
            {"namespace": "billing", "kind": "Deployment", "name": "api", "container": "api",
             "strategy": "simple_limit"},
        )  # fmt: skip
        assert not explained.is_error and "p66 (request) and p96 (limit)" in explained.content[0].text  # type: ignore[union-attr]
