"""Whose credentials the bridge runs with, checked at start-up.

A bridge started with a person's kubeconfig acts as that person: RBAC and the approval policy see the
human, so an assistant could approve through it. Before serving, the bridge asks the API server what
its credentials may do (SelfSubjectAccessReview cluster-wide, SelfSubjectRulesReview per namespace it
can list). If they may approve ResourceRecommendations, patch or update them, or patch or update a
workload, the bridge impersonates its own ServiceAccount when allowed to (and checks again as that
identity); otherwise it refuses to start, unless told `--unsafe-allow-approver-credentials`.

`decide_identity` is the pure decision; `establish_identity` asks the API server and applies it.

While serving, `IdentityGuard` asks again before each proposal, preview or rollback proposal, in the
namespace it acts in (one SelfSubjectRulesReview, kept `interval` seconds): a power granted after
start-up, or held in a namespace the credentials cannot list (start-up reviews only the namespaces it
can list), refuses the tool call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kubernetes import client

from krr_mcp.api.names import BRIDGE_NAME
from krr_mcp.api.resource_recommendation import GROUP, PLURAL
from krr_mcp.api.text import printable
from krr_mcp.kube.client import Kube, KubeError

BRIDGE_SERVICE_ACCOUNT = BRIDGE_NAME
UNSAFE_FLAG = "--unsafe-allow-approver-credentials"
IMPERSONATE_USER = "Impersonate-User"

Mode = Literal["own-credentials", "impersonating", "unsafe-approver-credentials"]


@dataclass(frozen=True)
class Power:
    """One thing the bridge's identity must not be able to do."""

    verb: str
    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}{'.' + self.group if self.group else ''}"


WORKLOADS = (("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("batch", "cronjobs"))
APPROVER_POWERS: tuple[Power, ...] = (
    Power("approve", GROUP, PLURAL),
    Power("patch", GROUP, PLURAL),
    Power("update", GROUP, PLURAL),
    *(Power(verb, group, resource) for group, resource in WORKLOADS for verb in ("patch", "update")),
)


def service_account_user(namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:{BRIDGE_SERVICE_ACCOUNT}"


def _matches(values: Iterable[str], wanted: str) -> bool:
    return any(v in ("*", wanted) for v in values)


def rules_grant(rules: Iterable[dict[str, Any]], power: Power) -> bool:
    """Whether SelfSubjectRulesReview `resourceRules` grant `power` (for some object: a rule limited to
    resourceNames still grants it for those names)."""
    return any(
        _matches(r.get("verbs") or [], power.verb)
        and _matches(r.get("apiGroups") or [], power.group)
        and _matches(r.get("resources") or [], power.resource)
        for r in rules
    )


@dataclass
class Powers:
    """What one identity was found able to do that the bridge must not: `held` in words, where."""

    user: str
    held: list[str] = field(default_factory=list)

    def summary(self, limit: int = 2) -> str:
        shown = "; ".join(self.held[:limit])
        return shown + (f" (and {len(self.held) - limit} more)" if len(self.held) > limit else "")


@dataclass(frozen=True)
class IdentityDecision:
    """How the bridge runs: `mode`, the user to impersonate (or None), a warning to print, or `refusal`
    (one line) when it must not start."""

    mode: Mode | None
    impersonate: str | None = None
    warning: str | None = None
    refusal: str | None = None


def decide_identity(
    own: Powers,
    may_impersonate: bool,
    service_account: Powers | None,
    sa_user: str,
    allow_unsafe: bool,
) -> IdentityDecision:
    """Pure: own credentials when they hold no approver power; else the bridge ServiceAccount when it may
    be impersonated and holds none; else the person's credentials only with `allow_unsafe`."""
    if not own.held:
        return IdentityDecision("own-credentials")
    if may_impersonate and service_account is not None and not service_account.held:
        return IdentityDecision("impersonating", impersonate=sa_user)
    why = f"the credentials of {own.user or 'this kubeconfig'} may {own.summary()}"
    if may_impersonate and service_account is not None:
        why += f", and so may {sa_user} ({service_account.summary(limit=1)})"
    elif not may_impersonate:
        why += f", and may not impersonate {sa_user}"
    if allow_unsafe:
        return IdentityDecision(
            "unsafe-approver-credentials",
            warning=f"WARNING: {why}; serving with them anyway ({UNSAFE_FLAG}): the assistant acts as a "
            "person who can approve, and RBAC and the approval policy cannot tell it apart",
        )
    return IdentityDecision(
        None,
        refusal=f"refusing to start: {why}, so an assistant using the bridge could approve or change "
        f"workloads as that person; use a kubeconfig for the {BRIDGE_SERVICE_ACCOUNT} ServiceAccount, one "
        f"allowed to impersonate it, or pass {UNSAFE_FLAG}",
    )


class AccessReviews:
    """The API server's answers about the identity an ApiClient authenticates as."""

    def __init__(self, api: client.ApiClient) -> None:
        self.kube = Kube(api, BRIDGE_NAME)

    def _review(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        """POST one authorization.k8s.io/v1 review about this identity; its status."""
        review = self.kube.request(
            kind,
            "POST",
            f"/apis/authorization.k8s.io/v1/{kind.lower()}s",
            body={"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec},
        )
        return dict(review.get("status") or {})

    def user(self) -> str:
        try:
            review = self.kube.request(
                "SelfSubjectReview",
                "POST",
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
            )
        except KubeError:
            return ""
        return printable(str(((review.get("status") or {}).get("userInfo") or {}).get("username") or ""))

    def allowed(self, attributes: dict[str, str]) -> bool:
        return bool(
            self._review("SelfSubjectAccessReview", {"resourceAttributes": attributes}).get("allowed")
        )

    def rules(self, namespace: str) -> list[dict[str, Any]]:
        return list(
            self._review("SelfSubjectRulesReview", {"namespace": namespace}).get("resourceRules") or []
        )

    def namespaces(self) -> list[str]:
        """The namespaces this identity may list (none when it may not)."""
        try:
            listed = self.kube.request("namespaces", "GET", "/api/v1/namespaces")
        except KubeError:
            return []
        return [str(n["metadata"]["name"]) for n in listed.get("items") or []]

    def powers(self) -> Powers:
        """Every approver power this identity holds: cluster-wide (SelfSubjectAccessReview), then in each
        namespace it can list (SelfSubjectRulesReview, which includes namespaced RoleBindings)."""
        found = Powers(user=self.user())
        for power in APPROVER_POWERS:
            attributes = {"verb": power.verb, "group": power.group, "resource": power.resource}
            if self.allowed(attributes):
                found.held.append(f"{power} in all namespaces")
        cluster_wide = {h.removesuffix(" in all namespaces") for h in found.held}
        for namespace in self.namespaces():
            rules = self.rules(namespace)
            found.held.extend(
                f"{power} in namespace {namespace}"
                for power in APPROVER_POWERS
                if str(power) not in cluster_wide and rules_grant(rules, power)
            )
        return found

    def may_impersonate(self, namespace: str) -> bool:
        return self.allowed(
            {
                "verb": "impersonate",
                "group": "",
                "resource": "serviceaccounts",
                "namespace": namespace,
                "name": BRIDGE_SERVICE_ACCOUNT,
            }
        )


def establish_identity(
    connect: Callable[[], client.ApiClient], bridge_namespace: str, allow_unsafe: bool
) -> tuple[client.ApiClient, IdentityDecision]:
    """Check the credentials `connect` gives; the ApiClient to serve with (impersonating the bridge
    ServiceAccount when that is the decision) and the decision. KubeError when the API server cannot
    answer (the bridge does not start on a guess)."""
    api = connect()
    reviews = AccessReviews(api)
    own = reviews.powers()
    sa_user = service_account_user(bridge_namespace)
    may_impersonate = bool(own.held) and reviews.may_impersonate(bridge_namespace)
    as_sa: Powers | None = None
    impersonated: client.ApiClient | None = None
    if may_impersonate:
        impersonated = connect()
        impersonated.set_default_header(IMPERSONATE_USER, sa_user)
        as_sa = AccessReviews(impersonated).powers()
    decision = decide_identity(own, may_impersonate, as_sa, sa_user, allow_unsafe)
    if decision.mode == "impersonating" and impersonated is not None:
        return impersonated, decision
    return api, decision


def held_in(rules: Iterable[dict[str, Any]]) -> list[str]:
    """The approver powers a namespace's SelfSubjectRulesReview rules grant, in words."""
    rules = list(rules)
    return [str(power) for power in APPROVER_POWERS if rules_grant(rules, power)]


class IdentityGuard:
    """While serving: whether the serving identity holds no approver power in a namespace, asked of the
    API server once per `interval` seconds per namespace (fail closed: no answer, no action)."""

    def __init__(
        self, reviews: AccessReviews, interval: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.reviews = reviews
        self.interval = interval
        self.clock = clock
        self._answers: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def problem(self, namespace: str) -> str | None:
        """Why the bridge must not act in `namespace` now (one sentence), or None."""
        now = self.clock()
        with self._lock:
            known = self._answers.get(namespace)
        if known is not None and now - known[0] < self.interval:
            return known[1]
        try:
            held = held_in(self.reviews.rules(namespace))
        except KubeError as exc:
            answer: str | None = (
                f"the bridge cannot learn what its identity may do in namespace {namespace} ({exc}), so it "
                "does not act there"
            )
        else:
            answer = (
                f"the bridge's identity may {'; '.join(held[:2])} in namespace {namespace}, so an assistant "
                "could change workloads or approve through it: give the bridge only its ServiceAccount's "
                f"rights there (or run it with {UNSAFE_FLAG})"
                if held
                else None
            )
        with self._lock:
            self._answers[namespace] = (now, answer)
        return answer
