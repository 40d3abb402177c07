"""Bearer-token protection of the streamable HTTP transport.

Every HTTP request must carry `Authorization: Bearer <MCP_SERVER_TOKEN>`; the token is compared in
constant time. Anything else gets 401 before it reaches the MCP server.
"""

from __future__ import annotations

import hmac
import ipaddress
import json

from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_ENV = "MCP_SERVER_TOKEN"


class InsecureServerRefused(RuntimeError):
    """The HTTP transport would start without authentication where that is not allowed."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_http_auth_config(token: str | None, host: str, insecure_localhost_no_auth: bool) -> None:
    """Refuse to serve HTTP without a token, unless explicitly allowed and bound to loopback only."""
    if token:
        if len(token) < 16:
            raise InsecureServerRefused(f"{TOKEN_ENV} is too short: use at least 16 characters")
        return
    if not insecure_localhost_no_auth:
        raise InsecureServerRefused(
            f"the HTTP transport needs a bearer token: set {TOKEN_ENV}, or pass "
            "--insecure-localhost-no-auth to serve without one on a loopback address"
        )
    if not is_loopback(host):
        raise InsecureServerRefused(
            f"--insecure-localhost-no-auth only binds a loopback address, not {host}; set {TOKEN_ENV}"
        )


class BearerTokenMiddleware:
    """ASGI middleware: 401 unless the request's bearer token equals `token` (constant-time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    def _authorized(self, scope: Scope) -> bool:
        for key, value in scope.get("headers") or []:
            if key.lower() == b"authorization":
                scheme, _, presented = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    return False
                return hmac.compare_digest(presented.strip(), self._token)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "invalid_token", "error_description": "a valid bearer token is required"})
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer error="invalid_token"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
