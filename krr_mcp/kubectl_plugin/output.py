"""Rendering: a coloured table on a terminal, plain columns in a pipe, or JSON/YAML for scripts.

Every string shown on a terminal or in plain columns goes through `printable` (control and bidi
characters become visible escapes: an RR's text cannot rewrite the lines around it); JSON and YAML
escape them by themselves."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

import yaml
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from krr_mcp.api.text import printable

PHASE_STYLES = {
    "Proposed": "yellow",
    "Approved": "cyan",
    "Applying": "cyan",
    "Applied": "green",
    "Failed": "bold red",
    "Stale": "magenta",
    "Expired": "dim",
    "Rejected": "dim",
    "RollingBack": "cyan",
    "RolledBack": "blue",
    "Superseded": "dim",
}
RISK_STYLES = {"low": "green", "medium": "yellow", "high": "red", "critical": "bold red"}


class Format(StrEnum):
    TABLE = "table"
    PLAIN = "plain"
    JSON = "json"
    YAML = "yaml"


def default_format(requested: Format | None) -> Format:
    """Table on a terminal, plain columns otherwise (pipes, files, scripts)."""
    if requested is not None:
        return requested
    return Format.TABLE if sys.stdout.isatty() else Format.PLAIN


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def error_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def safe_text(value: str, style: str = "") -> Text:
    """Text for rich, with control/bidi characters escaped (rich only strips a few of them)."""
    return Text(printable(value), style=style)


def styled(column: str, value: str) -> Text:
    value = printable(value)
    if column == "phase":
        return Text(value, style=PHASE_STYLES.get(value, ""))
    if column == "risk":
        return Text(value, style=RISK_STYLES.get(value, ""))
    if column.endswith("_change") and value.startswith("+"):
        return Text(value, style="yellow")
    if column.endswith("_change") and value.startswith("-"):
        return Text(value, style="green")
    return Text(value)


def _header(column: str) -> str:
    return (
        column.replace("_", " ")
        .upper()
        .replace("CPU CHANGE", "CPU %")
        .replace("MEMORY CHANGE", "MEM %")
        .replace("SAVES", "SAVES/MONTH")
    )


def dump(data: Any, fmt: Format) -> str:
    if fmt is Format.JSON:
        return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def plain_table(headers: list[str], rows: list[list[str]], indent: str = "") -> str:
    """kubectl-style columns: left-aligned, three spaces apart, nothing cut or wrapped."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "".join(
        indent + "   ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


def print_rows(rows: list[dict[str, str]], columns: list[str], fmt: Format, empty: str) -> None:
    """Rows as a rich table, kubectl-like plain columns, or JSON/YAML (a list of objects)."""
    if fmt in (Format.JSON, Format.YAML):
        sys.stdout.write(dump(rows, fmt))
        return
    if not rows:
        error_console().print(empty)
        return
    if fmt is Format.PLAIN:
        sys.stdout.write(plain_table([_header(c) for c in columns], [[r[c] for c in columns] for r in rows]))
        return
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(_header(column), no_wrap=column != "detail")
    for row in rows:
        table.add_row(*(styled(c, row[c]) for c in columns))
    console().print(table)
