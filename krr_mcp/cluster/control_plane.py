"""A real Kubernetes control plane as local processes on loopback: etcd, kube-apiserver (RBAC, the
admission plugins on by default including ValidatingAdmissionPolicy, ServiceAccount tokens, client
certificate users), kube-controller-manager, kube-scheduler and kwok playing the kubelets of N fake
nodes (pods become Ready without containers). The approach of envtest and kwok's binary runtime.

`ControlPlane(...).start()` returns when every component is up, nodes are Ready and the kubeconfig is
written; `stop()` ends the processes in reverse order and removes the data folder."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from . import binaries, identities
from .pki import CertificateAuthority, KeyPair, service_account_signing_key

STAGES_FILE = Path(__file__).with_name("kwok-stages.yaml")
SERVICE_CIDR = "10.96.0.0/24"  # ClusterIPs are allocated from it; nothing is ever sent there
_PR_SET_PDEATHSIG = 1


def audit_policy() -> dict[str, Any]:
    """Who changed a recommendation and with what body (RequestResponse); every request of the operator
    and of admin (Metadata: the load benchmark counts them per user); workload writes (Metadata)."""
    counted = [r.user for r in identities.config_service_accounts()] + [identities.PEOPLE[0].user]
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": [
            {
                "level": "RequestResponse",
                "resources": [{"group": "krr-mcp.io"}],
                "verbs": ["create", "update", "patch"],
            },
            {"level": "Metadata", "users": counted},
            {"level": "Metadata", "resources": [{"group": "apps"}], "verbs": ["update", "patch"]},
            {"level": "None"},
        ],
    }


class ClusterError(RuntimeError):
    """The control plane did not come up; the message says which component and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In the child: get SIGKILL when the process that started us dies, so nothing outlives a crash."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Component:
    name: str
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=die_with_parent,
            )  # fmt: skip

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@dataclass
class ControlPlane:
    """One local cluster. `kubeconfig` gets a context per identity (identities.PEOPLE and robots())."""

    kubeconfig: Path
    nodes: int = 3
    port: int = 0
    bin_dir: Path | None = None
    data_dir: Path | None = None
    etcd_fsync: bool = False
    # Extra kube-controller-manager flags. Its client defaults (--kube-api-qps=20, --kube-api-burst=30)
    # let the Deployment controller roll out about 6 Deployments a second on a 2-core machine: a load
    # run of thousands of changes raises them, as large clusters do.
    controller_manager_args: tuple[str, ...] = ()
    say: Callable[[str], None] = lambda _line: None
    components: list[Component] = field(default_factory=list)
    url: str = ""

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self, timeout: float = 120) -> ControlPlane:
        bins = binaries.find(self.bin_dir)
        self._own_data = self.data_dir is None
        self.data = self.data_dir or Path(tempfile.mkdtemp(prefix="krr-mcp-cluster-"))
        (self.data / "logs").mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        try:
            self._pki()
            self._start_etcd(bins, deadline)
            self._start_apiserver(bins, deadline)
            self._bootstrap()
            self._start_controllers(bins)
            self._wait_for_nodes(deadline)
            self._wait("the ServiceAccount controller (default/default)", deadline, self._default_sa_exists)
            self._write_kubeconfig()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for component in reversed(self.components):
            component.stop()
        self.components.clear()
        if getattr(self, "_own_data", False):
            shutil.rmtree(self.data, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def dead_components(self) -> list[str]:
        return [c.name for c in self.components if not c.alive()]

    # -- pieces ----------------------------------------------------------------------------------------
    def _pki(self) -> None:
        pki = self.data / "pki"
        self.ca = CertificateAuthority(pki)
        self.serving = self.ca.serving("apiserver", ["127.0.0.1", "localhost", "kubernetes.default.svc"])
        self.sa_keys = service_account_signing_key(pki)
        self.people = {p.context: self.ca.client(p.context, p.user, p.groups) for p in identities.PEOPLE}
        self.component_certs = {
            "kube-controller-manager": self.ca.client("kcm", "system:kube-controller-manager"),
            "kube-scheduler": self.ca.client("scheduler", "system:kube-scheduler"),
            # kwok plays every kubelet (node status, leases, pod status, deletions): cluster-admin.
            "kwok": self.ca.client("kwok", "system:kwok-controller", ("system:masters",)),
        }

    def _component(self, name: str, args: list[str]) -> Component:
        component = Component(name, args, self.data / "logs" / f"{name}.log")
        component.start()
        self.components.append(component)
        self.say(f"started {name} (pid {component.process.pid if component.process else '?'})")
        return component

    def _wait(
        self, what: str, deadline: float, probe: Callable[[], bool], component: Component | None = None
    ) -> None:
        while True:
            if component is not None and not component.alive():
                raise ClusterError(f"{component.name} exited while waiting for {what}:\n{component.tail()}")
            try:
                if probe():
                    return
            except (httpx.HTTPError, OSError, ssl.SSLError, ValueError):
                pass
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {c.name}\n{c.tail(8)}" for c in self.components)
                raise ClusterError(f"timed out waiting for {what}\n{tails}")
            time.sleep(0.2)

    def _start_etcd(self, bins: Path, deadline: float) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        args = [
            str(bins / "etcd"), "--name=krr-mcp", f"--data-dir={self.data / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}", f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}", f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=krr-mcp=http://127.0.0.1:{peer}", "--log-level=warn",
        ]  # fmt: skip
        if not self.etcd_fsync:
            args.append("--unsafe-no-fsync")  # a throwaway cluster: no durability across a host crash
        etcd = self._component("etcd", args)
        self._wait(
            "etcd /health", deadline,
            lambda: httpx.get(f"{self.etcd_url}/health", timeout=2).json().get("health") == "true", etcd,
        )  # fmt: skip

    def _start_apiserver(self, bins: Path, deadline: float) -> None:
        port = self.port or free_port()
        self.url = f"https://127.0.0.1:{port}"
        policy = self.data / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(audit_policy()))
        self.audit_log = self.data / "logs" / "audit.log"
        pki = self.data / "pki"
        apiserver = self._component(
            "kube-apiserver",
            [
                str(bins / "kube-apiserver"), f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
                f"--tls-cert-file={self.serving.cert}", f"--tls-private-key-file={self.serving.key}",
                f"--client-ca-file={self.ca.pair.cert}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={self.sa_keys.cert}",
                f"--service-account-signing-key-file={self.sa_keys.key}",
                "--authorization-mode=Node,RBAC", f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true", "--profiling=false", "--endpoint-reconciler-type=none",
                f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}",
                # Never rotated (0 would mean 100 MB): readers count requests from one growing file.
                "--audit-log-maxsize=1000000",
                f"--cert-dir={pki / 'apiserver-generated'}",
            ],
        )  # fmt: skip
        self._wait(
            "kube-apiserver /readyz",
            deadline,
            lambda: self.request("GET", "/readyz").status_code == 200,
            apiserver,
        )

    def client(self, identity: KeyPair | None = None) -> httpx.Client:
        """An HTTP client authenticated as `identity` (default: admin)."""
        pair = identity or self.people["admin"]
        context = ssl.create_default_context(cafile=str(self.ca.pair.cert))
        context.load_cert_chain(str(pair.cert), str(pair.key))
        return httpx.Client(base_url=self.url, verify=context, timeout=10)

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One request as admin (client certificate), JSON in and out."""
        with self.client() as client:
            return client.request(method, path, json=body)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create `obj` as admin; an existing one is left as it is."""
        response = self.request("POST", collection_path(obj), obj)
        if response.status_code not in (200, 201, 409):
            raise ClusterError(f"creating {obj['kind']} {obj['metadata']['name']}: {response.text[:300]}")
        return dict(response.json())

    def _bootstrap(self) -> None:
        for obj in identities.bootstrap_objects():
            self.create(obj)
        for index in range(self.nodes):
            self.create(fake_node(f"kwok-node-{index}"))

    def _kubeconfig_for(self, name: str, pair: KeyPair) -> Path:
        certificates = {name: (_b64(pair.cert), _b64(pair.key))}
        path = self.data / f"{name}.kubeconfig"
        document = identities.kubeconfig_document(self.url, _b64(self.ca.pair.cert), certificates, {}, name)
        path.write_text(yaml.safe_dump(document))
        path.chmod(0o600)
        return path

    def _start_controllers(self, bins: Path) -> None:
        kcm = self._kubeconfig_for("kube-controller-manager", self.component_certs["kube-controller-manager"])
        self._component(
            "kube-controller-manager",
            [
                str(bins / "kube-controller-manager"), f"--kubeconfig={kcm}",
                "--use-service-account-credentials=true", "--leader-elect=false",
                f"--service-account-private-key-file={self.sa_keys.key}",
                f"--root-ca-file={self.ca.pair.cert}", *_serving(kcm), *self.controller_manager_args,
            ],
        )  # fmt: skip
        scheduler = self._kubeconfig_for("kube-scheduler", self.component_certs["kube-scheduler"])
        self._component(
            "kube-scheduler",
            [
                str(bins / "kube-scheduler"), f"--kubeconfig={scheduler}", "--leader-elect=false",
                *_serving(scheduler),
            ],
        )  # fmt: skip
        kwok = self._kubeconfig_for("kwok", self.component_certs["kwok"])
        self._component(
            "kwok",
            [
                str(bins / "kwok"), f"--kubeconfig={kwok}", "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--config={bins / 'kwok-stages.yaml'}", f"--config={STAGES_FILE}",
                f"--server-address=127.0.0.1:{free_port()}", "--node-ip=127.0.0.1",
                "--node-lease-duration-seconds=40",  # a Lease per node, renewed: never NotReady (test_nodes)
            ],
        )  # fmt: skip

    def _wait_for_nodes(self, deadline: float) -> None:
        def ready() -> bool:
            items = self.request("GET", "/api/v1/nodes").json().get("items", [])
            return sum(1 for node in items if _is_ready(node)) >= self.nodes

        self._wait(f"{self.nodes} Ready nodes (kwok)", deadline, ready)

    def _default_sa_exists(self) -> bool:
        return self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default").status_code == 200

    def token(self, robot: identities.Robot, seconds: int = 86400) -> str:
        """A real ServiceAccount token (TokenRequest), valid `seconds`."""
        path = f"/api/v1/namespaces/{robot.namespace}/serviceaccounts/{robot.name}/token"
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        response = self.request("POST", path, body)
        if response.status_code != 201:
            raise ClusterError(f"TokenRequest for {robot.user}: {response.text[:300]}")
        return str(response.json()["status"]["token"])

    def _write_kubeconfig(self) -> None:
        certificates = {name: (_b64(pair.cert), _b64(pair.key)) for name, pair in self.people.items()}
        tokens = {robot.context: self.token(robot) for robot in identities.robots()}
        document = identities.kubeconfig_document(self.url, _b64(self.ca.pair.cert), certificates, tokens)
        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.write_text(yaml.safe_dump(document, sort_keys=False))
        self.kubeconfig.chmod(0o600)


def _serving(kubeconfig: Path) -> list[str]:
    """A controller's own HTTPS endpoint (health, metrics) on a free loopback port, checking its callers
    against the API server with its kubeconfig."""
    return [
        "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
        f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
    ]  # fmt: skip


def _is_ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def collection_path(obj: dict[str, Any]) -> str:
    """The REST collection an object is created in (core and named groups, namespaced or not)."""
    group_version = obj["apiVersion"]
    prefix = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    plural = {"ServiceAccount": "serviceaccounts", "Namespace": "namespaces", "Node": "nodes"}.get(
        obj["kind"], obj["kind"].lower() + "s"
    )
    namespace = obj["metadata"].get("namespace")
    return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"


def fake_node(name: str) -> dict[str, Any]:
    """A Node kwok manages (annotation), with room for many pods."""
    capacity = {"cpu": "32", "memory": "128Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }
