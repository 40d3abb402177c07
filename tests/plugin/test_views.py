"""Pure views: list rows, change percentages, ages, audit rows, the workload diff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from krr_mcp.kubectl_plugin.describe import describe
from krr_mcp.kubectl_plugin.errors import Refused
from krr_mcp.kubectl_plugin.views import age, audit_rows, change_percent, filter_rrs, list_rows
from krr_mcp.kubectl_plugin.workload_diff import (
    proposed_resources,
    rollback_resources,
    unified_diff,
    with_resources,
)

from ..builders import APPLY_ENTRY, bridge_rr

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "proposed", "resource", "expected"),
    [
        ("500m", "250m", "cpu", "-50%"),
        ("0.5", "500m", "cpu", "0%"),
        ("1Gi", "1536Mi", "memory", "+50%"),
        (None, "100m", "cpu", "new"),
        ("1", None, "cpu", "removed"),
        (None, None, "cpu", "-"),
        ("1e3", "2k", "memory", "+100%"),
        ("0", "0", "cpu", "0%"),
    ],
)
def test_change_percent(current: str | None, proposed: str | None, resource: str, expected: str) -> None:
    assert change_percent(current, proposed, resource) == expected


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-25T09:59:15Z", "45s"),
        ("2026-11-25T09:48:00Z", "12m"),
        ("2026-11-25T05:00:00Z", "5h"),
        ("2026-11-22T10:00:00Z", "3d"),
    ],
)
def test_age(stamp: str, expected: str) -> None:
    assert age(stamp, NOW) == expected


def test_list_rows_and_filters() -> None:
    rrs = [bridge_rr("b"), bridge_rr("a", phase="Applied", approved=True)]
    rows = list_rows(filter_rrs(rrs, [], []), NOW)
    assert [r["name"] for r in rows] == ["a", "b"]
    assert rows[1] | {} == {
        "namespace": "default",
        "name": "b",
        "target": "Deployment/web",
        "container": "app",
        "cpu": "500m -> 250m",
        "cpu_change": "-50%",
        "memory": "512Mi -> 640Mi",
        "memory_change": "+25%",
        "saves": "-",  # not priced yet: no status.savings
        "risk": "-",
        "phase": "Proposed",
        "age": "1h",
    }
    assert [r["name"] for r in list_rows(filter_rrs(rrs, ["applied"], []), NOW)] == ["a"]
    assert filter_rrs(rrs, [], ["Deployment/web"]) and not filter_rrs(rrs, [], ["api"])


def test_audit_rows_show_approval_and_history() -> None:
    rr = bridge_rr(approved=True, phase="Applied", history=[APPLY_ENTRY])
    rr["status"]["approvedAt"] = "2026-11-25T09:04:00Z"
    rows = audit_rows([rr])
    assert [(r["event"], r["actor"], r["time"]) for r in rows] == [
        ("approve", "alice", "2026-11-25T09:04:00Z"),
        ("apply", "alice", "2026-11-25T09:05:00Z"),
    ]
    assert "cpu 500m -> 250m" in rows[1]["detail"]


def test_describe_has_every_reviewer_section() -> None:
    titles = [s.title for s in describe(bridge_rr(history=[APPLY_ENTRY]), NOW)]
    assert titles == [
        "Recommendation",
        "Reason (the proposer's words, not checked)",
        "Proposed change",
        "Evidence",
        "Observed usage",
        "Safety",
        "History",
        "Conditions",
    ]


WORKLOAD = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "managedFields": [{"manager": "x"}]},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "nginx",
                        "resources": {
                            "requests": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
                            "limits": {"memory": "1Gi", "cpu": "2"},
                        },
                    },
                    {"name": "sidecar", "image": "envoy"},
                ]
            }
        }
    },
    "status": {"readyReplicas": 1},
}


def test_with_resources_sets_exactly_the_proposal_and_keeps_other_resources() -> None:
    after = with_resources(WORKLOAD, proposed_resources(bridge_rr()))
    app = after["spec"]["template"]["spec"]["containers"][0]
    assert app["resources"] == {
        "requests": {"cpu": "250m", "memory": "640Mi", "ephemeral-storage": "1Gi"},
        "limits": {"memory": "640Mi"},
    }
    assert after["spec"]["template"]["spec"]["containers"][1] == {"name": "sidecar", "image": "envoy"}
    assert WORKLOAD["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "2"


def test_with_resources_refuses_a_missing_container() -> None:
    gone = {**WORKLOAD, "spec": {"template": {"spec": {"containers": [{"name": "other"}]}}}}
    with pytest.raises(Refused, match="no container named app"):
        with_resources(gone, proposed_resources(bridge_rr()))


def test_cronjob_pod_template() -> None:
    cron = {
        "kind": "CronJob",
        "spec": {
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"name": "app", "resources": {}}]}}}
            }
        },
    }
    after = with_resources(cron, proposed_resources(bridge_rr()))
    job = after["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert job["resources"]["requests"] == {"cpu": "250m", "memory": "640Mi"}


def test_unified_diff_is_kubectl_diff_like() -> None:
    text = unified_diff(
        WORKLOAD, with_resources(WORKLOAD, proposed_resources(bridge_rr())), "Deployment.default.web"
    )
    assert text.startswith("--- live/Deployment.default.web\n+++ proposed/Deployment.default.web\n")
    changed = [line[0] + line[1:].strip() for line in text.splitlines()[2:] if line[:1] in "+-"]
    assert changed == [
        "-cpu: '2'",
        "-memory: 1Gi",
        "+memory: 640Mi",
        "-cpu: 500m",
        "+cpu: 250m",
        "-memory: 512Mi",
        "+memory: 640Mi",
    ]
    assert "managedFields" not in text and "readyReplicas" not in text
    assert unified_diff(WORKLOAD, WORKLOAD, "x") == ""


def test_rollback_resources_are_the_last_apply_before() -> None:
    rr = bridge_rr(approved=True, phase="Applied", history=[APPLY_ENTRY])
    assert rollback_resources(rr) == {"app": APPLY_ENTRY["containers"][0]["before"]}


def test_show_ends_with_the_next_command_for_the_phase() -> None:
    from krr_mcp.kubectl_plugin.cli import next_step

    assert next_step(bridge_rr(resource_version="9")) == (
        "To approve exactly what you just read: kubectl krr approve web-rr -n default --resource-version 9"
    )
    applied = bridge_rr(approved=True, phase="Applied", history=[APPLY_ENTRY])
    assert next_step(applied) == "To restore the previous resources: kubectl krr rollback web-rr -n default"
    assert next_step(bridge_rr(rejected=True, phase="Rejected")) is None
