"""The kubeconfig that points kubectl, kopf and the kubernetes client at a sandbox."""

from __future__ import annotations

from pathlib import Path

import yaml

CONTEXT = "krr-mcp-sandbox"
TOKEN = "krr-mcp-sandbox-token"  # accepted, never checked: the sandbox does not authenticate


def kubeconfig_document(
    url: str, namespace: str = "default", user: str = "sandbox-user"
) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": user, "user": {"token": TOKEN}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user, "namespace": namespace}}
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, url: str, namespace: str = "default") -> Path:
    """Write (replace) a kubeconfig at `path` with one context, `krr-mcp-sandbox`, as the current one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig_document(url, namespace), sort_keys=False))
    path.chmod(0o600)
    return path
