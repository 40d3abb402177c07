"""benchmarks/scan.py (issue 17 item 7): where krr is not installed it says so in one line and runs the
rest; the table has every column, a row per scan and the ratios. krr's own row needs krr installed: it is
never faked here (only the detection that decides whether it runs is checked)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "scan.py"


def benchmark_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scan_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def path_without_krr(tmp_path: Path) -> str:
    """PATH with this Python's folder and the system's, and no folder holding a `krr`."""
    folders = [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    return os.pathsep.join(f for f in folders if not Path(f, "krr").exists())


def test_krr_is_found_only_as_an_executable_named_krr_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan = benchmark_module()
    monkeypatch.setenv("PATH", path_without_krr(tmp_path))
    assert scan.find_krr_cli() is None
    not_executable = tmp_path / "plain" / "krr"
    not_executable.parent.mkdir()
    not_executable.write_text("")
    monkeypatch.setenv("PATH", f"{not_executable.parent}{os.pathsep}{path_without_krr(tmp_path)}")
    assert scan.find_krr_cli() is None
    installed = tmp_path / "bin" / "krr"
    installed.parent.mkdir()
    installed.write_text("#!/bin/sh\nexit 1\n")  # never run: only found
    installed.chmod(0o755)
    monkeypatch.setenv("PATH", f"{installed.parent}{os.pathsep}{path_without_krr(tmp_path)}")
    assert scan.find_krr_cli() == str(installed)


def test_without_krr_the_benchmark_says_so_and_prints_the_native_rows(tmp_path: Path) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus')")
    env = {**os.environ, "PATH": path_without_krr(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), "--sizes", "20", "--days", "0.25", "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert [line for line in lines if "krr" in line.lower() and "not found" in line] == [
        "krr was not found on PATH: the krr CLI row is skipped (install krr to compare with it)"
    ]
    header = next(line for line in lines if line.startswith("containers"))
    columns = [c.strip() for c in header.split("|")]
    assert columns == [name for name, _ in benchmark_module().COLUMNS]
    rows = [[c.strip() for c in line.split("|")] for line in lines if line.strip().startswith("20 |")]
    assert [r[1] for r in rows] == ["native batched", "native per-object"]
    for row in rows:
        assert len(row) == len(columns)
        assert float(row[2]) > 0 and int(row[3]) > 0 and float(row[4]) >= 0 and int(row[5]) > 0
        assert float(row[6]) > 0 and float(row[7]) > 0 and row[8] == "20"
    assert [r[9] for r in rows] == ["(reference)", "yes"]
    assert any("engine CPU / Prometheus CPU" in line for line in lines)
    assert any("native per-object / batched: wall" in line for line in lines)
    assert not any("krr CLI /" in line for line in lines)  # no krr ratio either


def test_a_scans_peak_memory_is_its_own_not_the_benchmarks() -> None:
    """Each scan runs in a child of the benchmark, whose parent holds the sandbox and the cluster (about
    270 MB at 10,000 containers). ru_maxrss would report that parent's peak (Linux carries it across
    fork and exec); the benchmark reports the child's own high-water mark."""
    parent = (
        "import subprocess, sys\n"
        "held = bytearray(300 * 1024 * 1024)\n"
        "held[::4096] = b'x' * len(held[::4096])\n"  # resident, not just reserved
        f"print(subprocess.run([sys.executable, '-c', {CHILD!r}], capture_output=True, text=True,"
        " check=True).stdout)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, check=True, timeout=60
    )
    own, inherited = (float(v) for v in out.stdout.split())
    assert inherited >= 300  # what ru_maxrss says: the parent's
    assert own < 100  # what the benchmark reports


CHILD = (
    "import importlib.util, resource\n"
    f"spec = importlib.util.spec_from_file_location('scan_benchmark', {str(BENCHMARK)!r})\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "print(module.own_peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
)
