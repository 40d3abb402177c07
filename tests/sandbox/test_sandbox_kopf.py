"""kopf 1.45 (the operator framework the product uses) runs against the sandbox: it discovers the CRD,
sees create/update/delete of a custom resource, patches its status and holds deletion with its finalizer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import kopf
from kubernetes import client

from krr_mcp.sandbox.kubeconfig import TOKEN
from krr_mcp.sandbox.testing import SandboxHandle

from .conftest import API_VERSION, GROUP, PLURAL, VERSION, rr


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def _settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 5
    settings.watching.client_timeout = 10
    settings.watching.reconnect_backoff = 0.1
    settings.posting.enabled = True
    settings.peering.standalone = True
    settings.persistence.finalizer = "test.krr-mcp.io/finalizer"
    return settings


async def test_kopf_operator_handles_create_update_delete_and_patches_status(sb: SandboxHandle) -> None:
    registry = kopf.OperatorRegistry()
    seen: list[tuple[str, str, Any]] = []

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=sb.url, token=TOKEN, default_namespace="default")

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def created(name: str, body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        seen.append(("create", name, None))
        kopf.info(body, reason="Proposed", message="seen by the test operator")
        patch.status["phase"] = "Proposed"

    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec.approved", registry=registry)
    def approved(name: str, new: Any, patch: kopf.Patch, **_: Any) -> None:
        seen.append(("update", name, new))
        patch.status["phase"] = "Approved" if new else "Proposed"

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def deleted(name: str, **_: Any) -> None:
        seen.append(("delete", name, None))

    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            registry=registry,
            settings=_settings(),
            clusterwide=True,
            standalone=True,
            stop_flag=stop,
            ready_flag=ready,
        )
    )
    api = sb.api_client()
    crs = client.CustomObjectsApi(api)
    try:
        await asyncio.wait_for(ready.wait(), 10)
        await asyncio.to_thread(
            crs.create_namespaced_custom_object, GROUP, VERSION, "shop", PLURAL, rr("kopf-rr")
        )

        def stored() -> dict[str, Any] | None:
            return sb.get(API_VERSION, "ResourceRecommendation", "kopf-rr", "shop")

        await eventually(lambda: (stored() or {}).get("status", {}).get("phase") == "Proposed")
        obj = stored()
        assert obj is not None
        assert "test.krr-mcp.io/finalizer" in obj["metadata"]["finalizers"]
        assert obj["metadata"]["generation"] == 1  # status and finalizers are not spec changes

        await asyncio.to_thread(
            crs.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            "shop",
            PLURAL,
            "kopf-rr",
            {"spec": {"approved": True}},
        )
        await eventually(lambda: (stored() or {}).get("status", {}).get("phase") == "Approved")
        assert ("update", "kopf-rr", True) in seen

        await asyncio.to_thread(
            crs.delete_namespaced_custom_object, GROUP, VERSION, "shop", PLURAL, "kopf-rr"
        )
        await eventually(lambda: stored() is None)
        assert [s[0] for s in seen] == ["create", "update", "delete"]

        def posted() -> bool:
            events = client.CoreV1Api(api).list_namespaced_event("shop")
            return any(e.involved_object.name == "kopf-rr" and e.reason == "Proposed" for e in events.items)

        await eventually(posted)  # kopf posted its k8s events
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        api.close()
