"""The krew plugin `kubectl krr`: its archive and its manifest (plugins/krr.yaml), both made from
pyproject.toml's version, so they cannot drift from the package.

The archive holds one POSIX shell launcher, `kubectl-krr`, that runs the krr-mcp package's own
`kubectl-krr` with uv's `uvx` (the Python package is the plugin; krew only puts it on PATH), and the
project's LICENSE (krew's index asks every plugin to ship its license). It is
byte-for-byte reproducible (fixed times, owners and modes), so the manifest's sha256 is a fact of the
tree. Release: `./uvw run python plugins/release.py --out dist`, upload dist/kubectl-krr-vX.tar.gz to
the URI in the manifest. `--check` writes nothing and exits 1 when plugins/krr.yaml is stale.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
import tarfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "plugins" / "krr.yaml"
# Where releases are published; the project's public repository once it has one.
RELEASES = "https://github.com/krr-mcp/krr-mcp/releases/download"
LAUNCHER = """#!/bin/sh
# kubectl krr, installed by krew: runs the krr-mcp package's kubectl-krr with uv's uvx, which installs
# the package in a cached environment the first time. KRR_MCP_PACKAGE overrides what uvx runs (another
# version, or a wheel file).
set -eu
if ! command -v uvx >/dev/null 2>&1; then
  echo "kubectl krr needs uvx (https://docs.astral.sh/uv/getting-started/installation/)" >&2
  exit 1
fi
exec uvx --from "${{KRR_MCP_PACKAGE:-krr-mcp=={version}}}" kubectl-krr "$@"
"""
MANIFEST_TEMPLATE = """# Made by plugins/release.py from pyproject.toml's version; a test fails when stale.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: krr
spec:
  version: {tag}
  homepage: {homepage}
  shortDescription: Review, approve, reject and roll back krr-mcp resource recommendations
  description: |
    The human side of krr-mcp: an AI assistant proposes right-sized requests and limits as
    ResourceRecommendation objects; you review them (kubectl krr list, show, diff), approve or
    reject them with your own identity, roll an applied one back, and read the audit trail.
  caveats: |
    kubectl krr runs the krr-mcp Python package with uv's uvx, which must be on PATH:
    https://docs.astral.sh/uv/getting-started/installation/
    The first run downloads the package; `kubectl krr version` prints {tag}.
  platforms:
  - selector:
      matchExpressions:
      - key: os
        operator: In
        values: [linux, darwin]
    uri: {uri}
    sha256: {sha256}
    bin: kubectl-krr
    files:
    - from: kubectl-krr
      to: .
    - from: LICENSE
      to: .
"""


def package_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def archive_name(version: str) -> str:
    return f"kubectl-krr-v{version}.tar.gz"


def archive(version: str) -> bytes:
    """The plugin's .tar.gz: the launcher and the LICENSE, reproducible byte for byte."""
    members = [
        ("kubectl-krr", LAUNCHER.format(version=version).encode(), 0o755),
        ("LICENSE", (ROOT / "LICENSE").read_bytes(), 0o644),
    ]
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, body, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(body), mode, 0
            tar.addfile(info, io.BytesIO(body))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return out.getvalue()


def manifest(version: str, archive_bytes: bytes) -> str:
    tag = f"v{version}"
    return MANIFEST_TEMPLATE.format(
        tag=tag,
        homepage=RELEASES.removesuffix("/releases/download"),
        uri=f"{RELEASES}/{tag}/{archive_name(version)}",
        sha256=hashlib.sha256(archive_bytes).hexdigest(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="Also write the archive into this folder.")
    parser.add_argument("--check", action="store_true", help="Write nothing; exit 1 if krr.yaml is stale.")
    args = parser.parse_args(argv)
    version = package_version()
    data = archive(version)
    text = manifest(version, data)
    if args.check:
        if not MANIFEST.is_file() or MANIFEST.read_text() != text:
            print(f"{MANIFEST} is stale: run `./uvw run python plugins/release.py`", file=sys.stderr)
            return 1
        return 0
    MANIFEST.write_text(text)
    print(f"wrote {MANIFEST}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / archive_name(version)).write_bytes(data)
        print(f"wrote {args.out / archive_name(version)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
