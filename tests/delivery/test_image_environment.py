"""The image's Python environment, built without Docker: the Dockerfile's own COPY and `uv sync` steps run
in a temporary folder (offline, from uv's cache), then the commands the manifests start are checked
against the installed CLI. Catches a stale lock file, a runtime import of a dev-only package, a package
folder the wheel leaves out, and a manifest flag the CLI does not know."""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
from typing import Any

import pytest

from .manifests import RENDERINGS, ROOT, of_kind, render
from .test_dockerfile import _instructions


def _builder_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    start = next(
        i for i, (word, args) in enumerate(instructions) if word == "FROM" and args.endswith("AS builder")
    )
    end = next(
        (i for i in range(start + 1, len(instructions)) if instructions[i][0] == "FROM"), len(instructions)
    )
    return instructions[start:end]


@pytest.fixture(scope="module")
def image_env(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The runtime environment as the builder stage makes it; returns its bin/ folder."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.fail("uv not found: run the tests through ./uvw")
    context = tmp_path_factory.mktemp("context")
    venv = context / "image-venv"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_OFFLINE": "1",  # everything comes from uv's cache, filled by `./uvw sync`
        "UV_NO_PROGRESS": "1",
        "UV_COMPILE_BYTECODE": "0",
    }
    env.pop("VIRTUAL_ENV", None)
    for word, args in _builder_stage():
        if word == "COPY" and "--from=" not in args:
            *sources, _dest = args.split()
            for source in sources:
                origin, target = ROOT / source, context / source
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    shutil.copy(origin, target)
        elif word == "RUN" and "uv sync" in args:
            command = [
                uv if token == "uv" else token
                for token in shlex.split(args)
                if not token.startswith("--mount")
            ]
            done = subprocess.run(
                command, cwd=context, env=env, capture_output=True, text=True, timeout=300, check=False
            )
            assert done.returncode == 0, f"{args}\n{done.stderr}"
    return venv / "bin"


# Run by the image's own Python: import every package, then list each `krr-mcp` subcommand's options.
_PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
import typer.main
from krr_mcp.cli import app
group = typer.main.get_command(app)
print(json.dumps({
    name: {"options": sorted(o for p in command.params for o in p.opts), "help": command.help or ""}
    for name, command in group.commands.items()
}))
"""


@pytest.fixture(scope="module")
def image_cli(image_env: pathlib.Path) -> dict[str, dict[str, Any]]:
    """`krr-mcp`'s subcommands as the image's environment sees them, after importing every package there
    (outside the work tree, so nothing is imported from the sources by accident)."""
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    done = subprocess.run(
        [str(image_env / "python"), "-c", _PROBE, *packages],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, f"the image's environment cannot import the project:\n{done.stderr}"
    return dict(json.loads(done.stdout))


def test_environment_holds_the_current_sources(image_env: pathlib.Path) -> None:
    """Not a wheel of older sources from uv's cache: every installed module is the working tree's."""
    import tomllib

    site_packages = next(image_env.parent.glob("lib/python3.*/site-packages"))
    package_dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    checked = 0
    for import_name, folder in package_dirs.items():
        for source in (ROOT / folder).rglob("*.py"):
            if "__pycache__" in source.parts:
                continue
            installed = site_packages / import_name / source.relative_to(ROOT / folder)
            assert installed.exists(), f"{source.relative_to(ROOT)} is not in the image"
            assert installed.read_bytes() == source.read_bytes(), f"{source.relative_to(ROOT)} is stale"
            checked += 1
    assert checked > 10


def test_environment_has_no_dev_dependencies(image_env: pathlib.Path) -> None:
    for tool in ("pytest", "mkdocs", "hadolint", "ruff"):
        assert not (image_env / tool).exists(), f"{tool} would ship in the image"
    assert (image_env / "krr-mcp").exists()


def test_every_package_imports_without_dev_dependencies(image_cli: dict[str, dict[str, Any]]) -> None:
    assert {"operator", "serve"} <= set(image_cli)


@pytest.mark.parametrize("deployment", ["krr-mcp-operator", "krr-mcp-bridge"])
def test_manifest_arguments_are_accepted_by_the_cli(
    image_cli: dict[str, dict[str, Any]], deployment: str
) -> None:
    objects = of_kind(render(RENDERINGS["base"]), "Deployment")
    pod = next(d for d in objects if d["metadata"]["name"] == deployment)["spec"]["template"]["spec"]
    command, *args = pod["containers"][0]["args"]
    assert command in image_cli, f"`krr-mcp {command}` does not exist"
    if "Not built yet" in image_cli[command]["help"]:
        pytest.skip(f"`krr-mcp {command}` is not built yet: its flags cannot be checked")
    for arg in args:
        flag = arg.split("=", 1)[0]
        assert flag in image_cli[command]["options"], f"`krr-mcp {command}` has no {flag}"
