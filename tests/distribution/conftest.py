"""The package as its users get it: `uv build` (the sdist, then the wheel built from it), installed with
`uv pip` into a fresh virtual environment outside the checkout. No dev tools are in it: the user's own
kubectl stands beside it on PATH.

The install pins the versions of uv.lock (`uv export`) and runs offline from uv's cache, which
`./uvw sync --locked` filled; only when the cache lacks a package does it ask the package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# This checkout's uv settings and virtual environment must not reach the user's commands.
CHECKOUT_ENV = (
    "VIRTUAL_ENV",
    "UV_PROJECT",
    "UV_PYTHON",
    "UV_RUN_RECURSION_DEPTH",
    "KUBECONFIG",
    "PYTHONPATH",
)


def uv() -> str:
    """The uv executable: the one running this suite (`uv run` sets UV), else uv on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail("uv is missing: ./uvw installs it")
    return found


def user_env(path: str, **extra: str) -> dict[str, str]:
    """A user's shell environment: PATH as given, nothing of this checkout's venv or uv project."""
    env = {k: v for k, v in os.environ.items() if k not in CHECKOUT_ENV}
    # The sandbox enforces no RBAC, so its one user may approve: `krr-mcp serve` serves it only when told.
    return {**env, "PATH": path, "KRR_MCP_UNSAFE_ALLOW_APPROVER_CREDENTIALS": "1", **extra}


def run(*args: str | Path, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@dataclass(frozen=True)
class Installed:
    """krr-mcp installed from its wheel in a fresh venv; `path` is a user's PATH (the venv's bin, then a
    folder holding only kubectl) and `home` an empty working directory outside the checkout."""

    wheel: Path
    bin: Path
    path: str
    home: Path

    @property
    def krr_mcp(self) -> Path:
        return self.bin / "krr-mcp"

    def env(self, **extra: str) -> dict[str, str]:
        return user_env(self.path, **extra)


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `uv build` makes (from the sdist, as a package index receives both)."""
    out = tmp_path_factory.mktemp("dist")
    python = os.path.realpath(sys.executable)
    run(
        uv(),
        "build",
        "--python",
        python,
        "--no-create-gitignore",
        "--out-dir",
        out,
        ROOT,
        env=user_env(os.environ["PATH"]),
    )
    wheels = sorted(out.glob("krr_mcp-*.whl"))
    assert len(wheels) == 1 and sorted(out.glob("krr_mcp-*.tar.gz")), sorted(out.iterdir())
    return wheels[0]


@pytest.fixture(scope="session")
def installed(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("user")
    assert not base.is_relative_to(ROOT)
    venv = base / "venv"
    env = user_env(os.environ["PATH"])
    run(uv(), "venv", "--quiet", "--python", os.path.realpath(sys.executable), venv, env=env)
    pins = base / "uv-lock-pins.txt"
    exported = run(
        uv(),
        "export",
        "--frozen",
        "--no-dev",
        "--no-hashes",
        "--no-emit-project",
        "--no-header",
        "--project",
        ROOT,
        env=env,
    )
    pins.write_text(exported.stdout)
    install = [
        uv(),
        "pip",
        "install",
        "--quiet",
        "--python",
        venv / "bin" / "python",
        "-c",
        pins,
        built_wheel,
    ]
    offline = subprocess.run(
        [str(a) for a in [*install, "--offline"]], capture_output=True, text=True, env=env, timeout=300
    )
    if offline.returncode != 0:  # uv's cache lacks a pinned package: fetch it like a user would
        run(*install, env=env)
    tools = base / "user-bin"
    tools.mkdir()
    kubectl = Path(sys.executable).parent / "kubectl"  # the user's own kubectl (the dev group's here)
    (tools / "kubectl").symlink_to(kubectl)
    home = base / "work"
    home.mkdir()
    return Installed(
        wheel=built_wheel,
        bin=venv / "bin",
        path=os.pathsep.join([str(venv / "bin"), str(tools)]),
        home=home,
    )


async def bridge_tools(kubeconfig: Path, read_only: bool = False) -> list[str]:
    """The tool names this checkout's bridge offers (in process), to compare an installed server with."""
    from mcp import Client

    from mcp_bridge.server import build_server
    from mcp_bridge.settings import BridgeSettings

    settings = BridgeSettings(kubeconfig=str(kubeconfig), read_only=read_only)
    async with Client(build_server(settings)) as client:
        return sorted(t.name for t in (await client.list_tools()).tools)
