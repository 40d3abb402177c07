"""The kubectl plugin `kubectl krr` (executable `kubectl-krr`): the human side of the approval loop."""

from .cli import app, main

__all__ = ["app", "main"]
