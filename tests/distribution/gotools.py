"""Go build glue for the distribution tests: modules pinned under hack/ (go.mod, go.sum), fetched from the
Go module proxy and built into the cache folder the control plane uses (krr_mcp.cluster.binaries),
keyed by the pins (go.mod, go.sum) and the Go version."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from krr_mcp.cluster.binaries import BuildError, cache_root, go_binary

ROOT = Path(__file__).resolve().parents[2]
HACK = ROOT / "hack"


def go() -> str:
    """The go command. Where Go is absent the test skips, saying why; in CI (CI=true) it fails."""
    try:
        return go_binary()
    except BuildError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc} (CI must run the krew and MCP registry checks)")
        pytest.skip(str(exc))


def _go(glue: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`go ARGS` in hack/<glue>: this Go only (no toolchain download), go.mod and go.sum as committed."""
    env = {
        **os.environ,
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-buildvcs=false -mod=readonly",
        "CGO_ENABLED": "0",
    }
    return subprocess.run(
        [go(), *args], cwd=HACK / glue, capture_output=True, text=True, env=env, timeout=900, check=False
    )


def module_dir(glue: str, module: str) -> Path:
    """Where the module that hack/<glue>/go.mod pins is unpacked (downloaded and checked against go.sum)."""
    done = _go(glue, "mod", "download", "-json", module)
    info = json.loads(done.stdout or "{}")
    assert done.returncode == 0 and "Dir" in info, f"go mod download {module}: {done.stdout}{done.stderr}"
    return Path(info["Dir"])


def build_key(glue: str, packages: tuple[str, ...], ldflags: str = "") -> str:
    """Hash of hack/<glue>'s pins (go.mod, go.sum), the Go version, the packages and the linker flags:
    the cache folder's name, so a changed pin or Go builds anew and an unchanged one never does."""
    digest = hashlib.sha256(_go(glue, "version").stdout.encode())
    for name in ("go.mod", "go.sum"):
        digest.update(f"{name}\n".encode() + (HACK / glue / name).read_bytes())
    digest.update(" ".join(packages).encode())
    if ldflags:  # (none: the key the krew tools were cached under before ldflags existed)
        digest.update(f"\nldflags {ldflags}".encode())
    return digest.hexdigest()[:16]


def built_tools(glue: str, *packages: str, ldflags: str = "") -> Path:
    """A folder holding the binaries of `packages` built from hack/<glue> (cached by build_key);
    `ldflags` go to the linker (e.g. -X for a version string)."""
    key = build_key(glue, packages, ldflags)
    cache = cache_root() / "go-tools"
    out = cache / f"{glue}-{key}"
    names = [p.rsplit("/", 1)[-1] for p in packages]
    if all((out / n).is_file() for n in names):
        return out
    partial = cache / f"{glue}-{key}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    done = _go(glue, "build", "-trimpath", f"-ldflags={ldflags}", "-o", f"{partial}/", *packages)
    assert done.returncode == 0, f"go build {packages}: {done.stdout}{done.stderr}"
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out
