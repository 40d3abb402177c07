"""What the e2e suite sends is valid where it can be checked without a cluster (runs everywhere, unmarked):
the objects against the Kubernetes schemas, the recommendation against the CRD model, and the names it
looks up in config/ exist there. So the e2e suite cannot rot silently where Docker is absent."""

from __future__ import annotations

import kubernetes_validate
from krr_operator.api.resource_recommendation import ResourceRecommendation

from . import test_kind_loop as loop


def test_workload_matches_the_kubernetes_schema() -> None:
    kubernetes_validate.validate(loop.workload(), kubernetes_validate.latest_version(), strict=True)


def test_self_approved_recommendation_passes_the_crd_model() -> None:
    """Valid for the CRD, so that only the admission policy can be what refuses it in the cluster."""
    manifest = loop.self_approved_recommendation("e2e-check")
    rr = ResourceRecommendation.model_validate(manifest)
    assert rr.spec.approved and rr.spec.approvedBy


def test_config_has_what_the_loop_looks_up() -> None:
    assert loop.approver_role()
    assert loop.rendered_names("ValidatingAdmissionPolicy")
    deployments = set(loop.rendered_names("Deployment"))
    assert {"krr-mcp-operator", "krr-mcp-bridge"} <= deployments
    services = loop.rendered_names("Service")
    assert "krr-mcp-bridge" in services


def test_proposal_matches_the_bridge_input_model() -> None:
    from krr_mcp_bridge.inputs import WorkloadProposal

    proposal = WorkloadProposal.model_validate(loop.web_proposal())
    assert proposal.name == "web"
