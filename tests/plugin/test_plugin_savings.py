"""`kubectl krr list` sorts and sums what recommendations save: namespace by namespace, the largest
monthly saving first, then each namespace's sum and the total (the operator's `status.savings`, written
here through the status subresource as the operator writes it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from kubernetes import client

from krr_mcp.api.resource_recommendation import GROUP, PLURAL, VERSION, Phase
from krr_mcp.core.savings import counted_saving
from krr_mcp.kubectl_plugin import views

from .test_plugin_sandbox import RR_NAME, InProcess, Kubectl, krr, kubectl, rr_manifest  # noqa: F401


def savings(monthly: Any, currency: str = "EUR") -> dict[str, Any]:
    return {
        "replicas": 2, "cpuCores": 1.5, "memoryBytes": 0.0, "monthly": monthly, "currency": currency,
        "cpuPerCoreHour": 0.05, "memoryPerGiBHour": 0.01, "pricesFrom": "test",
        "perMonth": f"{monthly} {currency}",
    }  # fmt: skip


def add_rr(sandbox: Any, run: Kubectl, namespace: str, name: str, status: dict[str, Any]) -> None:
    manifest = rr_manifest(name)
    manifest["metadata"]["namespace"] = namespace
    created = run("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert created.returncode == 0, created.stderr
    with sandbox.api_client() as api:
        client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": status}
        )


def test_list_sorts_by_namespace_and_savings_and_sums_each_namespace(
    kubectl: Kubectl,  # noqa: F811
    krr: InProcess,  # noqa: F811
    seeded_sandbox: Any,
) -> None:
    add_rr(seeded_sandbox, kubectl, "shop", RR_NAME, {"savings": savings(10.5)})  # the fixture's RR
    add_rr(seeded_sandbox, kubectl, "shop", "a-small", {"savings": savings(1.25)})
    add_rr(seeded_sandbox, kubectl, "shop", "b-large", {"savings": savings(40)})
    add_rr(seeded_sandbox, kubectl, "shop", "c-unpriced", {})
    add_rr(seeded_sandbox, kubectl, "billing", "z-costs-more", {"savings": savings(-3.1)})

    rows = json.loads(krr("krr", "list", "-A", "-o", "json").stdout)
    assert [(r["namespace"], r["name"], r["saves"]) for r in rows] == [
        ("billing", "z-costs-more", "-3.10 EUR"),
        ("shop", "b-large", "40.00 EUR"),
        ("shop", RR_NAME, "10.50 EUR"),
        ("shop", "a-small", "1.25 EUR"),
        ("shop", "c-unpriced", "-"),
    ]
    plain = kubectl("krr", "list", "-A")
    assert plain.returncode == 0, plain.stderr
    table, sums = plain.stdout.split("\n\n")
    assert "SAVES/MONTH" in table.splitlines()[0].split()
    assert [line.split() for line in sums.splitlines()] == [
        ["NAMESPACE", "OPEN", "SAVES/MONTH", "APPLIED", "APPLIED", "SAVES/MONTH"],
        ["billing", "1", "-3.10", "EUR", "0", "-"],
        ["shop", "3", "51.75", "EUR", "0", "-"],
        ["(all)", "4", "48.65", "EUR", "0", "-"],
    ]


def test_another_currency_is_summed_apart(
    kubectl: Kubectl,  # noqa: F811
    krr: InProcess,  # noqa: F811
    seeded_sandbox: Any,
) -> None:
    add_rr(seeded_sandbox, kubectl, "shop", RR_NAME, {"savings": savings(2)})
    add_rr(seeded_sandbox, kubectl, "shop", "usd", {"savings": savings(5, "USD")})
    add_rr(seeded_sandbox, kubectl, "shop", "eur", {"savings": savings(0.5)})
    plain = kubectl("krr", "list", "-n", "shop")
    assert plain.returncode == 0, plain.stderr
    _, sums = plain.stdout.split("\n\n")
    assert [line.split() for line in sums.splitlines()[1:]] == [
        ["shop", "2", "2.50", "EUR", "0", "-"],
        ["shop", "1", "5.00", "USD", "0", "-"],
    ]


@pytest.mark.parametrize(
    "savings_field",
    [{"monthly": "NaN", "currency": "EUR"}, {"monthly": float("inf"), "currency": "EUR"},
     {"monthly": True, "currency": "EUR"}, {"monthly": 1.0}, {"monthly": 1.0, "currency": 3}, "x", None],
)  # fmt: skip
def test_a_malformed_saving_is_none(savings_field: Any) -> None:
    """The API server's schema refuses these; read from anywhere else, they are shown as none, never
    summed."""
    rr = {"metadata": {"namespace": "shop", "name": "x"}, "status": {"savings": savings_field}}
    assert views.monthly_savings(rr) is None
    assert views.savings_rows([rr]) == []


# every phase: what its saving counts as (None: in no sum). Refused before the operator saw it counts too.
STANDING = {
    "Proposed": "open", "Approved": "open", "Applying": "open", "Applied": "applied",
    "Rejected": None, "Expired": None, "Superseded": None, "Stale": None, "Failed": None,
    "RollingBack": None, "RolledBack": None,
}  # fmt: skip


def test_every_phase_has_a_standing() -> None:
    assert set(STANDING) == {str(p) for p in Phase}


@pytest.mark.parametrize(("phase", "standing"), STANDING.items())
def test_only_open_proposals_and_applied_changes_count(phase: str, standing: str | None) -> None:
    rr = {"metadata": {"namespace": "shop", "name": "x"}, "status": {"phase": phase, "savings": savings(7)}}
    found = counted_saving(rr)
    assert (found.standing if found else None) == standing
    refused = {**rr, "spec": {"rejected": True}}
    assert counted_saving(refused) is None or phase == "Applied"


def test_list_sums_open_proposals_and_applied_changes_apart_and_never_ended_ones(
    kubectl: Kubectl,  # noqa: F811
    krr: InProcess,  # noqa: F811
    seeded_sandbox: Any,
) -> None:
    """Rejected, Superseded, Expired, rolled back: priced before they ended, in no sum."""
    add_rr(seeded_sandbox, kubectl, "shop", RR_NAME, {"savings": savings(10)})  # Proposed
    add_rr(seeded_sandbox, kubectl, "shop", "approved", {"phase": "Approved", "savings": savings(5)})
    add_rr(seeded_sandbox, kubectl, "shop", "applied", {"phase": "Applied", "savings": savings(20)})
    for phase in ("Rejected", "Superseded", "Expired", "RolledBack", "Failed", "Stale"):
        add_rr(seeded_sandbox, kubectl, "shop", phase.lower(), {"phase": phase, "savings": savings(1000)})
    add_rr(seeded_sandbox, kubectl, "billing", "old", {"phase": "Expired", "savings": savings(1000)})
    plain = kubectl("krr", "list", "-A")
    assert plain.returncode == 0, plain.stderr
    _, sums = plain.stdout.split("\n\n")
    assert [line.split() for line in sums.splitlines()[1:]] == [
        ["shop", "2", "15.00", "EUR", "1", "20.00", "EUR"]
    ]
