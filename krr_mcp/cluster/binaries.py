"""The control plane's binaries, built from the pinned Go modules in hack/controlplane/ into a cache.

Each folder of hack/controlplane/ is a Go module whose `tool` lines name the packages to build (build glue
only). The cache folder is keyed by the exact content of those go.mod/go.sum files and the Go version, so
a change of any pin builds anew and an unchanged pin never does.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MODULES_DIR = Path(__file__).resolve().parents[2] / "hack" / "controlplane"
# A package whose last path element is not the binary's name.
_BINARY_NAMES = {"go.etcd.io/etcd/server/v3": "etcd"}
REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml")
# kwok's own stages (in its module, pinned with it): nodes become Ready and keep a lease, pods become
# Ready, complete and go away. Copied next to the binary, since the kwok binary embeds none.
KWOK_MODULE = "sigs.k8s.io/kwok"
KWOK_STAGES = (
    "kustomize/stage/node/fast",
    "kustomize/stage/node/heartbeat-with-lease",
    "kustomize/stage/pod/fast",
)
_NETWORK_HINTS = ("dial tcp", "no such host", "i/o timeout", "connection refused", "TLS handshake")


class BuildError(RuntimeError):
    """The binaries cannot be built here; the message is one line saying why."""


@dataclass(frozen=True)
class Tool:
    module_dir: Path
    package: str
    module: str
    version: str

    @property
    def binary(self) -> str:
        return _BINARY_NAMES.get(self.package, self.package.rsplit("/", 1)[-1])


def cache_root() -> Path:
    """Where built control planes live: $KRR_MCP_CACHE or ~/.cache/krr-mcp (outside any work tree)."""
    given = os.environ.get("KRR_MCP_CACHE")
    return Path(given) if given else Path.home() / ".cache" / "krr-mcp"


def go_binary() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if found is None:
        raise BuildError("Go is not installed (no `go` on PATH nor /usr/local/go/bin/go): install Go 1.26+")
    return found


def module_dirs(root: Path = MODULES_DIR) -> list[Path]:
    if not root.is_dir():
        raise BuildError(f"the pinned Go modules are not here ({root}): run from a krr-mcp checkout")
    return sorted(path.parent for path in root.glob("*/go.mod"))


def _go(go: str, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run([go, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()
        if any(hint in done.stderr for hint in _NETWORK_HINTS):
            proxy = env.get("GOPROXY") or "the default proxy"
            raise BuildError(f"the Go module proxy ({proxy}) cannot be reached: {said[-1]}")
        raise BuildError(f"`go {' '.join(args)}` failed in {cwd.name}: {said[-1]}")
    return done.stdout


def _env() -> dict[str, str]:
    env = dict(os.environ, CGO_ENABLED="0")
    env.setdefault("GOFLAGS", "-buildvcs=false")
    return env


# How the binaries are built (flags below); part of the cache key, so a changed recipe builds anew.
BUILD_RECIPE = "trimpath, CGO off, kubernetes version stamped"


def _ldflags(tool: Tool) -> list[str]:
    """Stamp Kubernetes binaries with their release, as the project's own build does: without it the
    API server reports v0.0.0-master (`kubectl version`, and any tool checking the server's version)."""
    if tool.module != "k8s.io/kubernetes" or not tool.version.startswith("v"):
        return []
    major, minor = tool.version[1:].split(".")[:2]
    stamp = {"gitVersion": tool.version, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean"}
    flags = " ".join(
        f"-X {package}.{name}={value}"
        for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for name, value in stamp.items()
    )
    return [f"-ldflags={flags}"]


def build_key(go: str, root: Path = MODULES_DIR) -> str:
    """Hash of every pin (go.mod, go.sum), the Go version and the build recipe: the cache folder's name."""
    digest = hashlib.sha256()
    digest.update(BUILD_RECIPE.encode())
    digest.update(subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.encode())
    for folder in module_dirs(root):
        for name in ("go.mod", "go.sum"):
            path = folder / name
            digest.update(f"{folder.name}/{name}\n".encode())
            digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def tools(go: str, root: Path = MODULES_DIR) -> list[Tool]:
    """The packages each module's `tool` lines name, with the module version that pins them."""
    found = []
    env = _env()
    for folder in module_dirs(root):
        packages = _go(go, ["list", "tool"], folder, env).split()
        for package in packages:
            described = _go(go, ["list", "-f", "{{.Module.Path}} {{.Module.Version}}", package], folder, env)
            module, _, version = described.strip().partition(" ")
            found.append(Tool(folder, package, module, version or "(local)"))
    return found


def pinned_version(module: str, root: Path = MODULES_DIR) -> str | None:
    """The version of `module` that a go.mod under `root` requires (None when none does)."""
    line = re.compile(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", re.MULTILINE)
    for folder in module_dirs(root):
        found = line.search((folder / "go.mod").read_text())
        if found:
            return found.group(1)
    return None


def bin_dir(root: Path = MODULES_DIR) -> Path:
    """The cache folder for the current pins (built or not)."""
    return cache_root() / "controlplane" / build_key(go_binary(), root) / "bin"


def missing(folder: Path, required: tuple[str, ...] = REQUIRED) -> list[str]:
    return [name for name in required if not (folder / name).is_file()]


def build(
    root: Path = MODULES_DIR, say: Callable[[str], None] = print, required: tuple[str, ...] = REQUIRED
) -> Path:
    """Build whatever is not in the cache yet; say what was built and how long it took. Returns the
    folder holding every binary of REQUIRED. Raises BuildError with one line when it cannot."""
    go = go_binary()
    target = cache_root() / "controlplane" / build_key(go, root) / "bin"
    if not missing(target, required):
        say(f"control plane binaries: cached in {target}")
        return target
    target.mkdir(parents=True, exist_ok=True)
    env = _env()
    started = time.monotonic()
    for tool in tools(go, root):
        if (target / tool.binary).is_file():
            continue
        began = time.monotonic()
        partial = target / f".{tool.binary}.partial"
        flags = ["-trimpath", *_ldflags(tool)]
        _go(go, ["build", *flags, "-o", str(partial), tool.package], tool.module_dir, env)
        partial.replace(target / tool.binary)  # a binary in the cache is always a whole one
        say(f"built {tool.binary} ({tool.module} {tool.version}) in {time.monotonic() - began:.0f}s")
    if "kwok-stages.yaml" in required and not (target / "kwok-stages.yaml").is_file():
        _copy_kwok_stages(go, root, target / "kwok-stages.yaml")
    if missing(target, required):
        raise BuildError(f"the Go modules in {root} do not build {', '.join(missing(target, required))}")
    say(f"control plane binaries: built in {time.monotonic() - started:.0f}s into {target}")
    return target


def _copy_kwok_stages(go: str, root: Path, into: Path) -> None:
    """kwok's stage files from the pinned kwok module, as one multi-document YAML file."""
    folder = next((t.module_dir for t in tools(go, root) if t.module == KWOK_MODULE), None)
    if folder is None:
        raise BuildError(f"no module in {root} pins {KWOK_MODULE}")
    source = Path(_go(go, ["list", "-m", "-f", "{{.Dir}}", KWOK_MODULE], folder, _env()).strip())
    documents = [
        path.read_text() for stage_set in KWOK_STAGES for path in sorted((source / stage_set).glob("*.yaml"))
        if path.name != "kustomization.yaml"
    ]  # fmt: skip
    into.write_text("\n---\n".join(documents))


def find(bin_dir_override: Path | None = None) -> Path:
    """The folder with every binary: the override ($KRR_MCP_CONTROLPLANE_BIN) or the built cache.
    Raises BuildError saying what to run when they are not built."""
    given = bin_dir_override or (
        Path(os.environ["KRR_MCP_CONTROLPLANE_BIN"]) if os.environ.get("KRR_MCP_CONTROLPLANE_BIN") else None
    )
    folder = given or bin_dir()
    absent = missing(folder)
    if absent:
        raise BuildError(
            f"control plane binaries missing in {folder} ({', '.join(absent)}): run `krr-mcp cluster build`"
        )
    return folder
