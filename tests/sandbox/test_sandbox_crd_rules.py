"""The sandbox enforces what a real API server enforces for CRDs: schema defaults and
x-kubernetes-validations (CEL, with oldSelf transition rules), checked with the real kubectl.

The ResourceRecommendation cases use the repository's CRD (crds/); the others a small CRD of their own
with defaults and rules at several levels (rules_crd below)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from krr_mcp.sandbox import celrules
from krr_mcp.sandbox.testing import SandboxHandle
from krr_mcp.sandbox.validation import apply_defaults

from ..builders import SHOP_PROPOSAL, manifest, rr

WITHDRAW = "approval cannot be withdrawn; set rejected or rollbackRequested instead"
IMMUTABLE = "an approved recommendation is immutable: target and containers cannot change"
NEEDS_APPROVER = "approved requires approvedBy (the human who approved)"


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"kubectl failed ({result.returncode}): {result.stderr}"
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], message: str, field: str = "spec") -> None:
    assert result.returncode != 0, result.stdout
    assert f"{field}: Invalid value: {message}" in result.stderr, result.stderr


@pytest.fixture
def rr_sandbox(sandbox: SandboxHandle) -> SandboxHandle:
    sandbox.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    return sandbox


def create(sb: SandboxHandle, obj: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    return sb.kubectl("create", "-f", "-", *extra, input=yaml.safe_dump(obj))


def merge(sb: SandboxHandle, name: str, patch: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return sb.kubectl("patch", "rr", name, "-n", "shop", "--type", "merge", "-p", json.dumps(patch))


def read(sb: SandboxHandle, kind: str, name: str, namespace: str = "shop") -> dict[str, Any]:
    return json.loads(ok(sb.kubectl("get", kind, name, "-n", namespace, "-o", "json")))


def approved_rr(sb: SandboxHandle, name: str = "web-1") -> None:
    ok(create(sb, manifest(rr(name, approved=None, **SHOP_PROPOSAL))))
    ok(merge(sb, name, {"spec": {"approved": True, "approvedBy": "alice"}}))


# ResourceRecommendation: defaults ------------------------------------------------------------------


def test_a_created_rr_reads_back_with_the_schema_defaults(rr_sandbox: SandboxHandle) -> None:
    ok(create(rr_sandbox, manifest(rr("web-1", approved=None, **SHOP_PROPOSAL))))
    spec = read(rr_sandbox, "rr", "web-1")["spec"]
    assert spec["approved"] is False
    assert spec["rejected"] is False and spec["rollbackRequested"] is False
    assert spec["autoRollback"] is True and spec["rolloutTimeoutSeconds"] == 600
    assert spec["evidence"]["strategy"] == "simple"
    assert "usage" not in spec["containers"][0]  # an absent object gets no defaults (oomKilled)
    assert "approvedBy" not in spec  # no default: stays absent


def test_defaults_show_in_a_dry_run_and_nothing_is_stored(rr_sandbox: SandboxHandle) -> None:
    body = manifest(rr("web-1", approved=None, **SHOP_PROPOSAL))
    out = yaml.safe_load(ok(create(rr_sandbox, body, "--dry-run=server", "-o", "yaml")))
    assert out["spec"]["approved"] is False
    assert rr_sandbox.kubectl("get", "rr", "web-1", "-n", "shop").returncode != 0


def test_a_nested_object_present_gets_its_defaults(rr_sandbox: SandboxHandle) -> None:
    body = manifest(rr("web-1", approved=None, **SHOP_PROPOSAL))
    body["spec"]["containers"][0]["usage"] = {"dataPoints": 10}
    ok(create(rr_sandbox, body))
    assert read(rr_sandbox, "rr", "web-1")["spec"]["containers"][0]["usage"] == {
        "dataPoints": 10,
        "oomKilled": False,
    }


def test_removing_a_defaulted_field_puts_the_default_back(rr_sandbox: SandboxHandle) -> None:
    ok(create(rr_sandbox, manifest(rr("web-1", approved=None, **SHOP_PROPOSAL))))
    generation = read(rr_sandbox, "rr", "web-1")["metadata"]["generation"]
    ok(merge(rr_sandbox, "web-1", {"spec": {"autoRollback": None}}))
    after = read(rr_sandbox, "rr", "web-1")
    assert after["spec"]["autoRollback"] is True
    assert after["metadata"]["generation"] == generation  # nothing changed after defaulting


# ResourceRecommendation: rules ---------------------------------------------------------------------


def test_withdrawing_an_approval_is_refused_with_the_rules_message(rr_sandbox: SandboxHandle) -> None:
    approved_rr(rr_sandbox)
    refused(merge(rr_sandbox, "web-1", {"spec": {"approved": False}}), WITHDRAW)
    refused(merge(rr_sandbox, "web-1", {"spec": {"approved": None}}), WITHDRAW)  # defaulted back to false
    assert read(rr_sandbox, "rr", "web-1")["spec"]["approved"] is True


def test_changing_an_approved_rrs_containers_is_refused(rr_sandbox: SandboxHandle) -> None:
    approved_rr(rr_sandbox)
    patch = '[{"op": "replace", "path": "/spec/containers/0/proposed/requests/cpu", "value": "100m"}]'
    result = rr_sandbox.kubectl("patch", "rr", "web-1", "-n", "shop", "--type", "json", "-p", patch)
    refused(result, IMMUTABLE)
    edited = read(rr_sandbox, "rr", "web-1")
    edited["spec"]["target"]["name"] = "cart"
    refused(rr_sandbox.kubectl("replace", "-f", "-", input=json.dumps(edited)), IMMUTABLE)
    assert read(rr_sandbox, "rr", "web-1")["spec"]["containers"][0]["proposed"]["requests"]["cpu"] == "250m"


def test_an_unapproved_rr_stays_editable(rr_sandbox: SandboxHandle) -> None:
    body = manifest(rr("web-1", approved=None, **SHOP_PROPOSAL))
    ok(create(rr_sandbox, body))
    patch = {"spec": {"containers": [{**body["spec"]["containers"][0], "proposed": {}}]}}
    ok(merge(rr_sandbox, "web-1", patch))
    assert read(rr_sandbox, "rr", "web-1")["spec"]["containers"][0]["proposed"] == {}


def test_approving_without_approved_by_is_refused(rr_sandbox: SandboxHandle) -> None:
    ok(create(rr_sandbox, manifest(rr("web-1", approved=None, **SHOP_PROPOSAL))))
    refused(merge(rr_sandbox, "web-1", {"spec": {"approved": True}}), NEEDS_APPROVER)
    refused(merge(rr_sandbox, "web-1", {"spec": {"approved": True, "approvedBy": ""}}), NEEDS_APPROVER)
    body = manifest(rr("web-2", approved=None, **SHOP_PROPOSAL))
    body["spec"]["approved"] = True
    refused(create(rr_sandbox, body), NEEDS_APPROVER)


def test_server_side_apply_and_dry_run_are_checked_too(rr_sandbox: SandboxHandle) -> None:
    approved_rr(rr_sandbox)
    body = manifest(rr("web-1", approved=None, **SHOP_PROPOSAL))
    body["spec"].update(approved=False)
    applied = rr_sandbox.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager",
        "bob",
        "-f",
        "-",
        input=json.dumps(body),
    )
    refused(applied, WITHDRAW)
    patch = json.dumps({"spec": {"rejected": True}})
    dry = rr_sandbox.kubectl(
        "patch", "rr", "web-1", "-n", "shop", "--type", "merge", "-p", patch, "--dry-run=server"
    )
    refused(dry, "a recommendation cannot be both approved and rejected")


def test_a_rule_on_list_items_reports_the_items_path(rr_sandbox: SandboxHandle) -> None:
    body = manifest(rr("web-1", approved=None, **SHOP_PROPOSAL))
    body["spec"]["containers"][0]["proposed"] = {"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}
    refused(
        create(rr_sandbox, body), "limits.cpu must not be below requests.cpu", "spec.containers[0].proposed"
    )


def test_status_writes_do_not_trip_transition_rules(rr_sandbox: SandboxHandle) -> None:
    approved_rr(rr_sandbox)
    status = {"status": {"phase": "Applied"}}
    ok(
        rr_sandbox.kubectl(
            "patch", "rr", "web-1", "-n", "shop", "--subresource", "status", "--type", "merge",
            "-p", json.dumps(status),
        )
    )  # fmt: skip
    assert read(rr_sandbox, "rr", "web-1")["status"]["phase"] == "Applied"


# A CRD of our own: defaults and rules at several levels --------------------------------------------

RULES_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.rules.krr-mcp.io}
spec:
  group: rules.krr-mcp.io
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-validations:
        - rule: self.metadata.name.startsWith('w-')
          message: widget names start with w-
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 1, minimum: 0}
              nested:
                type: object
                properties:
                  mode: {type: string, default: fast}
                  deeper:
                    type: object
                    properties:
                      level: {type: integer, default: 3}
              withDefault:
                type: object
                default: {}
                properties:
                  color: {type: string, default: blue}
              labels:
                type: object
                additionalProperties:
                  type: object
                  properties:
                    weight: {type: integer, default: 5}
                  x-kubernetes-validations:
                  - rule: self.weight <= 10
                    messageExpression: "'weight ' + string(self.weight) + ' is above 10'"
              parts:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    count: {type: integer, default: 0}
                  x-kubernetes-validations:
                  - rule: self.count >= oldSelf.count
                    message: a part's count cannot go down
              limit: {type: integer}
              floor: {type: integer}
            x-kubernetes-validations:
            - rule: "!has(self.limit) || !has(self.floor) || self.floor <= self.limit"
              message: floor must not exceed limit
              fieldPath: .floor
              reason: FieldValueForbidden
            - rule: self.size >= oldSelf.size
              message: size cannot shrink
"""


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "rules.krr-mcp.io/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


@pytest.fixture
def widgets(sandbox: SandboxHandle) -> SandboxHandle:
    ok(sandbox.kubectl("apply", "-f", "-", input=RULES_CRD))
    return sandbox


def wpatch(sb: SandboxHandle, name: str, patch: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return sb.kubectl("patch", "widget", name, "-n", "default", "--type", "merge", "-p", json.dumps(patch))


def test_nested_defaults_apply_only_under_a_present_parent(widgets: SandboxHandle) -> None:
    ok(create(widgets, widget("w-bare")))
    assert read(widgets, "widget", "w-bare", "default")["spec"] == {
        "size": 1,
        "withDefault": {"color": "blue"},
    }
    ok(create(widgets, widget("w-nested", nested={}, parts=[{"name": "a"}], labels={"x": {}})))
    spec = read(widgets, "widget", "w-nested", "default")["spec"]
    assert spec["nested"] == {"mode": "fast"}  # `deeper` is absent, so its `level` is not defaulted
    assert spec["parts"] == [{"name": "a", "count": 0}]
    assert spec["labels"] == {"x": {"weight": 5}}
    ok(create(widgets, widget("w-deeper", nested={"deeper": {}}, size=None)))
    spec = read(widgets, "widget", "w-deeper", "default")["spec"]
    assert spec["nested"] == {"mode": "fast", "deeper": {"level": 3}}
    assert spec["size"] == 1  # null on a non-nullable field is replaced by the default


def test_root_rule_field_path_reason_and_message_expression(widgets: SandboxHandle) -> None:
    result = create(widgets, widget("bad"))
    assert "<nil>: Invalid value: widget names start with w-" in result.stderr, result.stderr
    result = create(widgets, widget("w-1", limit=1, floor=2))
    assert "spec.floor: Forbidden: floor must not exceed limit" in result.stderr, result.stderr
    result = create(widgets, widget("w-2", labels={"a": {"weight": 11}}))
    assert "spec.labels.a: Invalid value: weight 11 is above 10" in result.stderr, result.stderr


def test_transition_rules_run_only_where_an_old_value_exists(widgets: SandboxHandle) -> None:
    ok(create(widgets, widget("w-1", size=5, parts=[{"name": "a", "count": 3}])))
    refused(wpatch(widgets, "w-1", {"spec": {"size": 4}}), "size cannot shrink")
    ok(wpatch(widgets, "w-1", {"spec": {"size": 6}}))
    # parts is a map list keyed by name: "a" is correlated with its old self, "b" is new (no oldSelf)
    refused(
        wpatch(widgets, "w-1", {"spec": {"parts": [{"name": "a", "count": 2}]}}),
        "a part's count cannot go down",
        "spec.parts[0]",
    )
    ok(wpatch(widgets, "w-1", {"spec": {"parts": [{"name": "b", "count": 0}, {"name": "a", "count": 3}]}}))


def test_unchanged_values_are_not_rechecked(widgets: SandboxHandle) -> None:
    # Stored before the rule existed (direct store write), then an unrelated change is accepted: ratcheting.
    widgets.apply(widget("w-1", labels={"a": {"weight": 5}}))
    widgets.call(lambda: _store_weight(widgets, 20))
    ok(wpatch(widgets, "w-1", {"spec": {"size": 2}}))
    refused(
        wpatch(widgets, "w-1", {"spec": {"labels": {"a": {"weight": 21}}}}),
        "weight 21 is above 10",
        "spec.labels.a",
    )


def _store_weight(sb: SandboxHandle, weight: int) -> None:
    rt = sb.server.registry.by_kind("rules.krr-mcp.io/v1", "Widget")
    assert rt is not None
    obj = sb.server.store.get(rt.storage_key, "default", "w-1")
    assert obj is not None
    changed = {**obj, "spec": {**obj["spec"], "labels": {"a": {"weight": weight}}}}
    sb.server.store.put(rt.storage_key, changed)


def test_a_wrong_type_blocks_the_rules_like_the_real_server(widgets: SandboxHandle) -> None:
    result = create(widgets, widget("w-1", size="big"))
    assert "spec.size in body must be of type integer" in result.stderr, result.stderr
    assert "some validation rules were not checked" in result.stderr


def test_a_crd_whose_rule_does_not_compile_is_refused(sandbox: SandboxHandle) -> None:
    broken = RULES_CRD.replace("self.weight <= 10", "self.weight <=")
    result = sandbox.kubectl("apply", "-f", "-", input=broken)
    assert result.returncode != 0
    assert "x-kubernetes-validations[0].rule: Invalid value" in result.stderr
    assert "compilation failed" in result.stderr


# Defaulting as a unit (the structural-schema algorithm) ---------------------------------------------


def test_apply_defaults_copies_defaults_and_leaves_absent_objects_alone() -> None:
    schema = yaml.safe_load(RULES_CRD)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    obj: dict[str, Any] = {"spec": {"parts": [{"name": "a"}, {"name": "b", "count": 2}]}}
    apply_defaults(obj, schema)
    other: dict[str, Any] = {"spec": {}}
    apply_defaults(other, schema)
    assert obj["spec"]["parts"] == [{"name": "a", "count": 0}, {"name": "b", "count": 2}]
    assert "nested" not in obj["spec"] and "metadata" not in obj
    other["spec"]["withDefault"]["color"] = "red"
    assert schema["properties"]["spec"]["properties"]["withDefault"]["default"] == {}  # a copy, not shared


# Without cel-expr-python ---------------------------------------------------------------------------


def test_without_cel_the_sandbox_starts_and_says_rules_are_not_enforced(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['cel_expr_python'] = None\n"  # makes `import cel_expr_python` fail
        "from krr_mcp.cli import app\n"
        f"app(['sandbox', '--seed', 'none', '--kubeconfig', {str(tmp_path / 'kc')!r}])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert re.search(r"ready: http://127\.0\.0\.1:\d+", line), line
        assert celrules.NOT_ENFORCED in line
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def _needs_cel() -> Iterator[None]:
    if not celrules.AVAILABLE:
        pytest.skip("cel-expr-python is not installed: the sandbox does not enforce CEL rules")
    yield
