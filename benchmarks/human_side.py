"""The human side's costs: `kubectl krr` start-up (a process per command) and `krr-mcp demo` per step.

    ./uvw run python benchmarks/human_side.py [--runs 5] [--skip-demo]

Prints a table; asserts nothing (timings depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=600)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()

    rows: list[tuple[str, str]] = []
    help_times = [timed([str(BIN / "kubectl-krr"), "--help"])[0] for _ in range(args.runs)]
    rows.append(("kubectl-krr --help (process start-up), median", f"{statistics.median(help_times):.2f}s"))
    python_times = [timed([sys.executable, "-c", "pass"])[0] for _ in range(args.runs)]
    rows.append(("python -c pass, median (for comparison)", f"{statistics.median(python_times):.2f}s"))
    imports = [
        timed([sys.executable, "-c", f"import {m}"])[0] for m in ("kubernetes", "krr_mcp.kubectl_plugin")
    ]
    rows.append(("import kubernetes", f"{imports[0]:.2f}s"))
    rows.append(("import krr_mcp.kubectl_plugin (includes kubernetes)", f"{imports[1]:.2f}s"))

    if not args.skip_demo:
        with tempfile.TemporaryDirectory() as state:
            env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
            wall, out = timed([str(BIN / "krr-mcp"), "demo", "--non-interactive", "--state-dir", state], env)
        for title, seconds in re.findall(r"^ok (.+) \((\d+\.\d)s\)$", out, flags=re.MULTILINE):
            rows.append((f"demo step: {title}", f"{seconds}s"))
        rows.append(("demo wall time (process start to exit)", f"{wall:.1f}s"))

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
