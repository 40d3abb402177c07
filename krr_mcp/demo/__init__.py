"""`krr-mcp demo`: the whole approval loop on a fresh machine (or your cluster), step by step."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from contextlib import ExitStack

from rich.console import Console

from .narrator import Narrator, StepFailed
from .options import DemoOptions
from .walkthrough import STEP_COUNT, Walkthrough


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the walk-through; 0 when every step succeeded, 1 when one failed (it is named), 130 when
    interrupted (SIGINT, or SIGTERM in the main thread): whatever it started is stopped first."""
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    narrator = Narrator(console, STEP_COUNT)
    started = time.monotonic()
    with ExitStack() as stack:
        if threading.current_thread() is threading.main_thread():
            # SIGTERM unwinds like Ctrl+C, so the stack stops the cluster's processes and removes its data.
            previous = signal.signal(signal.SIGTERM, _interrupt)
            stack.callback(signal.signal, signal.SIGTERM, previous)
        walk = Walkthrough(narrator, options, stack)
        try:
            asyncio.run(walk.run())
        except StepFailed:
            console.print(
                f"\n[bold red]The demo stopped at step {narrator.number}/{narrator.total}: "
                f"{narrator.failed_step}[/]"
            )
            return 1
        except KeyboardInterrupt:
            console.print("\n[yellow]Interrupted.[/]")
            return 130
        walk.farewell()
        console.print(f"[dim]The demo took {time.monotonic() - started:.1f}s.[/]")
        if options.keep_running and walk.state.kubeconfig:
            walk.keep_running_message()
            _wait_for_interrupt()
    return 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


__all__ = ["DemoOptions", "run_demo"]
