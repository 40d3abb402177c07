"""The MCP tools reference page, generated from the live server's tool schemas (never written by hand).

`tools_reference_markdown()` builds the bridge's MCPServer (no cluster is contacted) and renders every
tool's description, annotations, arguments and result fields, then the resources and prompts.
"""

from __future__ import annotations

import inspect
from typing import Any

import anyio
from kubernetes import client

from .server import build_server
from .settings import BridgeSettings
from .tools import WRITING_TOOLS


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return dict(root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {}))
    return schema


def type_text(schema: dict[str, Any], root: dict[str, Any]) -> str:
    """A short human-readable type for a JSON schema node."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        arms = [type_text(arm, root) for arm in schema["anyOf"] if arm.get("type") != "null"]
        optional = any(arm.get("type") == "null" for arm in schema["anyOf"])
        return " | ".join(arms) + (" (optional)" if optional else "")
    if "enum" in schema:
        return " / ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {type_text(schema.get('items', {}), root)}"
    return str(kind)


def constraints_text(schema: dict[str, Any]) -> str:
    node = schema
    if "anyOf" in schema:
        node = next((arm for arm in schema["anyOf"] if arm.get("type") != "null"), schema)
    parts = []
    for key, label in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
    ):
        if key in node:
            parts.append(f"{label} {node[key]}")
    if "pattern" in node:
        parts.append(f"pattern `{node['pattern']}`")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _arguments_table(schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties") or {}
    if not properties:
        return ["No arguments.", ""]
    required = set(schema.get("required") or [])
    lines = [
        "| Argument | Type | Required | Default | Constraints | Description |",
        "|---|---|---|---|---|---|",
    ]
    for name, prop in properties.items():
        default = f"`{prop['default']}`" if "default" in prop and prop["default"] not in (None, []) else ""
        lines.append(
            f"| `{name}` | {_cell(type_text(prop, schema))} | {'yes' if name in required else 'no'} | "
            f"{_cell(default)} | {_cell(constraints_text(prop))} | {_cell(prop.get('description', ''))} |"
        )
    return [*lines, ""]


def _result_fields(schema: dict[str, Any]) -> list[str]:
    properties = _resolve(schema, schema).get("properties") or {}
    lines = ["| Field | Type | Description |", "|---|---|---|"]
    for name, prop in properties.items():
        lines.append(
            f"| `{name}` | {_cell(type_text(prop, schema))} | {_cell(prop.get('description', ''))} |"
        )
    return [*lines, ""]


async def _catalogue() -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    server = build_server(BridgeSettings(), api_client=client.ApiClient())
    return (
        await server.list_tools(),
        await server.list_resources(),
        await server.list_resource_templates(),
        await server.list_prompts(),
    )


def tools_reference_markdown() -> str:
    """The tools reference as Markdown (call it outside a running event loop)."""
    tools, resources, templates, prompts = anyio.run(_catalogue)
    out = [
        "# MCP tools reference",
        "",
        "Generated from the bridge's live tool schemas (`mcp_bridge.docs.tools_reference_markdown`).",
        "Every tool returns structured content matching its result schema plus a short text rendering;",
        "errors are tool errors (`isError`) with a one-line reason. With `krr-mcp serve --read-only`, the",
        f"writing tools ({', '.join(f'`{n}`' for n in sorted(WRITING_TOOLS))}) are not offered at all.",
        "No tool can approve, reject or roll back a change: only humans (kubectl) write those fields.",
        "",
    ]
    for tool in tools:
        hints = tool.annotations
        out += [f"## `{tool.name}`", ""]
        if tool.title:
            out += [f"*{tool.title}*", ""]
        out += [inspect.cleandoc(tool.description or ""), ""]
        if hints is not None:
            out += [
                f"Annotations: readOnlyHint `{hints.read_only_hint}`, "
                f"destructiveHint `{hints.destructive_hint}`, idempotentHint `{hints.idempotent_hint}`, "
                f"openWorldHint `{hints.open_world_hint}`.",
                "",
            ]
        out += ["**Arguments**", "", *_arguments_table(tool.input_schema)]
        if tool.output_schema:
            out += ["**Result**", "", *_result_fields(tool.output_schema)]
    out += ["## Resources", "", "| URI | Description |", "|---|---|"]
    for res in resources:
        out.append(f"| `{res.uri}` | {_cell(res.description or '')} |")
    for tmpl in templates:
        out.append(f"| `{tmpl.uri_template}` | {_cell(tmpl.description or '')} |")
    out += ["", "## Prompts", "", "| Prompt | Arguments | Description |", "|---|---|---|"]
    for prompt in prompts:
        args = ", ".join(f"`{a.name}`" for a in prompt.arguments or [])
        out.append(f"| `{prompt.name}` | {args} | {_cell(prompt.description or '')} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(tools_reference_markdown(), end="")
