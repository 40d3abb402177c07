"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for pages as a person sees
them: what the scripts made of the DOM, including closed shadow roots (mkdocs-material draws each
mermaid diagram inside one, which `chromium --dump-dom` does not show), and every URL the page asked for.

Every host name but 127.0.0.1 resolves to nothing, so a page can reach no address off this machine.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import websocket

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")


def chromium() -> str:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    why = "Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


class Page:
    """One tab over the DevTools protocol (flattened session on the browser's websocket)."""

    def __init__(self, socket: websocket.WebSocket, session: str) -> None:
        self.socket, self.session = socket, session
        self.ids = itertools.count(1000)
        self.requested: list[str] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.socket.send(
            json.dumps({"id": ident, "method": method, "params": params, "sessionId": self.session})
        )
        while True:
            message = json.loads(self.socket.recv())
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def document(self) -> dict[str, Any]:
        """The whole DOM, shadow roots (closed ones too) and frames included."""
        return self.send("DOM.getDocument", depth=-1, pierce=True)["root"]


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for key in ("children", "shadowRoots"):
        for child in node.get(key, []):
            yield from walk(child)
    if "contentDocument" in node:
        yield from walk(node["contentDocument"])


def text_of(node: dict[str, Any]) -> str:
    return " ".join(n["nodeValue"] for n in walk(node) if n.get("nodeType") == 3)


def attributes(node: dict[str, Any]) -> dict[str, str]:
    flat = node.get("attributes", [])
    return dict(zip(flat[::2], flat[1::2], strict=True))


@contextmanager
def browser() -> Iterator[websocket.WebSocket]:
    """A headless Chromium; yields its DevTools websocket."""
    # Chromium's helper processes may still write to the profile as the browser exits.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [
                chromium(),
                "--headless",
                "--no-sandbox",  # root in a container
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            deadline = time.monotonic() + 60
            url = None
            while url is None and time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line and proc.poll() is not None:
                    break
                found = re.search(r"DevTools listening on (ws://\S+)", line)
                url = found.group(1) if found else None
            assert url, f"chromium did not start (exit {proc.poll()})"
            socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
            try:
                yield socket
            finally:
                socket.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def open_page(socket: websocket.WebSocket, url: str) -> Page:
    """A new tab on `url`, recording every request it makes."""
    socket.send(json.dumps({"id": 1, "method": "Target.createTarget", "params": {"url": "about:blank"}}))
    target = _reply(socket, 1)["targetId"]
    socket.send(
        json.dumps(
            {"id": 2, "method": "Target.attachToTarget", "params": {"targetId": target, "flatten": True}}
        )
    )
    page = Page(socket, _reply(socket, 2)["sessionId"])
    page.send("Network.enable")
    page.send("Page.enable")
    page.send("Page.navigate", url=url)
    return page


def _reply(socket: websocket.WebSocket, ident: int) -> dict[str, Any]:
    while True:
        message = json.loads(socket.recv())
        if message.get("id") == ident:
            return dict(message["result"])
