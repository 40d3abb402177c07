"""Pages of long tool results: a cursor per page; the totals and per-namespace sums come with every page.

- A scan's result is kept (a few scans, for a while) under a scan id, so the next page is the same scan
  as the first one, not a new scan whose numbers moved.
- An RR listing is read once (in chunks, each summarized as it arrives) and kept for LISTING_TTL_SECONDS:
  the next pages within that time are served from the same read, as a Kubernetes paged list serves one
  snapshot, and every page says when it was read (`as_of`, `resource_version`). Later, the next page is
  read afresh (and says so); its cursor names the last RR shown (newest first, then namespace and name),
  so RRs created between two pages do not shift the next one.
Cursors are opaque to the assistant (base64url JSON) and bound to the arguments of the call that made
them: a cursor with other filters is refused rather than silently mixing two result sets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from krr_mcp.recommenders import ScanResult

DEFAULT_PAGE = 50
MAX_PAGE = 5000
SCANS_KEPT = 4  # a 10,000-container scan's result is tens of MB: keep few
SCAN_TTL_SECONDS = 900.0
LISTINGS_KEPT = 4  # a 10,000-RR listing's summaries are a few MB
LISTING_TTL_SECONDS = 60.0  # how stale a next page may be (the answer says as of when)


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


class KeptResults[T]:
    """The last few results of a kind (`what`: "scan", "listing"), by id, for their next pages (bounded,
    expiring: a result older than `ttl` seconds is never served)."""

    def __init__(
        self,
        what: str,
        capacity: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.capacity, self.ttl, self.clock = what, capacity, ttl, clock
        self._kept: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()  # listings are kept and read from the tools' worker threads

    def keep(self, result: T) -> str:
        """Keep `result`; its id (the oldest kept result is dropped past `capacity`)."""
        kept_id = secrets.token_hex(8)
        with self._lock:
            self._kept[kept_id] = (self.clock(), result)
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return kept_id

    def get(self, kept_id: Any) -> T:
        """The result kept under `kept_id`; CursorError when it is unknown, dropped or expired."""
        with self._lock:
            found = self._kept.get(kept_id) if isinstance(kept_id, str) else None
            if found is not None and self.clock() - found[0] > self.ttl:
                del self._kept[kept_id]
                found = None
        if found is None:
            raise CursorError(
                f"this {self.what}'s results are no longer kept (a few, for {self.ttl / 60:g} minutes)"
            )
        return found[1]


class ScanPages(KeptResults[ScanResult]):
    """The last few scans' filtered results, by scan id, for their next pages."""

    def __init__(
        self,
        capacity: int = SCANS_KEPT,
        ttl: float = SCAN_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__("scan", capacity, ttl, clock)

    def get(self, kept_id: Any) -> ScanResult:
        try:
            return super().get(kept_id)
        except CursorError as exc:
            raise CursorError(f"{exc}: scan again without a cursor") from None


def offset_of(data: dict[str, Any]) -> int:
    offset = data.get("o")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise CursorError("this cursor is not one this server gave out")
    return offset
