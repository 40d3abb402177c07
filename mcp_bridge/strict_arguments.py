"""Check tool and prompt arguments before the SDK does, so a mistake gets one clear sentence.

- Undeclared tool arguments: the SDK drops them silently, so a misspelt `namepsace` would quietly list
  every namespace, and a smuggled `approved` would be ignored without a word. They are refused, naming
  the unknown arguments and the ones the tool takes.
- Control, bidirectional-formatting and invisible characters in any string argument (they would
  disguise text in a person's terminal): refused, naming the argument.
- Invalid tool arguments: pydantic's multi-line dump becomes one sentence naming each argument.
- Prompts: a missing or invalid argument is a JSON-RPC invalid-params error (the SDK answers
  "Internal server error"), in one sentence naming the argument.
"""

from __future__ import annotations

import inspect
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent
from pydantic import TypeAdapter, ValidationError

from krr_mcp.api.text import printable, unsafe_characters

from .tools.common import validation_sentence


def unsafe_strings(value: Any, where: str = "") -> list[tuple[str, list[str]]]:
    """Every string (and key) in `value` holding control/bidi/invisible characters, with its path
    (`proposals.0.reason`) and the characters as U+XXXX."""
    found: list[tuple[str, list[str]]] = []
    if isinstance(value, str):
        chars = unsafe_characters(value)
        if chars:
            found.append((where or "value", chars))
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{printable(str(key))}" if where else printable(str(key))
            found.extend(unsafe_strings(str(key), path) + unsafe_strings(item, path))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(unsafe_strings(item, f"{where}.{i}"))
    return found


def _error_result(tool: str, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=f"Error executing tool {tool}: {text}")], is_error=True
    )


class RejectUnknownArguments:
    """Server middleware: a `tools/call` with undeclared or invalid arguments gets `isError` (one
    sentence) and runs nothing."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self._declared: dict[str, set[str]] | None = None

    async def declared(self) -> dict[str, set[str]]:
        if self._declared is None:
            tools = await self.server.list_tools()
            self._declared = {t.name: set((t.input_schema or {}).get("properties") or {}) for t in tools}
        return self._declared

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        if ctx.method == "tools/call" and isinstance(params.get("arguments"), dict):
            name = str(params.get("name"))
            arguments = params["arguments"]
            allowed = (await self.declared()).get(name)
            unknown = sorted(set(arguments) - allowed) if allowed is not None else []
            if unknown:
                shown = ", ".join(repr(u[:64]) for u in unknown[:10])
                takes = ", ".join(sorted(allowed or ())) or "no arguments"
                return _error_result(name, f"unknown argument(s) {shown}; it takes: {takes}")
            unsafe = unsafe_strings(arguments)
            if unsafe:
                where, found = unsafe[0]
                return _error_result(
                    name,
                    f"argument {where} contains control or bidirectional-formatting characters "
                    f"({', '.join(found)}); send plain text",
                )
            tool = self.server._tool_manager.get_tool(name) if allowed is not None else None
            if tool is not None:
                try:
                    tool.fn_metadata.validate_arguments(arguments)
                except ValidationError as exc:
                    return _error_result(name, f"invalid argument(s): {validation_sentence(exc)}")
        return await call_next(ctx)


class PromptArgumentErrors:
    """Server middleware: `prompts/get` with a missing or invalid argument is an invalid-params error."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        if ctx.method == "prompts/get":
            name = str(params.get("name", ""))[:64]
            prompt = self.server._prompt_manager.get_prompt(name)
            if prompt is None:
                raise MCPError(INVALID_PARAMS, f"unknown prompt {name!r}")
            arguments = params.get("arguments") or {}
            missing = sorted(a.name for a in prompt.arguments or [] if a.required and a.name not in arguments)
            if missing:
                raise MCPError(INVALID_PARAMS, f"prompt {name} needs the argument(s): {', '.join(missing)}")
            declared = {a.name for a in prompt.arguments or []}
            unknown = sorted(set(arguments) - declared)
            if unknown:
                shown = ", ".join(repr(u[:64]) for u in unknown[:10])
                raise MCPError(INVALID_PARAMS, f"prompt {name}: unknown argument(s) {shown}")
            try:
                _validate_prompt_arguments(prompt.fn, arguments)
            except ValidationError as exc:
                raise MCPError(
                    INVALID_PARAMS, f"prompt {name}: invalid argument(s): {validation_sentence(exc)}"
                ) from None
        return await call_next(ctx)


def _validate_prompt_arguments(fn: Any, arguments: dict[str, Any]) -> None:
    """Validate `arguments` against the prompt function's annotated parameters (raises ValidationError)."""
    parameters = inspect.signature(inspect.unwrap(fn), eval_str=True).parameters
    for name, value in arguments.items():
        try:
            TypeAdapter(parameters[name].annotation).validate_python(value)
        except ValidationError as exc:
            raise ValidationError.from_exception_data(
                "arguments",
                [{**e, "loc": (name, *e["loc"])} for e in exc.errors()],  # type: ignore[typeddict-item]
            ) from None
