"""Run one corpus entry through the real entry point and describe what it said, as stable text.

- RR (YAML; two documents = an update: stored object, then the new one): the pydantic model (the CRD's
  schema is generated from it), the CRD's CEL rules (evaluated for real), then the operator's decision
  against a Deployment `shop/web` whose container `app` runs 500m/512Mi (limit 1Gi).
- krr output (JSON text): the krr output parser.
- Admission request (YAML {user, groups?, namespaceAnnotations?, operation, old?, new}; `old` and `new`
  are spec fields over the standard proposal, tests/builders.py stored_proposal): the approval policy of
  config/admission, its CEL evaluated for real, with the RBAC of config/rbac as its authorizer.
- kubectl krr (JSON {"args"}): the plugin's command line, in-process, against the MCP entries' sandbox.
- OpenCost answer (first line the HTTP status, then the body): served over HTTP to the shared price
  reader (krr_mcp.kube.opencost) under a policy with a price table: the prices used and why.
- API server error answer (first line the HTTP status, then the body): served over HTTP to the client
  (krr_mcp.kube.client.Kube) as the answer to the dry-run patch of a preview: the client's typed error
  and what preview_change tells the assistant of it.
- MCP tool call (JSON {"tool", "arguments"}) or prompt (JSON {"prompt", "arguments"}): the bridge's MCP
  server in-process, via the SDK's Client. `seed` (objects created in the sandbox first: text planted
  in the cluster) and `untrusted` (strings of it) make the verdict say, per string, whether it reached
  the assistant marked untrusted in the text and in the structured content.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from mcp import Client
from pydantic import ValidationError

from krr_mcp.api.policy import PolicySpec, Pricing
from krr_mcp.api.resource_recommendation import (
    PLURAL,
    ResourceRecommendation,
    ResourceRecommendationSpec,
)
from krr_mcp.core import safety
from krr_mcp.core.decisions import DecisionInputs, decide
from krr_mcp.core.safety import ClusterContext
from krr_mcp.kube.client import KubeError
from krr_mcp.kube.dry_run import DryRunResult, refused_patch
from krr_mcp.kube.opencost import policy_prices
from krr_mcp.recommenders import parse_recommendations
from krr_mcp.recommenders.krr_output import KrrOutputError
from mcp_bridge.tools.preview import dry_run_outcome
from mcp_bridge.untrusted import UNTRUSTED_CLOSE, UNTRUSTED_OPEN

from ..admission import approval_policy
from ..api.test_cel_rules import violations
from ..api_answers import answering_kube
from ..builders import stored, stored_proposal
from ..opencost_stub import opencost_running
from ..reliability.world import deployment

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def rr_verdict(path: Path) -> str:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    old, new = (docs[0], docs[1]) if len(docs) == 2 else (None, docs[0])
    lines = []
    try:
        ResourceRecommendation.model_validate(new)
        lines.append("model: ok")
        valid = True
    except ValidationError as exc:
        lines.append(f"model: {_errors(exc)}")
        valid = False
    if valid:
        broken = violations(PLURAL, stored(new), stored(old) if old else None)
        lines.append(f"cel: {'; '.join(broken) if broken else 'ok'}")
    else:
        lines.append("cel: not evaluated (the schema refuses the object first)")
    workload = deployment("shop", "web")
    workload["metadata"].update(generation=1, resourceVersion="1", uid="web-uid")
    report = None
    if valid:
        spec = ResourceRecommendationSpec.model_validate(new["spec"])
        context = ClusterContext(namespace={"metadata": {"name": "shop"}})
        report = safety.evaluate(spec, workload, context, PolicySpec(), NOW)
    try:
        decision = decide(
            DecisionInputs(
                new, workload, NOW, safety=report, provenance_problem=safety.approval_provenance_problem(new)
            )
        )
    except Exception as exc:  # recorded, so a crash is a visible, reviewed verdict (and a bug to fix)
        lines.append(f"operator: raised {type(exc).__name__}: {exc}")
    else:
        lines.append(
            f"operator: {decision.action} -> {decision.phase} ({decision.reason}): {decision.message}"
        )
    return "\n".join(lines) + "\n"


def krr_verdict(path: Path) -> str:
    try:
        result = parse_recommendations(path.read_bytes())
    except KrrOutputError as exc:
        return f"refused: {exc}\n"
    usable = [i for i in result.items if i.recommended is not None and i.recommended.requests]
    lines = [f"items: {len(result.items)}, with a recommendation: {len(usable)}"]
    lines += [f"error ({e.scope}) {e.path}: {e.message}" for e in result.errors]
    return "\n".join(lines) + "\n"


_PORT = re.compile(r"127\.0\.0\.1:\d+")
_PYDANTIC_LINK = re.compile(r"\n\s*For further information visit https://errors\.pydantic\.dev/\S+")


def _stable(text: str) -> str:
    """Without what changes between runs or library versions (ports, pydantic's versioned doc links)."""
    return _PYDANTIC_LINK.sub("", _PORT.sub("127.0.0.1:PORT", text))


async def mcp_verdict(path: Path, server: Any, seed: Any = None) -> str:
    """`seed(objects)` creates the entry's `seed` objects first (cluster text to plant); the entry's
    `untrusted` strings must then reach the assistant only marked: one verdict line each."""
    call = json.loads(path.read_text())
    if call.get("seed"):
        seed(call["seed"])
    try:
        async with Client(server) as client:
            if "prompt" in call:
                prompt = await client.get_prompt(call["prompt"], call["arguments"])
                return _stable(f"ok: {len(prompt.messages)} message(s)") + "\n"
            result = await client.call_tool(call["tool"], call["arguments"])
    except Exception as exc:  # the SDK refusing the call itself (unknown tool, protocol error)
        while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        return _stable(f"exception {type(exc).__name__}: {exc}") + "\n"
    text = " | ".join(getattr(c, "text", "") for c in result.content)
    if call.get("untrusted"):
        lines = [f"{'error' if result.is_error else 'ok'}"]
        lines += [_marking(planted, text, result.structured_content) for planted in call["untrusted"]]
        return "\n".join(lines) + "\n"
    return _stable(f"{'error' if result.is_error else 'ok'}: {text}") + "\n"


def _marking(planted: str, text: str, structured: Any) -> str:
    """Where `planted` (cluster text) reached the assistant, and whether always marked untrusted: in text
    only between the delimiters, in structured content only as {"untrusted": ...} values."""
    outside = re.sub(f"{re.escape(UNTRUSTED_OPEN)}.*?{re.escape(UNTRUSTED_CLOSE)}", "", text, flags=re.S)
    in_text = "absent" if planted not in text else "RAW" if planted in outside else "marked"
    found: list[bool] = []

    def walk(node: Any, marked: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, key == "untrusted" and len(node) == 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, False)
        elif isinstance(node, str) and planted in node:
            found.append(marked)

    walk(structured, False)
    in_structured = "absent" if not found else "marked" if all(found) else "RAW"
    return f"{planted!r}: text {in_text}, structured {in_structured}"


def admission_verdict(path: Path) -> str:
    entry = yaml.safe_load(path.read_text())
    old = stored_proposal(**entry["old"]) if "old" in entry else None
    new = stored_proposal(**entry["new"])
    request = approval_policy.request(entry["user"], entry["operation"], new, old, groups=entry.get("groups"))
    namespace = {"metadata": {"name": "shop", "annotations": entry.get("namespaceAnnotations") or {}}}
    verdict = approval_policy.load_policy().admit(request, namespace=namespace)
    if not verdict.matched:
        return "admission: not matched (allowed)\n"
    lines = [f"admission: {'allowed' if verdict.allowed else 'denied'}"]
    lines += [f"message: {m}" for m in verdict.messages]
    lines += [f"audit: {k}={v}" for k, v in sorted(verdict.audit_annotations.items())]
    return "\n".join(lines) + "\n"


def plugin_verdict(path: Path, kubeconfig: Path) -> str:
    """`kubectl krr ARGS` (the plugin's typer app, in-process) against the corpus sandbox: exit code and
    what it printed, in one line."""
    from typer.testing import CliRunner

    from krr_mcp.kubectl_plugin import app

    args = [*json.loads(path.read_text())["args"], "--kubeconfig", str(kubeconfig)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    said = " ".join(result.output.split())
    return _stable(f"exit {result.exit_code}: {said}") + "\n"


def opencost_verdict(path: Path) -> str:
    """An OpenCost `/allocation` answer (first line the HTTP status, then the body), served over HTTP and
    read by the shared reader (`policy_prices`, the bridge's and the operator's) under a policy with a
    table in EUR: the prices used, and why OpenCost's were not."""
    table = Pricing(cpuPerCoreHour=0.05, memoryPerGiBHour=0.01, currency="EUR")
    with opencost_running() as stub:
        stub.serve_entry(path)
        policy = PolicySpec(pricing=table.model_copy(update={"openCostUrl": stub.url}))
        prices, warning = policy_prices(policy)
        url = stub.url
    lines = [f"refused: {warning.replace(url, 'OPENCOST')}"] if warning else []
    lines.append(
        f"prices: {prices.cpu_per_core_hour:.6g} per core-hour, {prices.memory_per_gib_hour:.6g} per "
        f"GiB-hour ({prices.currency}), from {prices.source.replace(url, 'OPENCOST')}"
    )
    return "\n".join(lines) + "\n"


def kube_verdict(path: Path) -> str:
    """An API server's answer to a dry-run PATCH (first line the HTTP status, then the body), served over
    HTTP to the client: the typed error it raised (status, reason, the causes' count and size), and the
    dry-run outcome preview_change gives the assistant (accepted, the bridge's own message)."""
    with answering_kube() as (kube, answers):
        answers.add_entry(path)
        try:
            kube.patch_workload("shop", "Deployment", "web", [], dry_run=True)
        except KubeError as error:
            outcome = dry_run_outcome(DryRunResult(False, refused_patch(error), "apply", error=error))
            causes = f"{len(error.causes)} cause(s), {sum(map(len, error.causes))} characters"
            said = f"status {error.status}, reason {error.reason or '-'}; {causes}"
            return (
                f"error: {type(error).__name__} ({said})\n"
                f"preview: accepted {outcome.accepted}: {outcome.message}\n"
                f"server answer shown: {'yes, marked untrusted' if outcome.server_answer else 'no'}\n"
            )
    return "accepted\n"
