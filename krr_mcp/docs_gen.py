"""The docs site's generated pages, and the mkdocs hooks that add them (mkdocs.yml: `hooks:`).

- `crd-reference.md`: every field, rule and printer column of each custom resource, from the same
  pydantic models `krr-mcp crds generate` turns into crds/ (so the page cannot drift from the API).
- `mcp-tools.md`: the MCP tools and their input/output schemas, from the bridge
  (`mcp_bridge.docs.tools_reference_markdown()`); a clear note while the bridge has none.

The nav in mkdocs.yml lists every page in order; pages other components write may not exist yet, so the
hooks drop nav entries for absent pages, turn links to them into plain text, and append pages that
exist but that the nav does not name. `mkdocs build --strict` passes with or without them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

# Pages written by other components; the site builds whether or not they exist yet.
OPTIONAL_PAGES = frozenset(
    {
        "approval-workflow.md",
        "assistant.md",
        "bridge-benchmark.md",
        "recommenders.md",
        "sandbox.md",
        "real-cluster.md",
        "helm.md",
        "trust-model.md",
        "kubectl-plugin.md",
    }
)
CRD_REFERENCE = "crd-reference.md"
TOOLS_REFERENCE = "mcp-tools.md"


# --- CRD reference ---------------------------------------------------------------------------------


# Characters markdown or HTML would interpret inside a table cell; written as character references.
_MARKUP = {ord(c): f"&#{ord(c)};" for c in "&<>|[]()*_`\\{}!#"}


def _code(text: str) -> str:
    """Inline code that is literal inside a markdown table cell (no markup, no links, no pipes)."""
    return "<code>" + text.translate(_MARKUP) + "</code>"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "&#124;")


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type", "any")
    if kind == "array":
        return f"[]{_type_of(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema and "properties" not in schema:
        return f"map[string]{_type_of(schema['additionalProperties'])}"
    if schema.get("format"):
        return f"{kind} ({schema['format']})"
    return str(kind)


def known_patterns() -> dict[str, str]:
    """Patterns the API uses often, by what they mean (the full regex would repeat on every row)."""
    from krr_mcp.api import resource_recommendation as rr

    return {
        rr.QUANTITY_PATTERN: "a Kubernetes quantity (`500m`, `1Gi`)",
        rr.DNS1123_LABEL: "a DNS-1123 label",
        rr.DNS1123_SUBDOMAIN: "a DNS-1123 subdomain",
    }


def _constraints(schema: dict[str, Any]) -> list[str]:
    found = []
    if "enum" in schema:
        found.append("one of " + ", ".join(_code(str(v)) for v in schema["enum"]))
    if "default" in schema:
        default = schema["default"]
        found.append(
            f"default {_code(default if isinstance(default, str) and default else json.dumps(default))}"
        )
    for key, label in (
        ("minimum", "min"),
        ("maximum", "max"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
    ):
        if key in schema:
            found.append(f"{label} {schema[key]}")
    if "pattern" in schema:
        named = known_patterns().get(schema["pattern"])
        found.append(named or f"pattern {_code(schema['pattern'])}")
    if schema.get("x-kubernetes-list-type") == "map":
        keys = ", ".join(schema.get("x-kubernetes-list-map-keys", []))
        found.append(f"list keyed by {_code(keys)}")
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        found.append("free-form")
    return found


def _fields(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(path, schema, required) for every field below `schema`, depth first, in declaration order."""
    required = set(schema.get("required", []))
    for name, child in schema.get("properties", {}).items():
        child_path = f"{path}.{name}" if path else name
        yield child_path, child, name in required
        node = child
        suffix = ""
        while node.get("type") == "array":
            node = node.get("items", {})
            suffix += "[]"
        yield from _fields(node, child_path + suffix)


def _validations(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, str]]]:
    for rule in schema.get("x-kubernetes-validations", []):
        yield path or "(object)", rule
    for name, child in schema.get("properties", {}).items():
        child_path = f"{path}.{name}" if path else name
        node = child
        while node.get("type") == "array":
            node = node.get("items", {})
            child_path += "[]"
        yield from _validations(node, child_path)


def crd_markdown(crd: dict[str, Any]) -> str:
    """One CustomResourceDefinition as a reference section: names, columns, CEL rules, fields."""
    spec = crd["spec"]
    names = spec["names"]
    lines = [f"## {names['kind']}", ""]
    for version in spec["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        api_version = f"{spec['group']}/{version['name']}"
        lines += [
            schema.get("description", ""),
            "",
            "| | |",
            "|---|---|",
            f"| apiVersion | `{api_version}` |",
            f"| scope | {spec['scope']} |",
            f"| plural | `{names['plural']}` |",
            f"| short names | {', '.join(f'`{n}`' for n in names.get('shortNames', [])) or '-'} |",
            f"| categories | {', '.join(f'`{n}`' for n in names.get('categories', [])) or '-'} |",
            f"| status subresource | {'yes' if 'status' in version.get('subresources', {}) else 'no'} |",
            "",
        ]
        columns = version.get("additionalPrinterColumns", [])
        if columns:
            lines += [
                f"### `kubectl get {names['plural']}` columns",
                "",
                "| Column | From | Shown |",
                "|---|---|---|",
            ]
            for column in columns:
                shown = "with `-o wide`" if column.get("priority", 0) > 0 else "always"
                lines.append(f"| {column['name']} | {_code(column['jsonPath'])} | {shown} |")
            lines.append("")
        rules = list(_validations(schema, ""))
        if rules:
            lines += [
                "### Validation rules",
                "",
                "The API server enforces these (CEL, `x-kubernetes-validations`) on every write; "
                "`oldSelf` is the object before the update.",
                "",
                "| On | Rule | Message |",
                "|---|---|---|",
            ]
            lines += [
                f"| `{where}` | {_code(rule['rule'])} | {_cell(rule.get('message', ''))} |"
                for where, rule in rules
            ]
            lines.append("")
        lines += ["### Fields", "", "| Field | Type | Required | Description |", "|---|---|---|---|"]
        for path, field, required in _fields(schema, ""):
            if path in ("apiVersion", "kind", "metadata"):
                continue
            description = "<br>".join(
                part for part in (_cell(field.get("description", "")), "; ".join(_constraints(field))) if part
            )
            lines.append(f"| `{path}` | {_type_of(field)} | {'yes' if required else ''} | {description} |")
        lines.append("")
    return "\n".join(lines)


def crd_reference_markdown() -> str:
    """The CRD reference page, for every model in `krr_mcp.api.CRD_MODELS`."""
    from krr_mcp.api import project_crds

    header = [
        "# CRD reference",
        "",
        "Generated when the site is built, from the pydantic models in `krr_mcp/api` (the same models "
        "`krr-mcp crds generate` turns into `crds/`).",
        "",
    ]
    return "\n".join(header) + "\n" + "\n".join(crd_markdown(crd) for crd in project_crds())


# --- MCP tools reference ------------------------------------------------------------------------------


def tools_reference_page() -> str:
    """The MCP tools page from the bridge, or a note saying why it is not there."""
    try:
        from mcp_bridge.docs import tools_reference_markdown
    except ImportError as exc:
        return (
            "# MCP tools reference\n\n"
            '!!! note "Not available in this build"\n'
            "    This page is generated from the MCP bridge's tool schemas "
            "(`mcp_bridge.docs.tools_reference_markdown()`), which this build could not load: "
            f"`{exc}`.\n"
        )
    return tools_reference_markdown()


GENERATED: dict[str, Callable[[], str]] = {
    CRD_REFERENCE: crd_reference_markdown,
    TOOLS_REFERENCE: tools_reference_page,
}


# --- nav and links ----------------------------------------------------------------------------------


def filter_nav(nav: list[Any], exists: Callable[[str], bool]) -> list[Any]:
    """The nav without entries for pages that do not exist (URLs kept; sections emptied are dropped)."""
    kept: list[Any] = []
    for entry in nav:
        title, target = next(iter(entry.items())) if isinstance(entry, dict) else (None, entry)
        if isinstance(target, list):
            children = filter_nav(target, exists)
            if children:
                kept.append({title: children} if title is not None else children)
        elif "://" in target or exists(target):
            kept.append(entry)
    return kept


def nav_pages(nav: list[Any]) -> set[str]:
    """Every page path the nav names."""
    found: set[str] = set()
    for entry in nav:
        target = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(target, list):
            found |= nav_pages(target)
        else:
            found.add(target)
    return found


_LINK = re.compile(r"\[([^\]]+)\]\(([^)#\s]+\.md)(#[^)\s]*)?\)")


def unlink_absent(markdown: str, exists: Callable[[str], bool]) -> str:
    """Links to optional pages that are absent become their text plus a note; others stay as they are."""

    def replace(match: re.Match[str]) -> str:
        target = match.group(2)
        if target in OPTIONAL_PAGES and not exists(target):
            return f"{match.group(1)} (page not published yet)"
        return match.group(0)

    return _LINK.sub(replace, markdown)


# --- mkdocs hooks -----------------------------------------------------------------------------------


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages; fit the nav to the pages that exist."""
    from mkdocs.structure.files import File

    for path, generate in GENERATED.items():
        if files.get_file_from_path(path) is None:
            files.append(File.generated(config, path, content=generate()))

    def exists(path: str) -> bool:
        return files.get_file_from_path(path) is not None

    if config.nav:
        nav = filter_nav(config.nav, exists)
        listed = nav_pages(nav)
        unlisted = sorted(f.src_uri for f in files.documentation_pages() if f.src_uri not in listed)
        if unlisted:
            nav.append({"More": unlisted})
        config.nav = nav
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return unlink_absent(markdown, lambda path: files.get_file_from_path(path) is not None)
