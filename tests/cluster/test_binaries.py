"""`krr-mcp cluster build`'s contract, on a tiny Go module of the same shape as hack/controlplane/ (a
folder per module, `tool` lines naming what to build): it builds into a cache keyed by the pins, builds
nothing when cached, and fails with one clear line when Go or the module proxy is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from krr_mcp.cluster import binaries

GO = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
needs_go = pytest.mark.skipif(GO is None, reason="Go is not installed")


def hello_modules(root: Path, message: str = "hello") -> Path:
    """root/hello/: a module whose `tool` line names its own main package."""
    module = root / "hello"
    (module / "cmd" / "hello").mkdir(parents=True)
    (module / "go.mod").write_text(
        "module example.test/hello\n\ngo 1.26.0\n\ntool example.test/hello/cmd/hello\n"
    )
    (module / "cmd" / "hello" / "main.go").write_text(
        f'package main\n\nimport "fmt"\n\nfunc main() {{ fmt.Println("{message}") }}\n'
    )
    return root


@needs_go
def test_builds_into_a_cache_keyed_by_the_pins_and_skips_what_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRR_MCP_CACHE", str(tmp_path / "cache"))
    root = hello_modules(tmp_path / "modules")
    said: list[str] = []
    folder = binaries.build(root, said.append, required=("hello",))
    assert folder.is_relative_to(tmp_path / "cache")
    assert (
        subprocess.run([str(folder / "hello")], capture_output=True, text=True, check=True).stdout
        == "hello\n"
    )
    assert any(line.startswith("built hello (example.test/hello") for line in said), said

    said.clear()
    assert binaries.build(root, said.append, required=("hello",)) == folder
    assert said == [f"control plane binaries: cached in {folder}"]

    (root / "hello" / "go.mod").write_text((root / "hello" / "go.mod").read_text() + "\n// a new pin\n")
    assert binaries.build(root, said.append, required=("hello",)) != folder, "a changed pin builds anew"


def test_without_go_it_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binaries.shutil, "which", lambda _name: None)
    monkeypatch.setattr(binaries, "Path", lambda *_a: Path("/nonexistent/go"))
    with pytest.raises(binaries.BuildError) as error:
        binaries.go_binary()
    assert "\n" not in str(error.value) and "Go is not installed" in str(error.value)


@needs_go
def test_an_unreachable_module_proxy_is_named_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "modules"
    module = root / "needs-proxy"
    module.mkdir(parents=True)
    (module / "go.mod").write_text(
        "module example.test/needs\n\ngo 1.26.0\n\n"
        "tool example.test/absent/cmd/x\n\nrequire example.test/absent v1.0.0\n"
    )
    monkeypatch.setenv("KRR_MCP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "modcache"))
    monkeypatch.setenv("GOPROXY", "http://127.0.0.1:9")  # loopback, nothing listens: refused at once
    monkeypatch.setenv("GOFLAGS", "-mod=mod")
    monkeypatch.setenv("GONOSUMDB", "example.test")
    monkeypatch.setenv("GONOSUMCHECK", "1")
    with pytest.raises(binaries.BuildError) as error:
        binaries.build(root, lambda _line: None, required=("x",))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("the Go module proxy (http://127.0.0.1:9) cannot be reached"), message
