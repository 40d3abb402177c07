"""The official kubernetes Python client against the sandbox: the API server semantics the operator and the
bridge rely on (optimistic concurrency, dry-run, status subresource, JSON patch `test`, generation,
finalizers, server-side apply ownership, validation)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from krr_mcp.sandbox.testing import SandboxHandle

from .conftest import API_VERSION, GROUP, PLURAL, VERSION, rr


@pytest.fixture
def api(sb: SandboxHandle) -> Iterator[client.ApiClient]:
    with sb.api_client() as api_client:
        yield api_client


def crs(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def create_rr(api: client.ApiClient, name: str = "r1", **spec: Any) -> dict[str, Any]:
    return crs(api).create_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, rr(name, **spec))


def get_rr(api: client.ApiClient, name: str = "r1") -> dict[str, Any]:
    return crs(api).get_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, name)


def test_metadata_is_kept_like_the_api_server(api: client.ApiClient) -> None:
    created = create_rr(api, approved=False)
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    rv1 = int(meta["resourceVersion"])
    patched = crs(api).patch_namespaced_custom_object(
        GROUP, VERSION, "shop", PLURAL, "r1", {"metadata": {"labels": {"a": "b"}}}
    )
    assert patched["metadata"]["generation"] == 1  # metadata change: no new generation
    assert int(patched["metadata"]["resourceVersion"]) > rv1
    patched = crs(api).patch_namespaced_custom_object(
        GROUP, VERSION, "shop", PLURAL, "r1", {"spec": {"approved": True}}
    )
    assert patched["metadata"]["generation"] == 2
    assert patched["metadata"]["uid"] == meta["uid"]
    listed = crs(api).list_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL)
    assert listed["kind"] == "ResourceRecommendationList" and listed["apiVersion"] == API_VERSION
    assert int(listed["metadata"]["resourceVersion"]) >= int(patched["metadata"]["resourceVersion"])


def test_create_twice_is_409_already_exists_and_generate_name_works(api: client.ApiClient) -> None:
    create_rr(api)
    with pytest.raises(ApiException) as err:
        create_rr(api)
    assert err.value.status == 409 and '"reason":"AlreadyExists"' in err.value.body
    body = rr("ignored")
    body["metadata"] = {"generateName": "web-", "namespace": "shop"}
    made = crs(api).create_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, body)
    assert made["metadata"]["name"].startswith("web-") and len(made["metadata"]["name"]) > 4


def test_stale_resource_version_is_409_conflict(api: client.ApiClient) -> None:
    old = create_rr(api)
    crs(api).patch_namespaced_custom_object(
        GROUP, VERSION, "shop", PLURAL, "r1", {"spec": {"approved": True}}
    )
    stale = copy.deepcopy(old)
    stale["spec"]["approved"] = False
    with pytest.raises(ApiException) as err:
        crs(api).replace_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, "r1", stale)
    assert err.value.status == 409 and '"reason":"Conflict"' in err.value.body
    with pytest.raises(ApiException) as err:
        crs(api).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            "shop",
            PLURAL,
            "r1",
            {
                "metadata": {"resourceVersion": old["metadata"]["resourceVersion"]},
                "spec": {"approved": False},
            },
        )
    assert err.value.status == 409
    assert get_rr(api)["spec"]["approved"] is True


def test_dry_run_persists_nothing_and_bumps_nothing(api: client.ApiClient, sb: SandboxHandle) -> None:
    apps = client.AppsV1Api(api)
    before = apps.read_namespaced_deployment("web", "shop")
    rv_before = sb.call(lambda: sb.server.store.rv)
    patch = [
        {"op": "test", "path": "/spec/template/spec/containers/0/resources/requests/cpu", "value": "1"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/resources/requests/cpu", "value": "300m"},
    ]
    result = apps.patch_namespaced_deployment(
        "web", "shop", patch, dry_run="All", field_manager="krr-mcp-operator"
    )
    assert result.spec.template.spec.containers[0].resources.requests["cpu"] == "300m"
    after = apps.read_namespaced_deployment("web", "shop")
    assert after.spec.template.spec.containers[0].resources.requests["cpu"] == "1"
    assert after.metadata.resource_version == before.metadata.resource_version
    crs(api).create_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, rr("dry"), dry_run="All")
    client.CoreV1Api(api).delete_namespace("billing", dry_run="All")
    assert sb.call(lambda: sb.server.store.rv) == rv_before
    assert sb.get(API_VERSION, "ResourceRecommendation", "dry", "shop") is None
    assert sb.get("v1", "Namespace", "billing") is not None


def test_status_subresource_is_kept_apart(api: client.ApiClient) -> None:
    create_rr(api)
    crs(api).patch_namespaced_custom_object_status(
        GROUP, VERSION, "shop", PLURAL, "r1", {"status": {"phase": "Proposed"}}
    )
    # Main endpoint: status changes are ignored, spec changes apply.
    crs(api).patch_namespaced_custom_object(
        GROUP, VERSION, "shop", PLURAL, "r1", {"spec": {"approved": True}, "status": {"phase": "Applied"}}
    )
    obj = get_rr(api)
    assert obj["status"] == {"phase": "Proposed"} and obj["spec"]["approved"] is True
    # Status endpoint: everything but status is ignored.
    crs(api).patch_namespaced_custom_object_status(
        GROUP, VERSION, "shop", PLURAL, "r1", {"spec": {"approved": False}, "status": {"phase": "Approved"}}
    )
    obj = get_rr(api)
    assert obj["status"] == {"phase": "Approved"} and obj["spec"]["approved"] is True
    assert obj["metadata"]["generation"] == 2
    # Status is dropped on create for kinds with a status subresource.
    body = rr("r2")
    body["status"] = {"phase": "Applied"}
    assert "status" not in crs(api).create_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, body)


def test_json_patch_test_failure_is_422_and_changes_nothing(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    before = apps.read_namespaced_deployment("web", "shop")
    patch = [
        {"op": "replace", "path": "/spec/replicas", "value": 9},
        {"op": "test", "path": "/spec/template/spec/containers/0/resources/requests/cpu", "value": "999"},
    ]
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("web", "shop", patch)
    assert err.value.status == 422
    after = apps.read_namespaced_deployment("web", "shop")
    assert after.spec.replicas == 3 and after.metadata.resource_version == before.metadata.resource_version


def test_strategic_merge_patch_merges_containers_by_name(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "log-shipper", "resources": {"limits": {"memory": "64Mi"}}}]}
            }
        }
    }
    result = apps.patch_namespaced_deployment("web", "shop", patch)
    containers = result.spec.template.spec.containers
    assert [c.name for c in containers] == ["web", "log-shipper"]
    assert containers[1].resources.limits == {"memory": "64Mi"}
    assert containers[1].resources.requests == {"cpu": "10m", "memory": "16Mi"}
    assert containers[0].resources.requests == {"cpu": "1", "memory": "1Gi"}
    assert result.metadata.generation == 2


def test_finalizers_hold_the_object_until_removed(api: client.ApiClient) -> None:
    body = rr("held")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    crs(api).create_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, body)
    crs(api).delete_namespaced_custom_object(
        GROUP, VERSION, "shop", PLURAL, "held", propagation_policy="Foreground"
    )
    obj = get_rr(api, "held")
    assert obj["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as err:
        crs(api).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            "shop",
            PLURAL,
            "held",
            {"metadata": {"finalizers": ["example.com/hold", "x.io/new"]}},
        )
    assert err.value.status == 422
    crs(api).patch_namespaced_custom_object(
        GROUP, VERSION, "shop", PLURAL, "held", {"metadata": {"finalizers": None}}
    )
    with pytest.raises(ApiException) as err:
        get_rr(api, "held")
    assert err.value.status == 404


def test_errors_are_status_objects_with_the_right_codes(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as err:
        get_rr(api, "missing")
    assert (
        err.value.status == 404
        and '"kind":"Status"' in err.value.body
        and '"reason":"NotFound"' in err.value.body
    )
    with pytest.raises(ApiException) as err:
        crs(api).create_namespaced_custom_object(
            GROUP, VERSION, "nowhere", PLURAL, rr("x", namespace="nowhere")
        )
    assert err.value.status == 404 and "namespaces" in err.value.body
    bad = rr("Bad_Name")
    with pytest.raises(ApiException) as err:
        crs(api).create_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, bad)
    assert err.value.status == 422 and "RFC 1123" in err.value.body
    with pytest.raises(ApiException) as err:
        crs(api).create_namespaced_custom_object(
            GROUP, VERSION, "shop", PLURAL, rr("x", replicas=-1, risk="huge")
        )
    assert err.value.status == 422
    assert "spec.replicas" in err.value.body and 'Unsupported value: \\"huge\\"' in err.value.body


def test_unknown_fields_of_custom_resources_are_pruned(api: client.ApiClient) -> None:
    body = rr("pruned")
    body["spec"]["surprise"] = {"nested": 1}
    made = crs(api).create_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, body)
    assert "surprise" not in made["spec"]
    status = crs(api).patch_namespaced_custom_object_status(
        GROUP, VERSION, "shop", PLURAL, "pruned", {"status": {"anything": {"goes": True}}}
    )
    assert status["status"] == {"anything": {"goes": True}}  # x-kubernetes-preserve-unknown-fields


def server_side_apply(api: client.ApiClient, body: dict[str, Any], manager: str, force: bool = False) -> Any:
    return crs(api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        "shop",
        PLURAL,
        body["metadata"]["name"],
        body,
        field_manager=manager,
        force=force,
        _content_type="application/apply-patch+yaml",
    )


def test_server_side_apply_tracks_owners_and_reports_conflicts(api: client.ApiClient) -> None:
    body = rr("applied", approved=False, risk="low")
    server_side_apply(api, body, "krr-mcp-bridge")
    crs(api).patch_namespaced_custom_object(
        GROUP, VERSION, "shop", PLURAL, "applied", {"spec": {"approved": True}}, field_manager="kubectl-krr"
    )
    obj = get_rr(api, "applied")
    owners = {e["manager"]: e for e in obj["metadata"]["managedFields"]}
    assert owners["krr-mcp-bridge"]["operation"] == "Apply"
    assert "f:approved" not in owners["krr-mcp-bridge"]["fieldsV1"]["f:spec"]
    assert owners["kubectl-krr"]["fieldsV1"] == {"f:spec": {"f:approved": {}}}
    with pytest.raises(ApiException) as err:  # the bridge may not take approval back silently
        server_side_apply(api, body, "krr-mcp-bridge")
    assert err.value.status == 409 and "kubectl-krr" in err.value.body and ".spec.approved" in err.value.body
    # Dropping a field from the applied config removes it when nobody else owns it.
    server_side_apply(api, rr("applied", approved=True), "krr-mcp-bridge", force=True)
    obj = get_rr(api, "applied")
    assert "risk" not in obj["spec"] and obj["spec"]["approved"] is True


def test_selectors_filter_lists(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    assert [
        d.metadata.name
        for d in apps.list_deployment_for_all_namespaces(label_selector="app in (web,api)").items
    ] == ["api", "web"]
    assert [
        d.metadata.name for d in apps.list_deployment_for_all_namespaces(label_selector="app!=web").items
    ] == ["api", "cart"]
    by_field = apps.list_deployment_for_all_namespaces(
        field_selector="metadata.namespace=shop,metadata.name!=web"
    )
    assert [d.metadata.name for d in by_field.items] == ["cart"]
    with pytest.raises(ApiException) as err:
        apps.list_deployment_for_all_namespaces(label_selector="app in web")
    assert err.value.status == 400


def test_deleting_a_namespace_deletes_its_objects(api: client.ApiClient, sb: SandboxHandle) -> None:
    client.CoreV1Api(api).delete_namespace("billing")
    assert sb.get("v1", "Namespace", "billing") is None
    assert sb.get("apps/v1", "Deployment", "api", "billing") is None
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).read_namespaced_deployment("api", "billing")
    assert err.value.status == 404


def test_replace_with_the_current_resource_version_updates(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    cm = core.create_namespaced_config_map("shop", {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    cm.data = {"a": "2"}
    replaced = core.replace_namespaced_config_map("cfg", "shop", cm)
    assert replaced.data == {"a": "2"}
    assert int(replaced.metadata.resource_version) > int(cm.metadata.resource_version)
    assert replaced.metadata.uid == cm.metadata.uid


def test_deleting_a_crd_stops_serving_its_kind(api: client.ApiClient, sb: SandboxHandle) -> None:
    create_rr(api)
    client.ApiextensionsV1Api(api).delete_custom_resource_definition(f"{PLURAL}.{GROUP}")
    with pytest.raises(ApiException) as err:
        get_rr(api)
    assert err.value.status == 404
    assert sb.kubectl("get", "rr").returncode != 0


def test_pod_runtime_subresources_are_refused_with_an_explanation(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(
        "shop", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    )
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("p", "shop")
    assert err.value.status == 501 and "runs no pods" in err.value.body
