"""The native engine when Prometheus is down, slow, failing or partial: clear errors, nothing guessed.

Faults come from a real HTTP proxy in front of the real (golden) Prometheus, not from mocked HTTP: it
forwards every query unless a rule matches (answer an error, add warnings, delay, send garbage).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web

from krr_mcp.recommenders import PrometheusError, ScanRequest, get_recommendations

from .conftest import GoldenPrometheus

Rule = Callable[[str], "web.Response | float | None"]


@dataclass
class FaultyProxy:
    url: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    on_done: Callable[[], None] | None = None


@pytest.fixture
async def proxy(golden_prometheus: GoldenPrometheus) -> AsyncIterator[FaultyProxy]:
    state = FaultyProxy(url="")
    upstream = httpx.AsyncClient(base_url=golden_prometheus.url, timeout=30)

    async def handle(request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())
        query = str(form.get("query", ""))
        state.seen.append(query)
        for rule in state.rules:
            outcome = rule(query)
            if isinstance(outcome, web.Response):
                return outcome
            if isinstance(outcome, float):
                await asyncio.sleep(outcome)
        try:
            answer = await upstream.post(request.path, data=form)
        finally:
            if state.on_done is not None:
                state.on_done()
        return web.Response(body=answer.content, status=answer.status_code, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()
        await upstream.aclose()


def _request(golden: GoldenPrometheus, url: str, **kw: object) -> ScanRequest:
    return ScanRequest(
        source="native", prometheus_url=url, history_hours=golden.history_hours, end_time=golden.at, **kw
    )  # type: ignore[arg-type]


def _error(status: int, message: str) -> web.Response:
    body = json.dumps({"status": "error", "errorType": "execution", "error": message})
    return web.Response(body=body, status=status, content_type="application/json")


async def test_prometheus_down_is_a_clear_error(golden_prometheus: GoldenPrometheus) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(PrometheusError, match=rf"cannot reach Prometheus at http://127.0.0.1:{port}"):
        await get_recommendations(_request(golden_prometheus, f"http://127.0.0.1:{port}"))


async def test_no_prometheus_url_is_a_clear_error(
    golden_prometheus: GoldenPrometheus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KRR_MCP_PROMETHEUS_URL", raising=False)
    with pytest.raises(PrometheusError, match="no Prometheus URL"):
        await get_recommendations(ScanRequest(source="native"))


async def test_slow_prometheus_times_out(golden_prometheus: GoldenPrometheus, proxy: FaultyProxy) -> None:
    proxy.rules.append(lambda q: 5.0)
    with pytest.raises(PrometheusError, match=r"did not answer within 0.5 s"):
        await get_recommendations(_request(golden_prometheus, proxy.url, timeout_seconds=0.5))


async def test_discovery_error_fails_the_scan(
    golden_prometheus: GoldenPrometheus, proxy: FaultyProxy
) -> None:
    proxy.rules.append(lambda q: _error(503, "too many queries") if "kube_pod_owner" in q else None)
    with pytest.raises(PrometheusError, match=r"HTTP 503 .*execution: too many queries"):
        await get_recommendations(_request(golden_prometheus, proxy.url))


async def test_a_failing_namespace_gets_errors_not_guesses(
    golden_prometheus: GoldenPrometheus, proxy: FaultyProxy
) -> None:
    def billing_memory(q: str) -> web.Response | None:
        if 'namespace="billing"' in q and "container_memory_working_set_bytes" in q and "max_over_time" in q:
            return _error(422, "query processing would load too many samples")
        return None

    proxy.rules.append(billing_memory)
    result = await get_recommendations(_request(golden_prometheus, proxy.url))
    api = [i for i in result.items if i.namespace == "billing"]
    assert len(api) == 1
    assert api[0].recommended is None and not api[0].proposable
    assert "namespace billing" in (api[0].error or "") and "too many samples" in (api[0].error or "")
    others = [i for i in result.items if i.namespace != "billing"]
    assert others and all(i.error is None for i in others)
    assert any(e.namespace == "billing" and e.scope == "container" for e in result.errors)
    assert result.summary.errors >= 1


async def test_partial_answers_are_not_used(golden_prometheus: GoldenPrometheus, proxy: FaultyProxy) -> None:
    def partial(q: str) -> web.Response | None:
        if 'namespace="shop"' in q and "quantile_over_time" in q:
            body = {"status": "success", "data": {"resultType": "vector", "result": []},
                    "warnings": ["partial response: store gateway unavailable"]}  # fmt: skip
            return web.Response(body=json.dumps(body), content_type="application/json")
        return None

    proxy.rules.append(partial)
    result = await get_recommendations(_request(golden_prometheus, proxy.url))
    shop = [i for i in result.items if i.namespace == "shop"]
    assert shop and all(i.recommended is None and "partial response" in (i.error or "") for i in shop)
    assert all(i.proposable for i in result.items if i.namespace == "data")


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<html>gateway</html>", "not JSON"),
        (b'{"status": "success", "data": {}}', "no data.result list"),
        (
            b'{"status": "success", "data": {"resultType": "vector", "result": '
            b'[{"metric": {"pod": "db-0", "container": "postgres", "job": "kubelet"}, '
            b'"value": [1, "NaN"]}]}}',
            "non-finite sample",
        ),
    ],
)
async def test_malformed_answers(
    golden_prometheus: GoldenPrometheus, proxy: FaultyProxy, body: bytes, message: str
) -> None:
    proxy.rules.append(
        lambda q: (
            web.Response(body=body, content_type="application/json")
            if 'namespace="data"' in q and "count_over_time" in q
            else None
        )
    )
    result = await get_recommendations(_request(golden_prometheus, proxy.url))
    [db] = [i for i in result.items if i.name == "db"]
    assert db.recommended is None and message in (db.error or "")


async def test_per_object_mode_failure_is_per_container(
    golden_prometheus: GoldenPrometheus, proxy: FaultyProxy
) -> None:
    proxy.rules.append(lambda q: _error(500, "boom") if 'container="nginx"' in q else None)
    result = await get_recommendations(_request(golden_prometheus, proxy.url, query_mode="per_object"))
    by_container = {i.container: i for i in result.items}
    assert by_container["nginx"].recommended is None and "boom" in (by_container["nginx"].error or "")
    assert by_container["app"].proposable  # the same workload's other container is unaffected


async def test_concurrency_is_bounded(golden_prometheus: GoldenPrometheus, proxy: FaultyProxy) -> None:
    in_flight = {"now": 0, "max": 0}

    def count(q: str) -> None:  # runs when a request arrives; on_done when it has been answered
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        return None

    proxy.rules.append(count)
    proxy.rules.append(lambda q: 0.05)  # hold each request a little so they overlap
    proxy.on_done = lambda: in_flight.__setitem__("now", in_flight["now"] - 1)
    result = await get_recommendations(_request(golden_prometheus, proxy.url, max_concurrency=2))
    assert result.summary.containers > 0
    assert 1 <= in_flight["max"] <= 2


async def test_oversized_answer_is_refused(golden_prometheus: GoldenPrometheus) -> None:
    from krr_mcp.recommenders.promapi import PrometheusApi

    async with PrometheusApi(golden_prometheus.url, max_response_bytes=200) as api:
        with pytest.raises(PrometheusError, match="exceeds 200 bytes"):
            await api.query("kube_pod_owner", golden_prometheus.at)
        assert api.requests == 1


async def test_progress_is_reported(golden_prometheus: GoldenPrometheus) -> None:
    calls: list[tuple[int, int | None, str]] = []

    async def progress(done: int, total: int | None, message: str) -> None:
        calls.append((done, total, message))

    result = await get_recommendations(_request(golden_prometheus, golden_prometheus.url), progress=progress)
    messages = [m for _, _, m in calls]
    total = result.summary.containers
    assert messages[0].startswith("scanning with native") and calls[0][:2] == (0, None)
    assert any(m.startswith("namespace shop: ") and m.endswith("(9 workloads) scanned") for m in messages)
    # MCP: each notification's progress is above the last one's; every count comes with the total.
    done = [d for d, _, _ in calls]
    assert done == sorted(set(done)) and calls[-1][0] == total
    assert all(t == total for _, t, _ in calls[1:])


async def test_progress_never_repeats_a_count_even_per_object(golden_prometheus: GoldenPrometheus) -> None:
    """Per-object mode reports each container as it finishes, concurrently: the counts still increase."""
    calls: list[tuple[int, int | None, str]] = []
    request = _request(golden_prometheus, golden_prometheus.url, query_mode="per_object")
    result = await get_recommendations(request, progress=lambda *call: calls.append(call))
    done = [d for d, _, _ in calls]
    assert done == sorted(set(done)) and done[-1] == result.summary.containers == len(calls) - 1
