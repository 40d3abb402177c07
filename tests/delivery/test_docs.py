"""docs/: `mkdocs build --strict` passes (with and without the pages other components write), the
generated references cover the API they are generated from, and the diagrams render offline."""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from krr_mcp import docs_assets, docs_gen
from krr_mcp.api.resource_recommendation import Phase

from .browser import attributes, browser, open_page, text_of, walk
from .manifests import ROOT

OWN_PAGES = ("index.md", "quickstart.md", "architecture.md", "operations.md")


def _start_build(config: pathlib.Path, site: pathlib.Path) -> subprocess.Popen[str]:
    mkdocs = pathlib.Path(sys.executable).parent / "mkdocs"
    return subprocess.Popen(
        [str(mkdocs), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=config.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def _own_pages_only(folder: pathlib.Path) -> pathlib.Path:
    """A copy of the site's config and this component's pages alone (as before others write theirs)."""
    docs = folder / "docs"
    docs.mkdir()
    for page in OWN_PAGES:
        shutil.copy(ROOT / "docs" / page, docs / page)
    config = (ROOT / "mkdocs.yml").read_text()
    config = config.replace("  - krr_mcp/", f"  - {ROOT / 'krr_mcp'}/")  # the hooks
    (folder / "mkdocs.yml").write_text(config)
    return folder / "mkdocs.yml"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    """Both builds, run at the same time: the real docs/, and this component's pages alone."""
    full = tmp_path_factory.mktemp("site")
    minimal = tmp_path_factory.mktemp("minimal")
    builds = {
        "full": (full, _start_build(ROOT / "mkdocs.yml", full)),
        "minimal": (minimal / "site", _start_build(_own_pages_only(minimal), minimal / "site")),
    }
    for name, (_, process) in builds.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"mkdocs build --strict ({name}) failed:\n{stderr}"
    return {name: out for name, (out, _) in builds.items()}


@pytest.fixture(scope="module")
def site(sites: dict[str, pathlib.Path]) -> pathlib.Path:
    return sites["full"]


def test_site_has_every_page(site: pathlib.Path) -> None:
    for page in (*OWN_PAGES, docs_gen.CRD_REFERENCE, docs_gen.TOOLS_REFERENCE):
        html = site / ("index.html" if page == "index.md" else f"{page.removesuffix('.md')}/index.html")
        assert html.exists(), page


def test_architecture_has_the_data_flow_and_the_code_layout_diagrams(site: pathlib.Path) -> None:
    source = (ROOT / "docs" / "architecture.md").read_text()
    assert source.count("```mermaid") == 2
    html = (site / "architecture" / "index.html").read_text()
    assert html.count('class="mermaid"') == 2
    flow, layout = (part.split("```")[0] for part in source.split("```mermaid")[1:])
    for step in ("evidence", "proposal", "approval", "change", "history"):
        assert step in flow
    for package in (
        "krr_mcp/api",
        "krr_mcp/core",
        "krr_mcp/kube",
        "operator/",
        "mcp_bridge/",
        "krr_mcp/sandbox",
    ):
        assert package in layout


def test_crd_reference_documents_every_field_and_rule(site: pathlib.Path) -> None:
    from krr_mcp.api import CRD_MODELS
    from krr_mcp.api.resource_recommendation import (
        _SPEC_RULES,
        _SPEC_STATE_RULES,
        ResourceRecommendationSpec,
    )

    page = docs_gen.crd_reference_markdown()
    for info in CRD_MODELS:
        assert f"## {info.kind}\n" in page
    for name in ResourceRecommendationSpec.model_fields:
        assert f"`spec.{name}`" in page, name
    for rule in _SPEC_RULES + _SPEC_STATE_RULES:
        assert rule["message"] in page
    html = (site / "crd-reference" / "index.html").read_text()
    assert "spec.containers[].proposed.requests.cpu" in html
    assert "compareTo" in html, "CEL rules are rendered literally"


def test_tools_reference_comes_from_the_bridge(site: pathlib.Path) -> None:
    html = (site / "mcp-tools" / "index.html").read_text()
    try:
        from mcp_bridge.docs import tools_reference_markdown
    except ImportError:
        assert "Not available in this build" in html
        return
    markdown = tools_reference_markdown()
    assert docs_gen.tools_reference_page() == markdown
    assert "propose_change" in markdown and "propose_change" in html


def test_site_builds_without_the_pages_other_components_write(sites: dict[str, pathlib.Path]) -> None:
    """Only this component's pages: nav entries and links to the absent ones must not break --strict."""
    index = (sites["minimal"] / "index.html").read_text()
    assert "approval workflow (page not published yet)" in index
    assert not (sites["minimal"] / "approval-workflow").exists()


def test_nav_drops_absent_pages_and_keeps_the_rest() -> None:
    nav = [
        {"Home": "index.md"},
        {"Humans": [{"Approval": "approval-workflow.md"}, {"Plugin": "kubectl-plugin.md"}]},
        {"Gone": [{"Only": "sandbox.md"}]},
        {"Elsewhere": "https://example.org/"},
    ]
    present = {"index.md", "kubectl-plugin.md"}
    kept = docs_gen.filter_nav(nav, present.__contains__)
    assert kept == [
        {"Home": "index.md"},
        {"Humans": [{"Plugin": "kubectl-plugin.md"}]},
        {"Elsewhere": "https://example.org/"},
    ]
    assert docs_gen.nav_pages(kept) == {"index.md", "kubectl-plugin.md", "https://example.org/"}


def test_only_links_to_absent_optional_pages_are_unlinked() -> None:
    markdown = (
        "See [the workflow](approval-workflow.md#approve), [ops](operations.md) and [typo](operatons.md)."
    )
    result = docs_gen.unlink_absent(markdown, lambda path: path == "operations.md")
    assert result == (
        "See the workflow (page not published yet), [ops](operations.md) and [typo](operatons.md)."
    ), "a broken link to a page nobody promised stays, so --strict still reports it"


@pytest.fixture(scope="module")
def served(site: pathlib.Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1, as `mkdocs serve` or any static server would serve it."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_every_diagram_renders_as_svg_in_chromium_without_a_cdn(site: pathlib.Path, served: str) -> None:
    """Each page with a mermaid block, loaded in headless Chromium that can reach only 127.0.0.1: every
    block became an SVG diagram, drawn by the mermaid shipped with the site."""
    pages = sorted(
        str(p.relative_to(site)) for p in site.rglob("*.html") if 'class="mermaid"' in p.read_text()
    )
    assert {"architecture/index.html", "approval-workflow/index.html"} <= set(pages)
    with browser() as socket:
        for path in pages:
            blocks = (site / path).read_text().count('class="mermaid"')
            page = open_page(socket, f"{served}/{path}")
            deadline = time.monotonic() + 60
            diagrams: list[dict[str, Any]] = []
            while len(diagrams) < blocks and time.monotonic() < deadline:
                time.sleep(0.3)
                diagrams = [
                    node
                    for node in walk(page.document())
                    if node.get("localName") == "svg" and "aria-roledescription" in attributes(node)
                ]
            assert len(diagrams) == blocks, f"{path}: {len(diagrams)} of {blocks} diagrams drawn"
            assert f"{served}/{docs_assets.MERMAID_SITE_PATH}" in page.requested
            elsewhere = [u for u in page.requested if not u.startswith((served, "data:", "about:"))]
            assert elsewhere == [], f"{path} asked for {elsewhere}"
            if path == "approval-workflow/index.html":
                (lifecycle,) = diagrams
                assert attributes(lifecycle)["aria-roledescription"] == "stateDiagram"
                drawn = text_of(lifecycle)
                assert all(phase.value in drawn for phase in Phase), drawn
