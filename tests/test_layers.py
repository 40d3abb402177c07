"""The house plan (docs/architecture.md): imports between our packages point one way.

api <- client (krr_mcp/kube/client.py: requests, paths, typed errors: the API types alone, no policy, no
safety rules, no Events); {core, client} <- kube (the rest of krr_mcp/kube: what the safety rules and the
decisions read, Events, the dry run) <- {recommenders, operator, bridge, plugin};
recommenders <- {operator, bridge};
all <- tools (CLI, demo, docs, the real control plane);
the sandbox, the CEL library and the metrics-history writer stand alone. Every product module is parsed
(ast, imports inside functions included) and every import of one of our modules is checked against
ALLOWED; a failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Folder -> import name (operator/ is installed as krr_operator: `import operator` is the stdlib's).
PACKAGE_FOLDERS = {"operator": "krr_operator", "mcp_bridge": "mcp_bridge", "krr_mcp": "krr_mcp"}

# Layer -> the import-name prefixes it owns. The longest prefix wins (krr_mcp.api is "api", not "tools").
LAYERS: dict[str, tuple[str, ...]] = {
    "api": ("krr_mcp.api",),
    "core": ("krr_mcp.core",),
    "kube": ("krr_mcp.kube",),
    "client": ("krr_mcp.kube.client",),
    "recommenders": ("krr_mcp.recommenders",),
    "operator": ("krr_operator",),
    "bridge": ("mcp_bridge",),
    "plugin": ("krr_mcp.kubectl_plugin",),
    "tools": (
        "krr_mcp.cli",
        "krr_mcp.commands",
        "krr_mcp.demo",
        "krr_mcp.docs_gen",
        "krr_mcp.docs_assets",
        "krr_mcp.cluster",
        "krr_mcp.sandbox.testing",
    ),
    "sandbox": ("krr_mcp.sandbox",),
    "metrics_history": ("krr_mcp.metrics_history",),
    # Standalone leaves anyone may use: the version (krr_mcp/__init__.py) and the CEL environment.
    "base": ("krr_mcp", "krr_mcp.cel"),
}

# Layer -> the layers it may import (itself always). Everything may import "base".
ALLOWED: dict[str, set[str]] = {
    "api": set(),
    "core": {"api"},
    "client": {"api"},  # no policy, no safety rules, no Events: requests, paths and typed errors
    "kube": {"api", "core", "client"},
    "recommenders": {"api", "core", "client", "kube"},  # the native engine lists workloads as krr does
    "operator": {"api", "core", "client", "kube", "recommenders"},
    "bridge": {"api", "core", "client", "kube", "recommenders"},
    "plugin": {"api", "core", "client", "kube"},
    "tools": set(LAYERS),
    "sandbox": set(),
    "metrics_history": set(),
    "base": set(),
}


def layer_of(module: str) -> str | None:
    """The layer owning `module` (by longest prefix), None for a module that is not ours."""
    best: tuple[int, str] | None = None
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), layer)
    return best[1] if best else None


def module_name(path: pathlib.Path) -> tuple[str, str]:
    """(the module's import name, the package relative imports start from)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts[0] = PACKAGE_FOLDERS[parts[0]]
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def imports(path: pathlib.Path) -> list[tuple[int, list[str]]]:
    """(line, absolute modules) for every import statement in the file; `from pkg import name` yields
    pkg and pkg.name, so that `from krr_mcp import api` counts as importing krr_mcp.api."""
    _, package = module_name(path)
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, [alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = str(node.module)
            found.append((node.lineno, [target, *(f"{target}.{alias.name}" for alias in node.names)]))
    return found


def product_files() -> list[pathlib.Path]:
    return sorted(p for folder in PACKAGE_FOLDERS for p in (ROOT / folder).rglob("*.py"))


def violations(path: pathlib.Path) -> list[tuple[str, str, str]]:
    """(file, imported module, message) for each import statement in `path` against the plan."""
    module, _ = module_name(path)
    own = layer_of(module)
    assert own is not None, f"{path} belongs to no layer: add its package to LAYERS in {__file__}"
    allowed = ALLOWED[own] | {own, "base"}
    relative = str(path.relative_to(ROOT))
    out = []
    for line, targets in imports(path):
        for target in targets:
            layer = layer_of(target)
            if layer is None or layer in allowed:
                continue
            message = (
                f"{relative}:{line}: imports {target} ({layer}); the {own} layer may import only "
                f"{', '.join(sorted(allowed))}"
            )
            out.append((relative, target, message))
            break
    return out


def test_every_import_points_the_allowed_way() -> None:
    problems = [message for path in product_files() for _, _, message in violations(path)]
    assert not problems, "imports against the house plan (docs/architecture.md):\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "where", "expected"),
    [
        (
            "from krr_mcp.kube.client import Kube\n",
            "krr_mcp/core/x.py",
            "imports krr_mcp.kube.client (client)",
        ),
        ("from krr_operator import dry_run\n", "mcp_bridge/x.py", "imports krr_operator (operator)"),
        ("from ..kube import client\n", "krr_mcp/core/x.py", "imports krr_mcp.kube (kube)"),
        (
            "def f():\n    import mcp_bridge.server\n",
            "krr_mcp/kubectl_plugin/x.py",
            "imports mcp_bridge.server",
        ),
        ("from krr_mcp import api\n", "krr_mcp/sandbox/x.py", "imports krr_mcp.api (api)"),
        ("from krr_mcp.api import project_crds\n", "krr_mcp/sandbox/seed.py", "imports krr_mcp.api (api)"),
        ("from mcp_bridge.tools import scan\n", "operator/x.py", "imports mcp_bridge.tools (bridge)"),
        ("from mcp_bridge import scans\n", "krr_mcp/recommenders/x.py", "imports mcp_bridge (bridge)"),
        (
            "from krr_mcp.core.safety import ClusterContext\n",
            "krr_mcp/kube/client.py",
            "imports krr_mcp.core.safety (core)",
        ),
        (
            "from .loaders import load_policy\n",
            "krr_mcp/kube/client.py",
            "imports krr_mcp.kube.loaders (kube)",
        ),
    ],
)
def test_a_wrong_way_import_is_named(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, source: str, where: str, expected: str
) -> None:
    """The checker itself: each of these imports goes against the plan and is reported with its file."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source)
    found = [message for _, _, message in violations(path)]
    assert any(expected in problem and where in problem for problem in found), found
