"""What every bridge tool shares: the result shape (structured content plus a short text), the
conversion of anticipated failures into clear tool errors, and the kubectl commands handed to humans."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from krr_mcp.api.quantities import QuantityError
from krr_mcp.kube.client import InvalidRequest
from krr_mcp.recommenders import ScanResult

from ..bridge import Bridge
from ..cluster import ClusterError
from ..paging import CursorError

logger = logging.getLogger("krr_mcp_bridge")

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
READ_ONLY_OPEN_WORLD = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
CREATES_PROPOSALS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)


def tool_result(output: BaseModel, text: str) -> CallToolResult:
    """A successful result: `output` as structured content (validated against the tool's output
    schema by the SDK) and `text` as the human-readable rendering."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=output.model_dump(mode="json", by_alias=True),
    )


def validation_sentence(exc: ValidationError) -> str:
    """Pydantic's errors in one line naming each field (no input dump, no documentation link)."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "value"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(parts) + more


@contextmanager
def tool_errors(action: str) -> Iterator[None]:
    """Turn the failures a tool anticipates into a ToolError with one clear sentence (no traceback)."""
    try:
        yield
    except ToolError:
        raise
    except ClusterError as exc:
        raise ToolError(f"{action} failed: {exc}") from None
    except InvalidRequest as exc:  # a path the client refused to build from an invalid name
        raise ToolError(f"{action} refused: {exc}") from None
    except QuantityError as exc:
        raise ToolError(f"{action} failed: {exc}") from None
    except ValidationError as exc:
        raise ToolError(f"{action} failed: invalid values: {validation_sentence(exc)}") from None
    except Exception as exc:  # a bug, not the caller's mistake: traceback to the server log only
        logger.exception("%s failed unexpectedly", action)
        raise ToolError(
            f"{action} failed unexpectedly ({type(exc).__name__}); the server log has details"
        ) from None


async def in_thread[T](fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking (Kubernetes client) call off the event loop."""
    return await anyio.to_thread.run_sync(fn, *args)


class ReviewCommands(BaseModel):
    """The commands a human runs to look at, approve or reject one recommendation."""

    describe: str
    view_yaml: str
    approve: str = Field(
        description="Approve with kubectl patch; replace <you> with your user name and <resourceVersion> "
        "with the metadata.resourceVersion of the YAML you reviewed (the API server then refuses the "
        "approval if the recommendation changed since)."
    )
    approve_with_plugin: str = Field(
        description="Approve with the kubectl-krr plugin: it shows the change, records who you are and "
        "pins the version it showed."
    )
    reject: str


def review_commands(namespace: str, name: str) -> ReviewCommands:
    ns, rr = shlex.quote(namespace), shlex.quote(name)
    approve_patch = (
        '{"metadata":{"resourceVersion":"<resourceVersion>"},"spec":{"approved":true,"approvedBy":"<you>"}}'
    )
    return ReviewCommands(
        describe=f"kubectl describe rr {rr} -n {ns}",
        view_yaml=f"kubectl get rr {rr} -n {ns} -o yaml",
        approve=f"kubectl patch rr {rr} -n {ns} --type merge -p '{approve_patch}'",
        approve_with_plugin=f"kubectl krr approve {rr} -n {ns}",
        reject=f'kubectl patch rr {rr} -n {ns} --type merge -p \'{{"spec":{{"rejected":true}}}}\'',
    )


def kept_scan(bridge: Bridge, scan_id: str | None, tool: str) -> ScanResult | None:
    """The scan the bridge kept as `scan_id` (None without one); a ToolError when it is not kept."""
    if scan_id is None:
        return None
    try:
        return bridge.scan_pages.get(scan_id)
    except CursorError:
        raise ToolError(
            f"{tool} refused: scan {scan_id} is not kept (any more): run scan_recommendations again and "
            "give the scan_id it returns. Nothing was created."
        ) from None
