"""Exit codes of `kubectl krr` (scripts rely on them) and the error that carries one."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented in docs/approval-workflow.md; never renumber."""

    OK = 0
    ERROR = 1  # the API server or the kubeconfig failed, or anything unexpected
    USAGE = 2  # bad arguments or options
    REFUSED = 3  # the RR is not in a state that allows the action, or it changed since it was read
    NOT_FOUND = 4  # the RR (or its target workload) does not exist


class PluginError(Exception):
    """A failure the user should read, with the exit code it maps to."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Refused(PluginError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.REFUSED)


class NotFound(PluginError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.NOT_FOUND)


class UsageError(PluginError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)
