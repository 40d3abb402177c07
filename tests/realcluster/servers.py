"""One API server as the parity tests drive it, the sandbox or the real control plane: the real kubectl
and raw HTTP, both as the server's administrator, from the server's own kubeconfig."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from krr_mcp.cluster.install import kubectl_binary

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def http_client(kubeconfig: Path, context: str, folder: Path) -> httpx.Client:
    """An httpx client authenticated as `context` of `kubeconfig` (client certificate or bearer token,
    the cluster's CA), for raw requests; certificate files go to `folder`."""
    document = yaml.safe_load(kubeconfig.read_text())
    ctx = next(c["context"] for c in document["contexts"] if c["name"] == context)
    cluster = next(c["cluster"] for c in document["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in document["users"] if u["name"] == ctx["user"])
    headers = {"Accept": JSON}
    if user.get("token"):
        headers["Authorization"] = f"Bearer {user['token']}"
    folder.mkdir(parents=True, exist_ok=True)

    def written(key: str, name: str) -> str | None:
        if not user.get(key) and not cluster.get(key):
            return None
        path = folder / name
        path.write_bytes(base64.b64decode(user.get(key) or cluster[key]))
        path.chmod(0o600)
        return str(path)

    ca = written("certificate-authority-data", "ca.crt")
    cert, key = written("client-certificate-data", "client.crt"), written("client-key-data", "client.key")
    tls = ssl.create_default_context(cafile=ca)
    if cert and key:
        tls.load_cert_chain(cert, key)
    return httpx.Client(base_url=cluster["server"], headers=headers, verify=tls, timeout=30)


@dataclass
class ApiServer:
    """A running API server (`name`: "sandbox" or "real") reached with kubectl and HTTP as admin."""

    name: str
    kubeconfig: Path
    context: str
    kube_cache: Path
    http: httpx.Client
    etcd_url: str | None = None
    created_namespaces: list[str] = field(default_factory=list)

    # -- kubectl ---------------------------------------------------------------------------------------
    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """The real kubectl as this server's administrator; with `check`, a failure raises with stderr."""
        done = subprocess.run(
            self.kubectl_command(*args), input=stdin, capture_output=True, text=True, timeout=60, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} on the {self.name} server failed:\n{done.stderr}")
        return done

    def kubectl_command(self, *args: str) -> list[str]:
        """The kubectl command line for `args` (for one started in the background)."""
        return [
            kubectl_binary(),
            f"--kubeconfig={self.kubeconfig}",
            f"--context={self.context}",
            f"--cache-dir={self.kube_cache}",
            *args,
        ]

    def kubectl_json(self, *args: str, stdin: str | None = None) -> dict[str, Any]:
        return dict(json.loads(self.kubectl(*args, "-o", "json", stdin=stdin).stdout))

    # -- HTTP ------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = JSON,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request; the body is JSON (a YAML/JSON string for apply patches)."""
        content = body if isinstance(body, str) else (None if body is None else json.dumps(body))
        headers = {"Content-Type": content_type} if content is not None else {}
        return self.http.request(method, path, content=content, headers=headers, params=params)

    def ok(self, method: str, path: str, body: Any = None, **options: Any) -> dict[str, Any]:
        """`request` that must succeed; the decoded answer."""
        response = self.request(method, path, body, **options)
        assert response.is_success, (
            f"{method} {path} on the {self.name} server: {response.status_code} {response.text}"
        )
        return dict(response.json())

    def watch(self, path: str, **params: str) -> list[dict[str, Any]]:
        """Every event of one watch of `path` until the server ends it (pass timeoutSeconds)."""
        events: list[dict[str, Any]] = []
        query = {"watch": "true", **params}
        timeout = float(params.get("timeoutSeconds", "10")) + 10
        with self.http.stream("GET", path, params=query, timeout=timeout) as response:
            assert response.status_code == 200, f"watch {path}: {response.status_code} {response.read()!r}"
            for line in response.iter_lines():
                if line.strip():
                    events.append(json.loads(line))
        return events

    def new_namespace(self, prefix: str = "parity") -> str:
        """A fresh namespace for one test (the real server's are shared by the whole session)."""
        made = self.ok("POST", "/api/v1/namespaces", {"metadata": {"generateName": f"{prefix}-"}})
        name = str(made["metadata"]["name"])
        self.created_namespaces.append(name)
        return name

    def cleanup(self) -> None:
        for name in self.created_namespaces:
            self.request("DELETE", f"/api/v1/namespaces/{name}")
        self.created_namespaces.clear()
