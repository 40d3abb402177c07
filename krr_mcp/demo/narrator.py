"""What the demo prints: numbered step headings, the commands a human would type, tables, spinners.

Rich renders colour and spinners on a terminal and plain text in a pipe, so the same calls serve
both a new user and the end-to-end test that reads the output.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


class StepFailed(Exception):
    """A demo step failed; the message says what did not happen."""


class Narrator:
    """Prints the walk-through and times each step; a failing step stops the demo with its reason."""

    def __init__(self, console: Console, total_steps: int) -> None:
        self.console = console
        self.total = total_steps
        self.number = 0
        self.failed_step: str | None = None

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.number += 1
        self.console.print()
        self.console.rule(f"[bold]Step {self.number}/{self.total}: {escape(title)}", align="left")
        started = time.monotonic()
        try:
            yield
        except StepFailed as exc:
            self.failed_step = title
            self.console.print(f"[bold red]FAILED[/] {escape(title)}: {escape(str(exc))}")
            raise
        except Exception as exc:
            self.failed_step = title
            self.console.print(
                f"[bold red]FAILED[/] {escape(title)}: {type(exc).__name__}: {escape(str(exc))}"
            )
            raise StepFailed(f"{type(exc).__name__}: {exc}") from exc
        self.console.print(f"[green]ok[/] {escape(title)} [dim]({time.monotonic() - started:.1f}s)[/]")

    def say(self, text: str) -> None:
        self.console.print(text, soft_wrap=True)

    def note(self, text: str) -> None:
        self.console.print(f"[dim]{escape(text)}[/]", soft_wrap=True)

    def command(self, argv: list[str]) -> None:
        """Show a command the way a human would type it."""
        self.console.print(f"[bold cyan]$[/] {escape(shlex.join(argv))}", soft_wrap=True)

    def output(self, text: str) -> None:
        for line in text.rstrip("\n").splitlines():
            self.console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)

    def table(self, title: str, columns: list[str], rows: list[list[str]]) -> None:
        table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*[escape(str(cell)) for cell in row])
        self.console.print(table)

    def waiting(self, text: str) -> AbstractContextManager[Any]:
        """A spinner on a terminal; a plain line otherwise."""
        if self.console.is_terminal:
            return self.console.status(text)
        self.console.print(f"[dim]{escape(text)}[/]")
        return nullcontext()
