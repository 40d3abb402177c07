"""The demo's steps, in order: cluster, Prometheus, operator, scan and propose through MCP, a human
approves with kubectl, the operator applies, the human asks for a rollback, the workload is restored.

Each step checks what it claims (the workload unchanged before approval, changed exactly as proposed
after, identical to the original after the rollback) and raises StepFailed otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import time
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.prompt import Confirm

from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.core.safety.workload import pod_spec
from krr_mcp.sandbox.seed import default_objects

from . import assistant, environment
from .choose import candidates, preview_arguments, propose_arguments, scan_items
from .cluster import DemoCluster, PhaseTimeout
from .history import DAYS as HISTORY_DAYS
from .human import Human, tool_path
from .narrator import Narrator, StepFailed
from .options import DemoOptions
from .record import recorded_scan_path

STEP_COUNT = 10
RECORDED_SCAN_NOTICE = (
    "prometheus not installed: using the recorded scan shipped with krr-mcp; "
    "install Debian's prometheus package for a live scan"
)
MAX_PREVIEWS = 8
ADMIN_CONTEXT = "admin"  # the real control plane's cluster-admin (krr_mcp.cluster.identities)
ROLLED_OUT = ("Deployment", "StatefulSet", "DaemonSet")  # what `kubectl rollout status` follows


@dataclass
class DemoState:
    """What one step hands to the next."""

    kubeconfig: str = ""
    context: str | None = None
    prometheus_url: str | None = None
    scan_report: str | None = None  # no Prometheus: the recorded scan shipped with krr-mcp
    cluster: DemoCluster | None = None
    human: Human | None = None  # the approver (kubectl)
    rollback_requester: Human | None = None  # who asks for the rollback (None: the approver)
    audit_log: Path | None = None  # the real API server's audit log
    scan: dict[str, Any] = field(default_factory=dict)
    chosen: list[dict[str, Any]] = field(default_factory=list)
    rr_namespace: str = ""
    rr_name: str = ""
    reviewed_version: str = ""  # the RR's resourceVersion when the human reviewed it
    original: dict[str, Any] = field(default_factory=dict)
    applied: dict[str, Any] = field(default_factory=dict)
    restored: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> tuple[str, str, str]:
        first = self.chosen[0]
        return str(first["namespace"]), str(first["kind"]), str(first["name"])


def _resources_rows(
    cluster: DemoCluster, columns: list[tuple[str, dict[str, Any]]], containers: list[str]
) -> list[list[str]]:
    rows = []
    for container in containers:
        for section in ("requests", "limits"):
            for name in ("cpu", "memory"):
                cells = [container, f"{section}.{name}"]
                for _, workload in columns:
                    value = (
                        (cluster.container_resources(workload).get(container) or {}).get(section) or {}
                    ).get(name)
                    cells.append(str(value) if value is not None else "-")
                rows.append(cells)
    return rows


class Walkthrough:
    def __init__(self, narrator: Narrator, options: DemoOptions, stack: ExitStack) -> None:
        self.n = narrator
        self.options = options
        self.stack = stack
        self.state = DemoState()
        self.stack_async = AsyncExitStack()

    async def confirm(self, question: str) -> bool:
        if not self.options.interactive:
            self.n.note(f"{question} -> yes (non-interactive)")
            return True
        return await asyncio.to_thread(Confirm.ask, question, default=True)

    # -- steps ---------------------------------------------------------------------------------
    def cluster(self) -> None:
        s, o = self.state, self.options
        if o.real_cluster:
            title = "Start a real Kubernetes control plane (kube-apiserver, etcd, kwok) with sample workloads"
        elif o.local:
            title = "Start a local Kubernetes API server (sandbox) with sample workloads"
        else:
            title = f"Connect to the cluster in {o.kubeconfig}"
        ids = o.identities
        with self.n.step(title):
            cache_dir: Path | None = None
            if o.local:
                kubeconfig = o.real_cluster_kubeconfig if o.real_cluster else o.sandbox_kubeconfig
                # A fresh discovery cache: one from an earlier cluster on this port describes other kinds.
                cache_dir = kubeconfig.parent / "kube-cache"
                shutil.rmtree(cache_dir, ignore_errors=True)
            if o.real_cluster:
                with self.n.waiting(
                    "starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok..."
                ):
                    local = environment.start_real_cluster(self.stack, o.real_cluster_kubeconfig, self.n.note)
                s.kubeconfig, s.audit_log = local.kubeconfig, local.audit_log
                self.n.say(
                    f"A real Kubernetes {local.version} API server at {local.url}, with etcd, "
                    "kube-controller-manager, kube-scheduler and 3 kwok nodes (kwok plays the kubelets: pods "
                    f"become Running and Ready without containers); kubeconfig {s.kubeconfig}"
                )
                self.sample_workloads(str(cache_dir))
            elif o.local:
                local = environment.start_sandbox(self.stack, o.sandbox_kubeconfig)
                s.kubeconfig = local.kubeconfig
                self.n.say(f"Sandbox API server at {local.url}; kubeconfig {s.kubeconfig}")
            else:
                s.kubeconfig, s.context = str(o.kubeconfig), o.context
            cache = str(cache_dir) if cache_dir else None
            s.cluster = DemoCluster(s.kubeconfig, ids.observer)
            s.human = Human(self.n, s.kubeconfig, ids.approver, cache)
            if ids.rollback != ids.approver:
                s.rollback_requester = Human(self.n, s.kubeconfig, ids.rollback, cache)
            if o.real_cluster:
                self.who_is_who(cache)
            s.human.run(
                "get",
                "deployments,statefulsets,daemonsets,cronjobs",
                *(["-n", o.namespace] if o.namespace else ["-A"]),
            )

    def sample_workloads(self, cache_dir: str) -> None:
        """The sandbox's sample workloads, applied as admin; the real controllers roll them out. The
        namespaces and LimitRanges come first (a LimitRange defaults only the pods created after it);
        the ResourceQuotas last, once the pods run: the seed's billing quota tracks limits.cpu, which
        its postgres container does not set, so the real quota admission would refuse postgres-0 (it
        does not re-check running pods; the sandbox creates no pods)."""
        admin = Human(self.n, self.state.kubeconfig, ADMIN_CONTEXT, cache_dir)
        objects = [{k: v for k, v in obj.items() if k != "status"} for obj in default_objects()]
        first = [obj for obj in objects if obj["kind"] in ("Namespace", "LimitRange")]
        last = [obj for obj in objects if obj["kind"] == "ResourceQuota"]
        self.n.say(
            "The sandbox's sample workloads (krr_mcp.sandbox.seed), applied as cluster-admin: the namespaces "
            "and their LimitRange, the workloads, and once their pods run, the ResourceQuota (it requires "
            "limits.cpu of every container, which the sample postgres does not set: a real API server "
            "refuses such a pod once the quota exists, and does not re-check running ones)."
        )
        admin.run("apply", "-f", "-", stdin=_list(first))
        admin.run("apply", "-f", "-", stdin=_list([obj for obj in objects if obj not in first + last]))
        began = time.monotonic()
        with self.n.waiting(
            "waiting for the real controllers to roll them out (kwok makes the pods Ready)..."
        ):
            wait = self.options.timeout
            for obj in objects:
                if obj["kind"] in ROLLED_OUT:
                    meta = obj["metadata"]
                    done = admin.run(
                        "rollout", "status", f"{obj['kind'].lower()}/{meta['name']}", "-n", meta["namespace"],
                        f"--timeout={wait:.0f}s", show=False, check=False, timeout=wait + 10,
                    )  # fmt: skip
                    if done.returncode != 0:
                        admin.run("get", "events", "-n", meta["namespace"], check=False)
                        raise StepFailed(
                            f"{obj['kind']} {meta['namespace']}/{meta['name']} did not roll out within "
                            f"{wait:.0f}s: {done.stderr.strip()}"
                        )
        self.n.note(f"rolled out: {time.monotonic() - began:.1f}s")
        admin.run("apply", "-f", "-", stdin=_list(last))
        admin.run("get", "pods", "-n", "shop", "-o", "wide")

    def who_is_who(self, cache_dir: str | None) -> None:
        """Each part's context and the user the API server authenticates it as (kubectl auth whoami)."""
        ids = self.options.identities
        parts = [
            ("the demo's own reads", ids.observer),
            ("operator (in this process)", ids.operator),
            ("MCP server (krr-mcp serve)", ids.bridge),
            ("the human who approves", ids.approver),
            ("the human who asks for the rollback", ids.rollback),
        ]
        rows = [
            [part, str(context), Human(self.n, self.state.kubeconfig, context, cache_dir).whoami()]
            for part, context in parts
        ]
        self.n.table("Who acts as whom", ["part", "kubeconfig context", "the API server sees"], rows)

    def prometheus(self) -> None:
        s, o = self.state, self.options
        generate = o.local and not o.prometheus_url
        recorded = generate and environment.prometheus_binary() is None
        if recorded:
            title = "Use the recorded scan (no Prometheus on this machine)"
        elif generate:
            title = "Start Prometheus with generated usage history"
        else:
            title = "Choose the Prometheus to scan"
        with self.n.step(title):
            if o.prometheus_url:
                s.prometheus_url = o.prometheus_url
                self.n.say(f"Using the Prometheus at {o.prometheus_url}.")
                return
            if not o.local:
                self.n.note("No --prometheus-url: krr-mcp serve uses the krr CLI if it is on PATH.")
                return
            if recorded:
                s.scan_report = str(recorded_scan_path())
                self.n.say(RECORDED_SCAN_NOTICE)
                self.n.note(
                    "(the native engine's scan of this sandbox's generated history, recorded with "
                    f"`python -m krr_mcp.demo.record`: {s.scan_report})"
                )
                return
            assert s.cluster
            workloads = s.cluster.workloads()
            # On the real cluster, the history is that of the pods the controllers really started.
            pods = s.cluster.running_pods() if o.real_cluster else None
            with self.n.waiting("generating usage history and loading it with promtool..."):
                s.prometheus_url = environment.start_prometheus(self.stack, workloads, pods)
            self.n.say(
                f"Prometheus at {s.prometheus_url}, holding {HISTORY_DAYS:g} day(s) of generated usage "
                "per container."
            )
            if pods is not None:
                count = sum(len(found) for found in pods.values())
                self.n.say(
                    f"The history is that of the {count} pods running now, by their real names and "
                    "ReplicaSets (kube-state-metrics' owner chain)."
                )

    def operator(self) -> None:
        s, o = self.state, self.options
        runs_here = o.local or o.run_operator
        with self.n.step(
            "Start the krr-mcp operator" if runs_here else "Use the operator installed in the cluster"
        ):
            if runs_here:
                context = o.identities.operator
                sandbox = o.local and not o.real_cluster
                environment.start_operator(self.stack, s.kubeconfig, context, o.operator_log, sandbox=sandbox)
                self.n.note(f"(its log goes to {o.operator_log})")
                self.n.say(
                    "The operator runs in this process (kopf), watching ResourceRecommendations"
                    + (f", as the context {context}." if o.real_cluster else ".")
                )
            else:
                self.n.note(
                    "Expecting the operator installed in the cluster (namespace krr-mcp-system); "
                    "pass --run-operator to run it here instead."
                )

    async def assistant_steps(self) -> None:
        s, o = self.state, self.options
        parameters = assistant.serve_parameters(
            s.kubeconfig,
            o.identities.bridge,
            s.prometheus_url,
            {"PATH": tool_path(), "KUBECONFIG": s.kubeconfig},
            scan_report=s.scan_report,
            allow_approver_credentials=o.sandbox,
        )
        with self.n.step("The assistant scans workloads through the MCP server (scan_recommendations)"):
            server: Any = parameters
            if o.mcp_transport == "stdio":
                self.n.say("The assistant starts the MCP server as a subprocess and talks to it over stdio:")
                self.n.command(["krr-mcp", *parameters.args])
                if o.real_cluster:
                    self.n.say(
                        f"It runs as the context {o.identities.bridge}; at start-up it checks with access "
                        "reviews that these credentials cannot approve or change workloads, and refuses to "
                        "serve if they can."
                    )
                if o.sandbox:
                    self.n.note(
                        "The sandbox enforces no RBAC, so its one user may approve: the bridge refuses such "
                        "credentials unless told --unsafe-allow-approver-credentials. On a real cluster, "
                        "give it the krr-mcp-bridge ServiceAccount (or a kubeconfig that may impersonate it)."
                    )
            else:
                self.n.say("The assistant talks to the MCP server inside this process.")
                server = assistant.in_process_server(
                    s.kubeconfig, o.identities.bridge, s.prometheus_url, scan_report=s.scan_report
                )
            if o.mcp_transport == "stdio":
                server = assistant.stdio_transport(parameters, self.stack, o.server_log)
                self.n.note(f"(the server's log goes to {o.server_log})")
            client = await self.stack_async.enter_async_context(assistant.open_client(server, self.confirm))
            tools = assistant.Tools(client, await client.list_tools())
            self.n.say("MCP tools the assistant sees: " + ", ".join(tools.names))
            scan_args: dict[str, Any] = {"namespaces": [o.namespace]} if o.namespace else {}
            with self.n.waiting("scanning..."):
                s.scan = await tools.call("scan_recommendations", scan_args)
            items = scan_items(s.scan)
            self.n.table(
                "scan_recommendations",
                ["workload", "container", "cpu request", "memory request", "severity"],
                [
                    [
                        f"{i.get('namespace')}/{i.get('kind')}/{i.get('name')}",
                        str(i.get("container")),
                        f"{_req(i, 'current', 'cpu')} -> {_req(i, 'recommended', 'cpu')}",
                        f"{_req(i, 'current', 'memory')} -> {_req(i, 'recommended', 'memory')}",
                        str(i.get("severity")),
                    ]
                    for i in items
                ],
            )
            saved = s.scan.get("report")
            if saved:
                self.n.say(
                    "The server marks these numbers as read from a saved report "
                    f"({saved['recorded_source']}, recorded {saved['recorded_at']}), not from a live scan."
                )
            s.chosen = await self.first_safe_candidate(tools, items)
        with self.n.step("The assistant proposes a change (propose_change creates a ResourceRecommendation)"):
            namespace, kind, name = s.target
            self.n.say(f"The assistant picks {kind} {namespace}/{name} and calls propose_change.")
            s.original = s.cluster.workload(namespace, kind, name) if s.cluster else {}
            result = await tools.call("propose_change", propose_arguments(s.chosen, s.scan))
            created = result.get("created") or []
            if not created:
                raise StepFailed(f"propose_change created nothing: {result.get('message')}")
            s.rr_namespace, s.rr_name = str(created[0]["namespace"]), str(created[0]["name"])
            self.n.say(
                f"Created resourcerecommendation {s.rr_namespace}/{s.rr_name} (approved: false). "
                "The assistant cannot approve it."
            )

    async def first_safe_candidate(
        self, tools: assistant.Tools, items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Check candidates with preview_change (as the server's instructions ask) until the safety
        rules and the API server's dry run accept one; the bridge limits each to the policy's max step.
        Returns the group with the numbers the preview showed as `recommended`."""
        self.n.say(
            "The assistant checks candidates with preview_change (the safety rules and an API dry run), "
            "each first limited to the policy's largest step per change:"
        )
        for group in candidates(items)[:MAX_PREVIEWS]:
            first = group[0]
            target = f"{first['kind']} {first['namespace']}/{first['name']}"
            names = ", ".join(str(i["container"]) for i in group)
            preview = await tools.call("preview_change", preview_arguments(group, self.state.scan))
            if not preview.get("would_be_refused"):
                self.n.say(f"preview_change {target} ({names}): accepted, risk {preview['safety']['risk']}")
                proposed = {c["name"]: c["proposed"] for c in preview["containers"]}
                return [{**i, "recommended": proposed[i["container"]]} for i in group]
            refusals = [
                f["message"] for f in preview["safety"].get("findings") or [] if f["severity"] == "refuse"
            ]
            if not (preview.get("dry_run") or {}).get("accepted", True):
                refusals.append(f"dry run: {preview['dry_run'].get('message')}")
            self.n.note(f"preview_change {target} ({names}): refused: {'; '.join(refusals)[:300]}")
        raise StepFailed("the scan found no change the safety rules accept")

    async def review(self) -> None:
        s = self.state
        assert s.cluster and s.human
        with self.n.step("A human reviews; nothing changes until they approve"):
            with self.n.waiting("waiting for the operator to check the proposal (its safety report)..."):
                try:
                    await s.cluster.wait_for_phase(
                        s.rr_namespace, s.rr_name, {"Proposed"}, self.options.timeout
                    )
                except PhaseTimeout:
                    raise StepFailed(
                        "no operator wrote the proposal's status: install the operator in the cluster, or "
                        "pass --run-operator"
                    ) from None
            version = "jsonpath={.metadata.resourceVersion}"
            read = s.human.run(
                "get", "recommendation", s.rr_name, "-n", s.rr_namespace, "-o", version, show=False
            )
            s.reviewed_version = read.stdout.strip()
            s.human.run("get", "recommendations", "-n", s.rr_namespace)
            s.human.run("krr", "diff", s.rr_name, "-n", s.rr_namespace, check=False)
            await asyncio.sleep(1.0)  # the operator has looked at the RR (more than once); it must not act
            namespace, kind, name = s.target
            now = s.cluster.workload(namespace, kind, name)
            if pod_spec(now) != pod_spec(s.original):
                raise StepFailed(f"{kind} {namespace}/{name} changed before anyone approved")
            self.n.say(f"{kind} {namespace}/{name} is unchanged: the proposal waits for a human.")

    async def approve(self) -> bool:
        s = self.state
        assert s.cluster and s.human
        with self.n.step("A human approves (or rejects) with kubectl patch"):
            user = s.human.whoami()
            if not await self.confirm(f"Approve {s.rr_namespace}/{s.rr_name} as {user}?"):
                s.human.merge_patch_rr(s.rr_namespace, s.rr_name, {"spec": {"rejected": True}})
                if self.options.local or self.options.run_operator:
                    await s.cluster.wait_for_phase(
                        s.rr_namespace,
                        s.rr_name,
                        {"Rejected"},
                        self.options.timeout,
                        fail_phases=frozenset({"Applied", "Applying", "Failed"}),
                    )
                namespace, kind, name = s.target
                if pod_spec(s.cluster.workload(namespace, kind, name)) != pod_spec(s.original):
                    raise StepFailed(f"{kind} {namespace}/{name} changed although the proposal was rejected")
                self.n.say("Rejected: the operator will never apply it, and the workload is unchanged.")
                return False
            # The resourceVersion reviewed, in the patch: the API server refuses it (409) if the RR
            # changed since, so what was reviewed is what is approved.
            approval = {"approved": True, "approvedBy": user}
            pinned = {"resourceVersion": s.reviewed_version}
            s.human.merge_patch_rr(s.rr_namespace, s.rr_name, {"metadata": pinned, "spec": approval})
            self.n.note(
                "(The plugin does the same with more checks, and shows the change it approves: kubectl krr "
                f"approve {s.rr_name} -n {s.rr_namespace} --resource-version {s.reviewed_version})"
            )
        return True

    async def apply(self) -> None:
        s, o = self.state, self.options
        assert s.cluster and s.human
        with self.n.step("The operator re-checks, snapshots the old resources and applies the change"):
            with self.n.waiting("waiting for the operator (phase Applied)..."):
                await s.cluster.wait_for_phase(s.rr_namespace, s.rr_name, {"Applied"}, o.timeout)
            namespace, kind, name = s.target
            s.applied = s.cluster.workload(namespace, kind, name)
            s.human.run("get", "recommendations", "-n", s.rr_namespace)
            self.replicasets("The real controllers rolled it out: a new ReplicaSet, the old one scaled to 0.")
            containers = [str(i["container"]) for i in s.chosen]
            self.n.table(
                f"{kind} {namespace}/{name}",
                ["container", "resource", "before", "after apply"],
                _resources_rows(s.cluster, [("before", s.original), ("after", s.applied)], containers),
            )
            for item in s.chosen:
                got = s.cluster.container_resources(s.applied).get(item["container"]) or {}
                for section in ("requests", "limits"):
                    want = {
                        k: v for k, v in ((item.get("recommended") or {}).get(section) or {}).items() if v
                    }
                    have = {k: v for k, v in (got.get(section) or {}).items() if k in ("cpu", "memory")}
                    if _normalized(have) != _normalized(want):
                        raise StepFailed(
                            f"container {item['container']} {section} is {have}, proposed {want}"
                        )

    async def rollback(self) -> None:
        s, o = self.state, self.options
        assert s.cluster and s.human
        requester = s.rollback_requester or s.human
        with self.n.step("A human asks for a rollback (kubectl patch spec.rollbackRequested)"):
            request = {"rollbackRequested": True, "rollbackRequestedBy": requester.whoami()}
            requester.merge_patch_rr(s.rr_namespace, s.rr_name, {"spec": request})
        with self.n.step("The operator restores the stored resources exactly"):
            with self.n.waiting("waiting for the operator (phase RolledBack)..."):
                await s.cluster.wait_for_phase(s.rr_namespace, s.rr_name, {"RolledBack"}, o.timeout)
            namespace, kind, name = s.target
            s.restored = s.cluster.workload(namespace, kind, name)
            containers = [str(i["container"]) for i in s.chosen]
            self.n.table(
                f"{kind} {namespace}/{name}",
                ["container", "resource", "before", "after apply", "after rollback"],
                _resources_rows(
                    s.cluster,
                    [("before", s.original), ("after", s.applied), ("restored", s.restored)],
                    containers,
                ),
            )
            if pod_spec(s.restored) != pod_spec(s.original):
                raise StepFailed("the restored pod template differs from the original")
            self.n.say("The pod template is identical to the original, field for field.")
            self.replicasets(
                "The Deployment controller scaled the original ReplicaSet (same template hash) back up."
            )
            requester.run("krr", "audit", "-n", s.rr_namespace, check=False)

    def replicasets(self, what: str) -> None:
        """On the real cluster, the target Deployment's ReplicaSets as the controllers left them."""
        s = self.state
        namespace, kind, _ = s.target
        labels = ((s.original.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not (self.options.real_cluster and kind == "Deployment" and labels and s.human):
            return
        self.n.say(what)
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        s.human.run("get", "replicasets", "-n", namespace, "-l", selector)

    def farewell(self) -> None:
        s, o = self.state, self.options
        quoted = shlex.quote(s.kubeconfig)
        self.n.console.print()
        self.n.console.rule("[bold]Done", align="left")
        self.n.say(f"kubeconfig: {s.kubeconfig}")
        if s.prometheus_url:
            self.n.say(f"prometheus: {s.prometheus_url}")
        self.n.say(f"  export KUBECONFIG={quoted}")
        # On the real cluster the kubeconfig's current context is admin: read as the approver.
        context = f" --context {o.identities.approver}" if o.real_cluster else ""
        self.n.say(f"  kubectl{context} get recommendations -A")
        if s.rr_name:
            self.n.say(f"  kubectl{context} describe rr {s.rr_name} -n {s.rr_namespace}")
            self.n.say(f"  kubectl krr show {s.rr_name} -n {s.rr_namespace}{context}")
        if o.local and not o.keep_running:
            self.n.note(
                f"The {self.cluster_name} stops with the demo; `krr-mcp demo --keep-running` keeps it up for "
                "kubectl."
            )

    @property
    def cluster_name(self) -> str:
        return "real cluster" if self.options.real_cluster else "sandbox"

    def keep_running_message(self) -> None:
        s = self.state
        self.n.say(
            f"\nThe {self.cluster_name} keeps running (pid {os.getpid()}); press Ctrl+C to stop it. "
            f"Try: KUBECONFIG={shlex.quote(s.kubeconfig)} kubectl krr list -A"
            + (f" --context {self.options.identities.approver}" if self.options.real_cluster else "")
        )
        if self.options.real_cluster:
            from krr_mcp.cluster.identities import contexts

            self.n.say(f"Its contexts: {', '.join(contexts())}.")
            self.n.say(f"The API server's audit log (who changed what): {s.audit_log}")

    async def run(self) -> None:
        """All steps in order; raises the first StepFailed (after the MCP client has shut down)."""
        failure: StepFailed | None = None
        async with self.stack_async:
            try:
                self.cluster()
                self.prometheus()
                self.operator()
                await self.assistant_steps()
                await self.review()
                if await self.approve():
                    await self.apply()
                    await self.rollback()
            except StepFailed as exc:
                failure = exc  # raised outside the MCP client's task group, so it stays a StepFailed
        if failure is not None:
            raise failure


def _list(objects: list[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})


def _req(item: dict[str, Any], which: str, name: str) -> str:
    return str(((item.get(which) or {}).get("requests") or {}).get(name) or "-")


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    return {k: parse_resource_quantity(str(v), k) for k, v in values.items()}
