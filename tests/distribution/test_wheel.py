"""`pipx install krr-mcp` / `uvx krr-mcp`: the wheel alone, in a fresh venv outside the checkout, runs
`krr-mcp --version`, the whole demo and `krr-mcp serve` for a real MCP client."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from krr_mcp.demo.walkthrough import RECORDED_SCAN_NOTICE
from krr_mcp.sandbox.handle import SandboxHandle
from tests.demo.test_demo_end_to_end import DemoProcess, check_the_whole_loop

from .conftest import ROOT, Installed, bridge_tools, run

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION, LICENSE_EXPRESSION = PROJECT["version"], PROJECT["license"]
PACKAGES = ("krr_mcp/", "krr_operator/", "mcp_bridge/", f"krr_mcp-{VERSION}.dist-info/")


def test_the_wheel_holds_the_packages_and_their_data_and_nothing_else(built_wheel: Path) -> None:
    names = zipfile.ZipFile(built_wheel).namelist()
    assert [n for n in names if not n.startswith(PACKAGES)] == []
    assert "krr_mcp/demo/recorded-scan.json" in names
    assert {"krr_mcp/api/crdgen.py", "mcp_bridge/server.py", "krr_mcp/cli.py"} <= set(names)


def test_the_wheel_carries_the_license(built_wheel: Path) -> None:
    """Apache-2.0 as pyproject.toml declares it: the metadata's expression and the LICENSE file itself."""
    wheel = zipfile.ZipFile(built_wheel)
    dist_info = f"krr_mcp-{VERSION}.dist-info"
    metadata = wheel.read(f"{dist_info}/METADATA").decode()
    assert LICENSE_EXPRESSION == "Apache-2.0"
    assert f"License-Expression: {LICENSE_EXPRESSION}\n" in metadata
    assert "License-File: LICENSE\n" in metadata
    text = (ROOT / "LICENSE").read_text()
    assert wheel.read(f"{dist_info}/licenses/LICENSE").decode() == text
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"]
    assert "Copyright 2026 The krr-mcp authors\n" in text and "[yyyy]" not in text


def test_the_installed_package_is_not_the_checkout(installed: Installed) -> None:
    where = run(installed.bin / "python", "-c", "import krr_mcp; print(krr_mcp.__file__)", cwd=installed.home)
    assert Path(where.stdout.strip()).is_relative_to(installed.bin.parent)


def test_version_flag_and_subcommand_print_the_project_version(installed: Installed) -> None:
    env = installed.env()
    for argv in (["--version"], ["version"]):
        done = run(installed.krr_mcp, *argv, env=env, cwd=installed.home)
        assert done.stdout == f"{VERSION}\n"


def test_the_demo_runs_to_the_end_from_the_installed_wheel(installed: Installed, tmp_path: Path) -> None:
    """A new user's first command: no checkout, no prometheus, the package's own CRDs and recorded scan."""
    demo = DemoProcess(
        tmp_path / "state",
        path=installed.path,
        krr_mcp=installed.krr_mcp,
        env=installed.env(),
        cwd=installed.home,
    )
    try:
        out = check_the_whole_loop(demo, tmp_path)
        assert RECORDED_SCAN_NOTICE in out
        assert str(installed.bin.parent) in out  # the recorded scan is the installed package's file
    finally:
        code = demo.stop()
    assert code == 0, demo.output


async def test_serve_over_stdio_offers_the_checkouts_tools(
    installed: Installed, sandbox: SandboxHandle
) -> None:
    """`krr-mcp serve` from the wheel, spawned by the MCP SDK's stdio client as a desktop assistant does."""
    expected = await bridge_tools(sandbox.kubeconfig)
    server = StdioServerParameters(
        command=str(installed.krr_mcp),
        args=["serve", "--kubeconfig", str(sandbox.kubeconfig)],
        env=installed.env(),
        cwd=installed.home,
    )
    async with Client(server, read_timeout_seconds=60) as client:
        listed = sorted(t.name for t in (await client.list_tools()).tools)
    assert listed == expected and "propose_change" in listed
