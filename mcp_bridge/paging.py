"""Pages of long tool results: a cursor per page; the totals and per-namespace sums come with every page.

- A scan's result is kept (a few scans, for a while) under a scan id, so the next page is the same scan
  as the first one, not a new scan whose numbers moved.
- An RR list is read again per page; its cursor names the last RR shown (newest first, then namespace and
  name), so RRs created between two pages do not shift the next one.
Cursors are opaque to the assistant (base64url JSON) and bound to the arguments of the call that made
them: a cursor with other filters is refused rather than silently mixing two result sets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from krr_mcp.recommenders import ScanResult

DEFAULT_PAGE = 50
MAX_PAGE = 5000
SCANS_KEPT = 4  # a 10,000-container scan's result is tens of MB: keep few
SCAN_TTL_SECONDS = 900.0


class CursorError(ValueError):
    """A cursor that is not ours, expired, or belongs to a call with other arguments."""


def fingerprint(arguments: dict[str, Any]) -> str:
    """A short digest of the arguments that select a result set (not the page size or the cursor)."""
    text = json.dumps(arguments, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arguments: str) -> dict[str, Any]:
    """The cursor's content; CursorError unless it is ours and made for the same `arguments`."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise CursorError("this cursor is not one this server gave out") from None
    if not isinstance(data, dict) or not isinstance(data.get("f"), str):
        raise CursorError("this cursor is not one this server gave out")
    if data["f"] != arguments:
        raise CursorError("this cursor belongs to a call with other arguments: repeat that call's arguments")
    return data


class ScanPages:
    """The last few scans' filtered results, by scan id, for their next pages (bounded, expiring)."""

    def __init__(
        self,
        capacity: int = SCANS_KEPT,
        ttl: float = SCAN_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity, self.ttl, self.clock = capacity, ttl, clock
        self._scans: OrderedDict[str, tuple[float, ScanResult]] = OrderedDict()

    def keep(self, result: ScanResult) -> str:
        """Keep `result`; its scan id (the oldest kept scan is dropped past `capacity`)."""
        scan_id = secrets.token_hex(8)
        self._scans[scan_id] = (self.clock(), result)
        while len(self._scans) > self.capacity:
            self._scans.popitem(last=False)
        return scan_id

    def get(self, scan_id: Any) -> ScanResult:
        found = self._scans.get(scan_id) if isinstance(scan_id, str) else None
        if found is None or self.clock() - found[0] > self.ttl:
            self._scans.pop(scan_id, None) if isinstance(scan_id, str) else None
            raise CursorError(
                "this scan's results are no longer kept (a few scans, for "
                f"{self.ttl / 60:g} minutes): scan again without a cursor"
            )
        return found[1]


def offset_of(data: dict[str, Any]) -> int:
    offset = data.get("o")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise CursorError("this cursor is not one this server gave out")
    return offset
