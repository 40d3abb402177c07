"""Legacy (unaggregated) discovery documents: /api, /apis, /api/v1, /apis/GROUP[/VERSION], /version.

Aggregated discovery (apidiscovery.k8s.io/v2) is not served; clients that also accept plain JSON (kubectl,
client-go, kopf) fall back to these documents. Short names and categories are reported only on the main
resources, never on their subresources (kubectl warns or fails otherwise).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .resources import Registry, ResourceType

SERVER_VERSION = {
    "major": "1",
    "minor": "36",
    "gitVersion": "v1.36.0-krr-mcp-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.24",
    "compiler": "gc",
    "platform": "linux/amd64",
    "emulationMajor": "1",
    "emulationMinor": "36",
}


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    groups = [_group(g, vs) for g, vs in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    versions = registry.group_versions().get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def _storage_hash(rt: ResourceType) -> str:
    return hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).hexdigest()[:16]


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rt in sorted(types, key=lambda t: t.plural):
        main: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            main["shortNames"] = list(rt.short_names)
        if rt.categories:
            main["categories"] = list(rt.categories)
        if not rt.virtual:
            main["storageVersionHash"] = _storage_hash(rt)
        resources.append(main)
        for sub in sorted(rt.subresources):
            entry = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind if sub == "status" else "Scale",
                "verbs": ["get", "patch", "update"],
            }
            if sub == "scale":
                entry.update(group="autoscaling", version="v1")
            resources.append(entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


# -- OpenAPI v3, for custom resources only ------------------------------------------------------------
# Served so `kubectl explain` works for CRDs (the reviewer's `kubectl explain rr.spec`). Built-in group
# versions are absent from the index, so kubectl falls back to its compiled-in types for them.
_STRING = {"type": "string"}
_OBJECT_META = {
    "type": "object",
    "description": "Standard object's metadata.",
    "properties": {
        "name": {**_STRING, "description": "Name must be unique within a namespace."},
        "namespace": {
            **_STRING,
            "description": "Namespace defines the space within which each name must be unique.",
        },
        "labels": {"type": "object", "additionalProperties": _STRING},
        "annotations": {"type": "object", "additionalProperties": _STRING},
    },
}


def _schema_name(rt: ResourceType) -> str:
    return ".".join(reversed(rt.group.split("."))) + f".{rt.version}.{rt.kind}"


def openapi_v3_index(registry: Registry) -> dict[str, Any]:
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            if any(rt.custom for rt in registry.in_group_version(group, version)):
                digest = hashlib.sha256(
                    repr(openapi_v3_document(registry, group, version)).encode()
                ).hexdigest()
                paths[f"apis/{group}/{version}"] = {
                    "serverRelativeURL": f"/openapi/v3/apis/{group}/{version}?hash={digest[:32]}"
                }
    return {"paths": paths}


def openapi_v3_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in registry.in_group_version(group, version) if rt.custom]
    if not types:
        return None
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for rt in types:
        gvk = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
        schema = dict(rt.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
        properties = dict(schema.get("properties") or {})
        properties.setdefault(
            "apiVersion", {**_STRING, "description": "APIVersion defines the versioned schema."}
        )
        properties.setdefault(
            "kind", {**_STRING, "description": "Kind is a string value representing the REST resource."}
        )
        properties["metadata"] = _OBJECT_META
        schema["properties"] = properties
        schema["x-kubernetes-group-version-kind"] = gvk
        schemas[_schema_name(rt)] = schema
        prefix = f"/apis/{group}/{version}" + ("/namespaces/{namespace}" if rt.namespaced else "")
        ref = {"$ref": f"#/components/schemas/{_schema_name(rt)}"}
        operation = {
            "x-kubernetes-group-version-kind": gvk[0],
            "parameters": [
                {"name": name, "in": "query", "schema": _STRING}
                for name in ("dryRun", "fieldManager", "fieldValidation")
            ],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}},
        }
        paths[f"{prefix}/{rt.plural}/{{name}}"] = {
            "get": {**operation, "x-kubernetes-action": "get"},
            "put": {**operation, "x-kubernetes-action": "put"},
            "patch": {**operation, "x-kubernetes-action": "patch"},
        }
        paths[f"{prefix}/{rt.plural}"] = {"post": {**operation, "x-kubernetes-action": "post"}}
    return {
        "openapi": "3.0.0",
        "info": {"title": "krr-mcp sandbox (custom resources)", "version": "v1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
