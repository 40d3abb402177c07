"""server.json, the MCP registry's description of the bridge: valid against the schema the registry's own
validator embeds (Go module github.com/modelcontextprotocol/registry, pinned in hack/mcp-registry-schema),
and true to the package: its version, name, arguments and environment are the ones `krr-mcp serve` has."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.main import get_command

from krr_mcp.commands.serve import serve
from mcp_bridge.auth import TOKEN_ENV

from .gotools import module_dir

ROOT = Path(__file__).resolve().parents[2]
SERVER_JSON = json.loads((ROOT / "server.json").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SCHEMA_URL = re.compile(
    r"^https://static\.modelcontextprotocol\.io/schemas/(?P<date>[0-9-]+)/server\.schema\.json$"
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    """The registry's schema for the date server.json's $schema names."""
    date = SCHEMA_URL.match(SERVER_JSON["$schema"])
    assert date, SERVER_JSON["$schema"]
    folder = module_dir("mcp-registry-schema", "github.com/modelcontextprotocol/registry")
    schema = json.loads((folder / "internal/validators/schemas" / f"{date['date']}.json").read_text())
    assert schema["$id"] == SERVER_JSON["$schema"]
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def _errors(validator: jsonschema.Draft7Validator, doc: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_server_json_is_valid_against_the_registry_schema(validator: jsonschema.Draft7Validator) -> None:
    assert _errors(validator, SERVER_JSON) == []


def test_the_schema_refuses_what_the_registry_refuses(validator: jsonschema.Draft7Validator) -> None:
    """The check bites: a careless edit fails it."""
    for breakage in (
        lambda d: d["packages"][0].pop("transport"),
        lambda d: d.update(name="krr-mcp"),  # no namespace
        lambda d: d["packages"][0].update(version="latest"),
        lambda d: d["packages"][1]["transport"].update(url="127.0.0.1:8765/mcp"),
        lambda d: d.update(description="x" * 101),
    ):
        doc = copy.deepcopy(SERVER_JSON)
        breakage(doc)
        assert _errors(validator, doc), doc


def test_server_json_names_this_package_and_version() -> None:
    assert SERVER_JSON["version"] == PROJECT["version"]
    for package in SERVER_JSON["packages"]:
        assert (package["registryType"], package["identifier"]) == ("pypi", PROJECT["name"])
        assert package["version"] == PROJECT["version"] and package["runtimeHint"] == "uvx"
    # The registry checks PyPI ownership by this marker in the package's description (the README).
    assert f"mcp-name: {SERVER_JSON['name']}" in (ROOT / PROJECT["readme"]).read_text()


def test_server_json_arguments_and_environment_are_serves() -> None:
    options = {name for param in get_command_params() for name in param.opts}
    transports = set()
    for package in SERVER_JSON["packages"]:
        arguments = package["packageArguments"]
        assert arguments[0] == {"type": "positional", "value": "serve"}
        for argument in arguments[1:]:
            assert argument["type"] == "named" and argument["name"] in options, argument
        transports.add(package["transport"]["type"])
        env = {e["name"] for e in package.get("environmentVariables", [])}
        if package["transport"]["type"] == "streamable-http":
            assert TOKEN_ENV in env
            header = package["transport"]["headers"][0]
            assert header["value"] == f"Bearer {{{TOKEN_ENV}}}" and header["isSecret"]
            assert {"type": "named", "name": "--transport", "value": "http"} in arguments
    assert transports == {"stdio", "streamable-http"}


def get_command_params() -> list[Any]:
    """`krr-mcp serve`'s click parameters."""
    import typer

    app = typer.Typer()
    app.command()(serve)
    return list(get_command(app).params)
