"""docs/: `mkdocs build --strict` passes (with and without the pages other components write), and the
generated references cover the API they are generated from."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from krr_mcp import docs_gen

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
    config = config.replace("  - krr_mcp/docs_gen.py", f"  - {ROOT / 'krr_mcp' / 'docs_gen.py'}")
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


def test_architecture_has_exactly_one_diagram(site: pathlib.Path) -> None:
    source = (ROOT / "docs" / "architecture.md").read_text()
    assert source.count("```mermaid") == 1
    html = (site / "architecture" / "index.html").read_text()
    assert html.count('class="mermaid"') == 1
    for step in ("evidence", "proposal", "approval", "change", "history"):
        assert step in source.split("```mermaid")[1].split("```")[0]


def test_crd_reference_documents_every_field_and_rule(site: pathlib.Path) -> None:
    from krr_operator.api import CRD_MODELS
    from krr_operator.api.resource_recommendation import (
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
        from krr_mcp_bridge.docs import tools_reference_markdown
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
