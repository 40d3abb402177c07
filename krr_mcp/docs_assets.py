"""mkdocs hook (mkdocs.yml `hooks:`): the site ships the mermaid library, so its diagrams render where
no CDN can be reached (a local or air-gapped site). mkdocs-material loads `mermaid` from a CDN only when
the page has none; mkdocs.yml's `extra_javascript` loads ours first.

At build time the pinned package is fetched from the npm registry with `npm pack` (the tarball alone, no
dependencies: dist/mermaid.min.js is self-contained), checked against the pinned sha512, and its
mermaid.min.js cached outside the work tree ($KRR_MCP_CACHE or ~/.cache/krr-mcp/npm); never at
page-view time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from krr_mcp.cluster.binaries import cache_root

# mkdocs-material 9.x drives mermaid 11's API (it would load mermaid@11 from the CDN).
MERMAID_VERSION = "11.9.0"
MERMAID_INTEGRITY = (
    "sha512-YdPXn9slEwO0omQfQIsW6vS84weVQftIyyTGAZCwM//MGhPzL1+l6vO6bkf0wnP4tHigH1alZ5Ooy3HXI2gOag=="
)
MERMAID_SITE_PATH = "assets/javascripts/mermaid.min.js"  # also in mkdocs.yml extra_javascript


class AssetError(RuntimeError):
    """The asset cannot be had here; the message says why in one line."""


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def mermaid_js() -> Path:
    """The pinned mermaid.min.js, fetched and checked once, then served from the cache."""
    cached = cache_root() / "npm" / f"mermaid-{MERMAID_VERSION}" / "mermaid.min.js"
    if cached.is_file():
        return cached
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError("npm is not installed: the docs need it once to fetch mermaid (apt-get install npm)")
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [npm, "pack", f"mermaid@{MERMAID_VERSION}", "--json", "--pack-destination", folder],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            said = (done.stderr.strip() or f"exit {done.returncode}").splitlines()[-1]
            raise AssetError(f"npm pack mermaid@{MERMAID_VERSION} failed: {said}")
        tarball = Path(folder) / json.loads(done.stdout)[0]["filename"]
        if _integrity(tarball.read_bytes()) != MERMAID_INTEGRITY:
            raise AssetError(f"mermaid@{MERMAID_VERSION} from the registry is not the pinned tarball")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/dist/mermaid.min.js")
            if member is None:
                raise AssetError(f"mermaid@{MERMAID_VERSION} has no dist/mermaid.min.js")
            body = member.read()
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_bytes(body)
    partial.replace(cached)  # a cached file is always a whole one
    return cached


def on_files(files: Any, config: Any) -> Any:
    """Add the library to the site's files (copied to site/assets/javascripts/)."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, MERMAID_SITE_PATH, abs_src_path=str(mermaid_js())))
    return files
