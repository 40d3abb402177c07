"""The namespace-level safety inputs: read once per namespace for `ttl` seconds, never older.

Pure tests of `NamespaceInputsCache` (a counting loader, a hand-moved clock), then the contract on the
sandbox: a policy written after a check is seen by the next check once `context_ttl` has passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from krr_operator.namespace_inputs import NamespaceInputsCache
from krr_operator.reconcile import Reconciler

from krr_mcp.api.policy import PolicySpec
from krr_mcp.core.safety import ClusterContext, NamespaceInputs
from krr_mcp.kube.client import Kube, KubeError, ServerError
from krr_mcp.sandbox.testing import SandboxHandle

from ..builders import rr_manifest, settings_without_admission, web_deployment
from .test_operator_sandbox import kubectl, rolled_out


class CountingLoader:
    """Loads a namespace's inputs, counting the loads; `fail` makes the next load raise."""

    def __init__(self, delay: float = 0.0) -> None:
        self.loads: list[str] = []
        self.delay = delay
        self.fail = False
        self._lock = threading.Lock()

    def __call__(self, namespace: str) -> NamespaceInputs:
        time.sleep(self.delay)
        with self._lock:
            if self.fail:
                self.fail = False
                raise ServerError("list limitranges: 503", 503)
            self.loads.append(namespace)
            count = len(self.loads)
        return NamespaceInputs(
            ClusterContext(namespace={"metadata": {"name": namespace, "n": count}}), PolicySpec()
        )


def _load_number(inputs: NamespaceInputs) -> int:
    assert inputs.context.namespace is not None
    return int(inputs.context.namespace["metadata"]["n"])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_inputs_are_reused_within_the_ttl_and_read_again_after_it() -> None:
    load, clock = CountingLoader(), Clock()
    cache = NamespaceInputsCache(load, ttl=2.0, clock=clock)
    first = cache.get("shop")
    clock.now += 1.9
    assert cache.get("shop") is first
    clock.now += 0.1  # exactly ttl old: too old
    assert _load_number(cache.get("shop")) == 2
    assert load.loads == ["shop", "shop"]


def test_namespaces_are_cached_apart() -> None:
    load, clock = CountingLoader(), Clock()
    cache = NamespaceInputsCache(load, ttl=5.0, clock=clock)
    shop, web = cache.get("shop"), cache.get("web")
    assert (_load_number(shop), _load_number(web)) == (1, 2)
    assert cache.get("shop") is shop and cache.get("web") is web
    cache.forget("shop")
    assert _load_number(cache.get("shop")) == 3 and cache.get("web") is web
    cache.forget()
    assert _load_number(cache.get("web")) == 4


def test_ttl_zero_reads_every_time() -> None:
    load = CountingLoader()
    cache = NamespaceInputsCache(load, ttl=0)
    for _ in range(3):
        cache.get("shop")
    assert load.loads == ["shop"] * 3


def test_a_failed_read_is_not_cached_and_raises() -> None:
    load, clock = CountingLoader(), Clock()
    cache = NamespaceInputsCache(load, ttl=5.0, clock=clock)
    load.fail = True
    with pytest.raises(KubeError, match="503"):
        cache.get("shop")
    assert _load_number(cache.get("shop")) == 1  # read again at once, then cached
    assert cache.get("shop") is cache.get("shop")


def test_a_clock_set_back_does_not_stretch_the_ttl() -> None:
    load, clock = CountingLoader(), Clock()
    cache = NamespaceInputsCache(load, ttl=5.0, clock=clock)
    cache.get("shop")
    clock.now -= 3600
    assert _load_number(cache.get("shop")) == 2


def test_the_age_counts_from_the_start_of_the_read() -> None:
    """A slow read does not make its result look fresher than it is."""
    clock = Clock()

    def slow(namespace: str) -> NamespaceInputs:
        clock.now += 1.5  # the read itself takes 1.5 s
        return NamespaceInputs(ClusterContext(), PolicySpec())

    cache = NamespaceInputsCache(slow, ttl=2.0, clock=clock)
    first = cache.get("shop")
    clock.now += 0.6  # 2.1 s after the read began
    assert cache.get("shop") is not first


def test_concurrent_checks_of_one_namespace_share_one_read() -> None:
    load = CountingLoader(delay=0.2)
    cache = NamespaceInputsCache(load, ttl=60)
    start = threading.Barrier(8)
    results: list[NamespaceInputs] = []

    def check() -> None:
        start.wait()
        results.append(cache.get("shop"))

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert load.loads == ["shop"]
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_a_negative_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="ttl must be >= 0"):
        NamespaceInputsCache(CountingLoader(), ttl=-1)


# -- the contract on the sandbox ------------------------------------------------------------------


@pytest.fixture
def kube(sandbox: SandboxHandle) -> Iterator[Kube]:
    with sandbox.api_client() as api:
        yield Kube(api)


def _floor_policy() -> dict[str, Any]:
    return {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "RecommendationPolicy",
        "metadata": {"name": "default", "namespace": "default"},
        "spec": {"floors": {"cpu": "400m"}},  # the proposal asks for 250m
    }


def test_a_policy_written_after_a_check_applies_once_the_ttl_has_passed(
    sandbox: SandboxHandle, kube: Kube
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    live = rolled_out(sandbox)
    rr = rr_manifest()
    rr["metadata"]["creationTimestamp"] = "2026-11-25T00:00:00Z"
    now = [datetime(2026, 11, 25, 12, 0, tzinfo=UTC)]
    reconciler = Reconciler(kube, settings_without_admission(context_ttl=30, now=lambda: now[0]))

    before = reconciler.gatherer.safety_report(rr, live, now[0])
    assert before is not None and before.allowed, before
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(_floor_policy()))

    now[0] += timedelta(seconds=29)  # within the ttl: the check still sees the namespace as it was read
    cached = reconciler.gatherer.safety_report(rr, live, now[0])
    assert cached is not None and cached.allowed

    now[0] += timedelta(seconds=1)  # 30 s: read again, the new floor refuses the proposal
    after = reconciler.gatherer.safety_report(rr, live, now[0])
    assert after is not None and not after.allowed
    assert any("400m" in finding.message for finding in after.findings), after.findings

    fresh = Reconciler(kube, settings_without_admission(context_ttl=0, now=lambda: now[0]))
    report = fresh.gatherer.safety_report(rr, live, now[0])
    assert report is not None and not report.allowed  # ttl 0 (the default of ReconcileSettings): always fresh
