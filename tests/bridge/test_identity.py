"""The bridge refuses to serve with credentials that may approve or change workloads (issue 15, item 6):
the decision (pure), the access reviews it reads, and `krr-mcp serve` on the sandbox, which enforces no
RBAC and so answers every review "allowed" (its single user may do anything: the bridge refuses unless
told --unsafe-allow-approver-credentials). The real API server: tests/realcluster/test_bridge_identity.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from krr_mcp.sandbox.testing import SandboxHandle
from mcp_bridge.identity import (
    APPROVER_POWERS,
    UNSAFE_FLAG,
    AccessReviews,
    Power,
    Powers,
    decide_identity,
    rules_grant,
    service_account_user,
)

from .test_transports import KRR_MCP

SA = service_account_user("krr-mcp-system")
ALICE = Powers("alice", ["approve resourcerecommendations.krr-mcp.io in all namespaces"])
NOTHING = Powers(SA)


def test_credentials_without_approver_powers_are_used_as_they_are() -> None:
    decision = decide_identity(
        Powers("system:serviceaccount:krr-mcp-system:krr-mcp-bridge"), False, None, SA, False
    )
    assert decision.mode == "own-credentials" and decision.impersonate is None and decision.refusal is None


def test_an_approver_who_may_impersonate_runs_as_the_bridge_service_account() -> None:
    decision = decide_identity(ALICE, True, NOTHING, SA, False)
    assert (decision.mode, decision.impersonate) == ("impersonating", SA)


def test_an_approver_who_may_not_impersonate_is_refused_in_one_line() -> None:
    decision = decide_identity(ALICE, False, None, SA, False)
    assert decision.mode is None and decision.refusal is not None
    assert "\n" not in decision.refusal
    assert "alice may approve resourcerecommendations" in decision.refusal
    assert f"may not impersonate {SA}" in decision.refusal and UNSAFE_FLAG in decision.refusal


def test_an_overpowered_service_account_is_no_way_out() -> None:
    decision = decide_identity(
        ALICE, True, Powers(SA, ["patch deployments.apps in namespace shop"]), SA, False
    )
    assert decision.refusal is not None and "and so may" in decision.refusal


def test_the_unsafe_flag_serves_with_the_persons_credentials_and_says_so() -> None:
    decision = decide_identity(ALICE, False, None, SA, True)
    assert decision.mode == "unsafe-approver-credentials" and decision.impersonate is None
    assert decision.warning is not None and decision.warning.startswith("WARNING")


@pytest.mark.parametrize(
    ("rules", "granted"),
    [
        ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}], True),
        (
            [{"verbs": ["approve"], "apiGroups": ["krr-mcp.io"], "resources": ["resourcerecommendations"]}],
            True,
        ),
        (
            [
                {
                    "verbs": ["approve"],
                    "apiGroups": ["krr-mcp.io"],
                    "resources": ["resourcerecommendations"],
                    "resourceNames": ["one"],
                }
            ],
            True,
        ),
        ([{"verbs": ["get", "list", "create"], "apiGroups": ["krr-mcp.io"], "resources": ["*"]}], False),
        ([{"verbs": ["approve"], "apiGroups": ["apps"], "resources": ["resourcerecommendations"]}], False),
        ([], False),
    ],
)
def test_rules_review_answers(rules: list[dict[str, list[str]]], granted: bool) -> None:
    assert rules_grant(rules, Power("approve", "krr-mcp.io", "resourcerecommendations")) is granted


def test_the_sandbox_answers_the_reviews_as_an_api_server_without_rbac(seeded_sandbox: SandboxHandle) -> None:
    with seeded_sandbox.api_client() as api:
        reviews = AccessReviews(api)
        powers = reviews.powers()
        assert reviews.may_impersonate("krr-mcp-system")
    assert powers.user and len(powers.held) == len(APPROVER_POWERS)


def _serve(
    cluster: SandboxHandle, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "KRR_MCP_UNSAFE_ALLOW_APPROVER_CREDENTIALS"}
    return subprocess.run(
        [str(KRR_MCP), "serve", "--kubeconfig", str(cluster.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,  # stdio: the server stops at end of input
        env=base | (env or {}),
        check=False,
    )


def test_serve_refuses_approver_credentials_in_one_line(cluster: SandboxHandle) -> None:
    done = _serve(cluster)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("krr-mcp serve: refusing to start: "), done.stderr
    assert "may approve resourcerecommendations.krr-mcp.io" in lines[0] and UNSAFE_FLAG in lines[0]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_serve_with_the_unsafe_flag_starts_and_warns(cluster: SandboxHandle, how: str) -> None:
    if how == "flag":
        done = _serve(cluster, UNSAFE_FLAG)
    else:
        done = _serve(cluster, env={"KRR_MCP_UNSAFE_ALLOW_APPROVER_CREDENTIALS": "1"})
    assert done.returncode == 0, done.stderr
    assert "WARNING" in done.stderr and "refusing" not in done.stderr


def test_serve_cannot_check_an_unreachable_api_server(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\nusers: [{name: x, user: {}}]\n"
    )
    done = subprocess.run(
        [str(KRR_MCP), "serve", "--kubeconfig", str(config)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "cannot learn what these credentials may do" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_guard_asks_again_after_its_interval_and_fails_closed() -> None:
    """IdentityGuard: one rules review per namespace, kept `interval` seconds; no answer, no action."""
    from krr_mcp.kube.client import KubeError
    from mcp_bridge.identity import IdentityGuard

    answers: list[object] = [[], [{"verbs": ["patch"], "apiGroups": ["apps"], "resources": ["deployments"]}]]
    asked: list[str] = []

    class Reviews:
        def rules(self, namespace: str) -> list[dict]:
            asked.append(namespace)
            answer = answers.pop(0) if answers else KubeError("connection refused")
            if isinstance(answer, KubeError):
                raise answer
            return answer  # type: ignore[return-value]

    now = [0.0]
    guard = IdentityGuard(Reviews(), interval=10, clock=lambda: now[0])  # type: ignore[arg-type]
    assert guard.problem("shop") is None and guard.problem("shop") is None and asked == ["shop"]
    now[0] = 11
    granted = guard.problem("shop")
    assert granted is not None and "may patch deployments.apps in namespace shop" in granted
    now[0] = 22
    unanswered = guard.problem("shop")
    assert unanswered is not None and "cannot learn what its identity may do in namespace shop" in unanswered
