"""Chunked lists as kube-apiserver serves them (`limit` and `continue`).

A continue token is kube-apiserver's own: base64url (no padding) of
`{"v": "meta.k8s.io/v1", "rv": <the first chunk's resourceVersion>, "start": "<key after the last item>"}`,
opaque to clients. Every chunk of one list is served from the state at that resourceVersion (a consistent
snapshot: objects created, changed or deleted after the first chunk show as they were then); the
store rebuilds that state from its event history, and a list whose history is gone answers 410 Expired,
as etcd's compaction does. Malformed tokens, a `resourceVersion` with `continue` and a `limit` that is not
an integer get kube-apiserver's 400 messages.
"""

from __future__ import annotations

import base64
import json
import posixpath
from dataclasses import dataclass
from typing import Any

from .operations import ApiError

TOKEN_VERSION = "meta.k8s.io/v1"
INVALID = "invalid continue token: continue key is not valid"
EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - "
    "objects that were created, modified, or deleted between the time the first chunk was returned and "
    "now may show up in the list."
)


def list_key(obj: dict[str, Any], all_namespaces: bool) -> str:
    """An object's key within its list, ordered as etcd orders keys (bytes): `/name`, or `/namespace/name`
    when the list spans the namespaces of a namespaced kind."""
    meta = obj.get("metadata") or {}
    return f"/{meta.get('namespace', '')}/{meta['name']}" if all_namespaces else f"/{meta['name']}"


def encode_continue(rv: int, last_key: str) -> str:
    raw = json.dumps({"v": TOKEN_VERSION, "rv": rv, "start": last_key + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """(resourceVersion, start key) of a token; ApiError 400 with kube-apiserver's words when malformed
    (its JSON parser's own words differ: the sandbox's are Python's)."""
    try:
        data = json.loads(_base64url(token))
    except ValueError as exc:
        raise ApiError(400, f"{INVALID}: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"{INVALID}: json: cannot unmarshal {type(data).__name__} into a continue token")
    version = data.get("v")
    if version != TOKEN_VERSION:
        raise ApiError(400, f"{INVALID}: server does not recognize this encoded version {version or ''}")
    rv, start = data.get("rv", 0), data.get("start", "")
    if not isinstance(rv, int) or isinstance(rv, bool) or not isinstance(start, str):
        raise ApiError(400, f"{INVALID}: json: cannot unmarshal the token's rv or start")
    if rv == 0:
        raise ApiError(400, f"{INVALID}: incorrect encoded start resourceVersion (version {TOKEN_VERSION})")
    if not start:
        raise ApiError(400, f"{INVALID}: encoded start key empty (version {TOKEN_VERSION})")
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key or key.startswith("//"):  # no way up and out of the list's prefix
        raise ApiError(400, f"{INVALID}: {start}")
    return rv, key


def _base64url(token: str) -> bytes:
    """Go's base64.RawURLEncoding: the URL alphabet, no padding; its error names the first bad byte."""
    for at, char in enumerate(token):
        if char not in _URL_ALPHABET:
            raise ApiError(400, f"{INVALID}: illegal base64 data at input byte {at}")
    if len(token) % 4 == 1:
        raise ApiError(400, f"{INVALID}: illegal base64 data at input byte {len(token) - 1}")
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


_URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def parse_limit(text: str | None) -> int:
    """`limit` as kube-apiserver reads it: absent, zero or negative means no limit; not an integer is 400."""
    if not text:
        return 0
    try:
        return max(0, int(text, 10))
    except ValueError:
        raise ApiError(400, f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


@dataclass(frozen=True)
class Chunk:
    """One chunk of a list: its items, the list's resourceVersion, the next chunk's token ("" at the end)
    and how many items follow (None where kube-apiserver does not say: a selector was given)."""

    items: list[dict[str, Any]]
    rv: int
    token: str
    remaining: int | None


def chunk(
    items: list[dict[str, Any]], rv: int, start: str, limit: int, all_namespaces: bool, selected: bool
) -> Chunk:
    """The chunk of `items` (the list as of `rv`, in key order) from key `start` on, at most `limit`
    (0: all). `selected`: a label or field selector narrowed `items` (no remainingItemCount then)."""
    if start:
        items = [o for o in items if list_key(o, all_namespaces) >= start]
    if not limit or len(items) <= limit:
        return Chunk(items, rv, "", None)
    page = items[:limit]
    remaining = None if selected else len(items) - limit
    return Chunk(page, rv, encode_continue(rv, list_key(page[-1], all_namespaces)), remaining)
